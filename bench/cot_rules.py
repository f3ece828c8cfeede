"""How good is the rule-based caption decomposer (``motion-r1 cot build --mode rules``)?

Measures two things:

1. Against the oracle: on the synthetic dataset (``--data``, a folder written by
   ``motion-r1 data synth``; without it, ``--synth-n`` clips are generated into a temp folder),
   decompose every caption with the rules and compare the chain to the clip's ground-truth plan:
   step-level precision / recall / F1 (order-aware LCS alignment, ``motion_r1_verl.cot.score``) on
   the action alone, on action+side+direction+timing and on all attributes, and the share of chains
   reproduced exactly. CAVEAT: the rules were written with the generator's caption templates in view,
   so this is an in-distribution figure, not a measure of how they generalise; (2) is that check.
2. On real captions: the share of the KIT-ML captions (``--kitml``, 12,164 free-form descriptions)
   that the rules split into >= 2 steps, and the share they cannot parse at all (no verb recognised).

Why: the rules are the no-LLM fallback for CoT data, so we need to know how far they are from the
truth where the truth is known, and whether they decompose anything at all on real language.

Run: ``.venv/bin/python bench/cot_rules.py [--data runs/synth] [--kitml PATH/annotations.json]``
Prints a table; the last stdout line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter
from pathlib import Path

from motion_r1_verl.cot.build import collect_items, read_plans
from motion_r1_verl.cot.rules import decompose_caption
from motion_r1_verl.cot.score import action_key, all_key, full_key, score_chains
from motion_r1_verl.cot.steps import normalize_step
from motion_r1_verl.motion.sources.synth.generate import SynthConfig, generate_dataset

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
    action, full, every = (score_chains(pairs, key) for key in (action_key, full_key, all_key))
    print(f"oracle comparison on {data}: {len(pairs)} captions with a plan ({len(skipped)} caption lines skipped)")
    print(f"{'key':<34}{'precision':>10}{'recall':>10}{'F1':>8}{'exact chain':>13}")
    rows = (("action", action), ("action+side+direction+timing", full), ("all (+count, speed, angle)", every))
    for name, s in rows:
        print(f"{name:<34}{s.precision:>10.3f}{s.recall:>10.3f}{s.f1:>8.3f}{s.exact_rate:>13.3f}")
    print("reference actions most often missed:", ", ".join(f"{a} x{n}" for a, n in missed.most_common(6)))
    return {
        "oracle_captions": len(pairs),
        "action_precision": round(action.precision, 4), "action_recall": round(action.recall, 4),
        "action_f1": round(action.f1, 4), "action_exact_chain": round(action.exact_rate, 4),
        "full_precision": round(full.precision, 4), "full_recall": round(full.recall, 4),
        "full_f1": round(full.f1, 4), "full_exact_chain": round(full.exact_rate, 4),
        "all_precision": round(every.precision, 4), "all_recall": round(every.recall, 4),
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
    parser.add_argument(
        "--data", type=Path, default=None, help="synthetic folder with plans.jsonl (default: generate one)"
    )
    parser.add_argument("--synth-n", type=int, default=1000, help="clips to generate when --data is not given")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated dataset")
    parser.add_argument("--kitml", type=Path, default=DEFAULT_KITML, help="KIT-ML annotations.json")
    args = parser.parse_args()
    figures: dict = {}
    with tempfile.TemporaryDirectory(prefix="cot_rules_") as tmp:
        data = args.data
        if data is None:
            data = Path(tmp) / "synth"
            start = time.perf_counter()
            generate_dataset(data, config=SynthConfig(n=args.synth_n, seed=args.seed, workers=1), progress=False)
            print(f"generated {args.synth_n} synthetic clips (seed {args.seed}) in {time.perf_counter() - start:.0f} s")
        figures.update(oracle_figures(data))
    if args.kitml.is_file():
        figures.update(kitml_figures(args.kitml))
    else:
        print(f"{args.kitml} not found: skipping the KIT-ML figure")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
