"""The layout keeps its floors: no module imports from a later stage of the data flow, and no package
reaches into another package's private names.

Stages, earliest first (README's layout table; ../shared/DESIGN.md's flow): the shared floors (``errors``,
``runtime``, ``motion``'s format core, ``protocol``, ``metrics``), the stages in data-flow order, then the orchestration
layer (``pipeline``) and the CLI. A module may import its own stage and anything earlier. Imports inside
functions count too: a lazy import is still a dependency. ``bench/`` sits above everything and is only
held to the private-names rule.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("motion_r1_verl", "tokenizer_ext", "reward_fns")
# Stage of every unit (a subpackage or top module of motion_r1_verl, or a top-level package).
LEVELS: dict[str, int] = {
    "motion_r1_verl": 0,  # the package root: version only
    "errors": 0,
    "runtime": 0,  # atomic writes, the device choice, the model cache
    "config": 0,  # Hydra YAML only: the motion group a verl config composes
    "motion": 1,
    "motion.core": 1,
    "motion.sources": 2,
    "motion.outputs": 2,
    "protocol": 2,
    "metrics": 2,
    "vq": 3,
    "cot": 3,
    "retrieval": 3,
    "datasets": 4,
    "tokenizer_ext": 4,
    "reward_fns": 5,
    "eval": 5,
    "generate": 5,
    "verl_plugin": 6,
    "view": 6,  # reads a verl run's files (verl_plugin.run_files), decodes with the VQ-VAE, serves a model (generate)
    "pipeline": 7,
    "cli": 8,
    "bench": 9,
}


@dataclass(frozen=True)
class Import:
    file: str
    line: int
    source: str  # the importing unit
    target: str  # the imported unit
    module: str  # the imported module
    names: tuple[str, ...]


def unit_of(module: str) -> str | None:
    """``motion_r1_verl.vq.codec`` -> ``vq``; ``reward_fns.scorer`` -> ``reward_fns``; foreign -> None."""
    parts = module.split(".")
    if parts[0] == "motion_r1_verl":
        if len(parts) > 2 and parts[1] == "motion" and parts[2] in ("core", "sources", "outputs"):
            return f"motion.{parts[2]}"  # motion's own flow: the format core, then sources and outputs
        return parts[1] if len(parts) > 1 else "motion_r1_verl"
    if parts[0] in (*PACKAGES, "bench"):
        return parts[0]
    return None


def imports_of(root: Path, folders: tuple[str, ...] = (*PACKAGES, "bench")) -> list[Import]:
    found = []
    for folder in folders:
        for path in sorted((root / folder).rglob("*.py")):
            rel = path.relative_to(root)
            module = ".".join(rel.with_suffix("").parts).removesuffix(".__init__")
            source = unit_of(module)
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(rel))):
                if isinstance(node, ast.Import):
                    targets = [(alias.name, ()) for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    targets = [(node.module, tuple(alias.name for alias in node.names))]
                else:
                    continue
                for name, names in targets:
                    target = unit_of(name)
                    if target is not None and source is not None:
                        found.append(Import(str(rel), node.lineno, source, target, name, names))
    return found


def violations(found: list[Import]) -> list[str]:
    problems = []
    for imp in found:
        where = f"{imp.file}:{imp.line}"
        for unit in (imp.source, imp.target):
            if unit not in LEVELS:
                problems.append(f"{where}: {unit!r} has no stage in LEVELS (add it where the data flow puts it)")
        if imp.source in LEVELS and imp.target in LEVELS and LEVELS[imp.target] > LEVELS[imp.source]:
            problems.append(f"{where}: {imp.source} (stage {LEVELS[imp.source]}) imports {imp.module} from a later "
                            f"stage ({imp.target}, {LEVELS[imp.target]})")  # fmt: skip
        if imp.source != imp.target:
            private = [n for n in imp.names if n.startswith("_")]
            private += [p for p in imp.module.split(".") if p.startswith("_") and p != "__init__"]
            if private:
                problems.append(f"{where}: {imp.source} reaches into private {private} of {imp.module}")
    return problems


def test_the_tree_keeps_its_floors():
    found = imports_of(ROOT)
    assert len(found) > 100  # the scan really read the tree
    assert violations(found) == []


def test_cli_is_imported_by_nothing_but_itself():
    assert [i for i in imports_of(ROOT) if i.target == "cli" and i.source != "cli"] == []


@pytest.mark.parametrize(
    ("path", "source", "expected"),
    [
        # a backward import: the motion core reaching up into the tokenizer
        ("motion_r1_verl/motion/bad.py", "from motion_r1_verl.vq.codec import MotionCodec\n", "from a later stage"),
        # the format core reaching into motion's outputs
        (
            "motion_r1_verl/motion/core/bad.py",
            "from motion_r1_verl.motion.outputs.render import render_animation\n",
            "from a later stage",
        ),
        # a lazy one counts the same
        ("motion_r1_verl/protocol/bad.py", "def f():\n    import reward_fns.scorer\n", "from a later stage"),
        # the library reaching into the orchestration layer
        ("reward_fns/bad.py", "from motion_r1_verl.pipeline.steps import train_grpo\n", "from a later stage"),
        # another package's private helper
        ("bench/bad.py", "from motion_r1_verl.pipeline.quickstart import _held_out\n", "private"),
        # a unit with no stage
        ("motion_r1_verl/newthing/x.py", "from motion_r1_verl.errors import UserError\n", "has no stage"),
    ],
)
def test_a_deliberate_violation_fails(tmp_path, path, source, expected):
    for folder in (*PACKAGES, "bench"):
        (tmp_path / folder).mkdir()
    (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / path).write_text(source)
    problems = violations(imports_of(tmp_path))
    assert len(problems) == 1 and expected in problems[0], problems


def test_a_forward_import_is_fine(tmp_path):
    for folder in (*PACKAGES, "bench"):
        (tmp_path / folder).mkdir()
    (tmp_path / "motion_r1_verl" / "vq").mkdir()
    (tmp_path / "motion_r1_verl" / "vq" / "ok.py").write_text("from motion_r1_verl.protocol import scan_response\n")
    assert violations(imports_of(tmp_path)) == []
