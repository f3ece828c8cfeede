"""How good is the rule-based caption decomposer (``motion-r1 cot build --mode rules``)?

Measures two things:

1. Against the oracle: on a synthetic dataset (``--data``, a HumanML3D-format folder with ``plans.jsonl``
   written by ``motion-r1 data synth``), decompose every caption with the rules and compare the chain to
   the clip's ground-truth plan: step-level precision / recall / F1 (order-aware LCS alignment, see
   ``motion_r1_verl.cot.score``) on the action alone and on action+side+direction, and the share of
   chains reproduced exactly.
2. On real captions: the share of the KIT-ML captions (``--kitml``, 12,164 free-form descriptions) that
   the rules split into >= 2 steps, and the share they cannot parse at all (no verb recognised).

Why: the rules are the no-LLM fallback for CoT data, so we need to know how far they are from the
truth where the truth is known, and whether they decompose anything at all on real language.

Run: ``.venv/bin/python bench/cot_rules.py --data runs/synth [--kitml ../shared/data/kitml_captions/annotations.json]``
Prints a table; the last stdout line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

from motion_r1_verl.cot.build import collect_items, read_plans
from motion_r1_verl.cot.rules import decompose_caption
from motion_r1_verl.cot.score import action_key, full_key, score_chains
from motion_r1_verl.cot.steps import normalize_step

DEFAULT_KITML = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "kitml_captions" / "annotations.json"


def oracle_figures(data: Path) -> dict:
    skipped: dict[str, str] = {}
    items = collect_items(data, None, skipped)
    plans = read_plans(data / "plans.jsonl")
    pairs, missed = [], Counter()
    for item in items:
        gold = plans.get(item.id.split("@", 1)[0])
        if not gold:
            continue
        gold = [normalize_step(s) for s in gold]
        pred = decompose_caption(item.caption)
        pairs.append((pred, gold))
        predicted_actions = {s["action"] for s in pred}
        missed.update(s["action"] for s in gold if s["action"] not in predicted_actions)
    action, full = score_chains(pairs, action_key), score_chains(pairs, full_key)
    print(f"oracle comparison on {data}: {len(pairs)} captions with a plan ({len(skipped)} caption lines skipped)")
    print(f"{'key':<24}{'precision':>10}{'recall':>10}{'F1':>8}{'exact chain':>13}")
    for name, s in (("action", action), ("action+side+direction", full)):
        print(f"{name:<24}{s.precision:>10.3f}{s.recall:>10.3f}{s.f1:>8.3f}{s.exact_rate:>13.3f}")
    print("reference actions most often missed:", ", ".join(f"{a} x{n}" for a, n in missed.most_common(6)))
    return {
        "oracle_captions": len(pairs),
        "action_precision": round(action.precision, 4), "action_recall": round(action.recall, 4),
        "action_f1": round(action.f1, 4), "action_exact_chain": round(action.exact_rate, 4),
        "full_precision": round(full.precision, 4), "full_recall": round(full.recall, 4),
        "full_f1": round(full.f1, 4), "full_exact_chain": round(full.exact_rate, 4),
    }  # fmt: skip


def kitml_figures(path: Path) -> dict:
    annotations = json.loads(path.read_text(encoding="utf-8"))
    captions = [a["text"] for motion in annotations.values() for a in motion["annotations"]]
    start = time.perf_counter()
    lengths = [len(decompose_caption(c)) for c in captions]
    seconds = time.perf_counter() - start
    n = len(captions)
    histogram = Counter(min(k, 4) for k in lengths)
    print(f"\nKIT-ML captions ({path}): {n} captions, {seconds:.2f} s ({n / seconds:.0f} captions/s)")
    print(f"{'steps':<8}{'captions':>10}{'share':>8}")
    for k in range(5):
        label = f"{k}" if k < 4 else ">=4"
        print(f"{label:<8}{histogram[k]:>10}{histogram[k] / n:>8.3f}")
    multi = sum(k >= 2 for k in lengths)
    print(f"decomposed into >= 2 steps: {multi}/{n} = {multi / n:.3f}")
    return {
        "kitml_captions": n,
        "kitml_share_ge2_steps": round(multi / n, 4),
        "kitml_share_no_step": round(histogram[0] / n, 4),
        "kitml_mean_steps": round(sum(lengths) / n, 3),
        "kitml_captions_per_s": round(n / seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=None, help="synthetic HumanML3D-format folder with plans.jsonl")
    parser.add_argument("--kitml", type=Path, default=DEFAULT_KITML, help="KIT-ML annotations.json")
    args = parser.parse_args()
    figures: dict = {}
    if args.data is not None:
        figures.update(oracle_figures(args.data))
    else:
        print("no --data given: skipping the oracle comparison (make one with `motion-r1 data synth`)")
    if args.kitml.is_file():
        figures.update(kitml_figures(args.kitml))
    else:
        print(f"{args.kitml} not found: skipping the KIT-ML figure")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
