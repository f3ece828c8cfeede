"""``motion-r1 eval``: the standard text-to-motion evaluation of generated (or real) motions."""

from motion_r1_verl.eval.evaluators import Evaluator, GuoTextMotionEvaluator, OursEvaluator
from motion_r1_verl.eval.generated import GeneratedMotions, load_generated
from motion_r1_verl.eval.protocol import METRICS, EvalResult, evaluate
from motion_r1_verl.eval.report import markdown_table, write_json

__all__ = [
    "METRICS",
    "EvalResult",
    "Evaluator",
    "GeneratedMotions",
    "GuoTextMotionEvaluator",
    "OursEvaluator",
    "evaluate",
    "load_generated",
    "markdown_table",
    "write_json",
]
