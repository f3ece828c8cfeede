"""SFT throughput cost of our path vs plain verl, and the cost of the vocabulary growth itself.

Three real ``verl.trainer.sft_trainer`` runs (recipes/motion_r1/sft.sh, same profile, same steps):

- ``ours``: the model extended by ``tokenizer_ext`` (motion tokens + tags), data from our dataset
  builder (``motion_r1_verl.datasets.sft``), the motion_r1 platform plugin.
- ``plain``: the UNextended base model with its embedding widened to the same number of rows
  (plain ``resize_token_embeddings``, no new tokens), fed an equivalent messages parquet written with
  pandas, in which every motion token is replaced by one ordinary base-vocabulary token, so both runs
  train on exactly the same number of tokens. Same architecture, same vocabulary size, none of our code
  in the data/model path. (On a CPU verl cannot run at all without a platform plugin, so the plugin is
  loaded in every CPU run; on a GPU, ``plain`` and ``unextended`` run without it.)
- ``unextended``: the same as ``plain`` at the base model's own embedding size.

Throughput: tokens/s over the steps after ``--warmup`` (best of ``--repeats`` interleaved runs),
timed by when verl's file logger writes each step's metrics line (it writes unbuffered), tokens from
verl's own ``train/global_tokens``.
Figures: ratio ours/plain (goal >= 0.98), vocab growth cost plain/unextended, growth in percent for
this model and for Qwen2.5 (151,665 tokens + K + 2 motion tokens + 4 tags).

Run: ``python bench/sft_overhead.py`` (six short verl runs, about 4-6 minutes on 2 cores).
"""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd
from transformers import AutoModelForCausalLM, AutoTokenizer

from motion_r1_verl.datasets.sft import SFTBuildConfig, build_sft_dataset
from motion_r1_verl.datasets.triplets import Triplet
from motion_r1_verl.protocol import motion_tokens
from tokenizer_ext import ExtendConfig, extend_vocab
from tokenizer_ext.tiny_llm import make_tiny_llm

RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "motion_r1"
QWEN25_TOKENS = 151665
CAPTIONS = [
    "a person walks forward and turns left",
    "someone waves the right hand twice",
    "a man jumps up and lands softly",
    "the person squats down and stands up",
    "a figure runs in a circle then stops",
    "someone kicks with the left leg",
    "a person bows and then claps",
    "the man spins around quickly",
]


def _triplets(n_rows: int, n_codes: int, codebook_size: int, rng: random.Random) -> list[Triplet]:
    return [
        Triplet(
            f"{i:06d}",
            CAPTIONS[i % len(CAPTIONS)],
            f"First the person does sub-action {i % 5}, then sub-action {(i + 1) % 5}.",
            "1. first step\n2. second step",
            tuple(rng.randrange(codebook_size) for _ in range(n_codes)),
        )
        for i in range(n_rows)
    ]


def _n_tokens(tokenizer, messages: list[dict]) -> int:
    return len(tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True)["input_ids"])


def _plain_parquet(ours: Path, ours_tokenizer, base_tokenizer, out: Path, codebook_size: int) -> None:
    """Our rows with every motion token and tag replaced by the ordinary word " the", then padded or
    trimmed with " the" at the end of the answer so each row has exactly our row's token count."""
    specials = sorted([*motion_tokens(codebook_size), "<think>", "</think>", "<output>", "</output>"], key=len)[::-1]
    filler = " the"
    rows = []
    for messages in pd.read_parquet(ours)["messages"]:
        messages = [{"role": m["role"], "content": m["content"]} for m in messages]
        converted = []
        for m in messages:
            content = m["content"]
            for tok in specials:
                content = content.replace(tok, filler)
            converted.append({"role": m["role"], "content": content})
        target = _n_tokens(ours_tokenizer, messages)
        answer = converted[-1]["content"]
        while (n := _n_tokens(base_tokenizer, [*converted[:-1], {"role": "assistant", "content": answer}])) != target:
            if n < target:
                answer += filler
            elif answer.endswith(filler):
                answer = answer[: -len(filler)]
            else:
                raise SystemExit("cannot match the row length with filler words; use a longer --codes-per-row")
        converted[-1]["content"] = answer
        rows.append({"messages": converted})
    out.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_parquet(out, index=False)


def _widened(base: Path, rows: int, out: Path) -> None:
    model = AutoModelForCausalLM.from_pretrained(base)
    model.resize_token_embeddings(rows, mean_resizing=False)
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(base).save_pretrained(out)


def _run(name: str, model: Path, data: Path, work: Path, steps: int, warmup: int, profile: str, plugin: bool) -> dict:
    out = work / f"ckpt_{name}"
    metrics = out / "metrics.jsonl"
    env = dict(os.environ, PROFILE=profile, MODEL_PATH=str(model), DATA_DIR=str(data), OUT_DIR=str(out))
    env.update(PYTHON=sys.executable, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    if not plugin:
        env["VERL_USE_EXTERNAL_PLUGINS"] = "none"
    cmd = [
        "timeout", "-k", "10", "900", "bash", str(RECIPE / "sft.sh"),
        f"trainer.total_training_steps={steps}", f"trainer.total_epochs={steps}",
        "checkpoint.save_contents=[model]",
    ]  # fmt: skip
    arrivals: list[float] = []
    done = threading.Event()

    def watch() -> None:
        seen = 0
        while not done.is_set():
            if metrics.is_file():
                n = sum(1 for _ in metrics.open())
                now = time.perf_counter()
                arrivals.extend([now] * (n - seen))
                seen = n
            time.sleep(0.005)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    with (work / f"{name}.log").open("w") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        code = proc.wait()
    done.set()
    watcher.join()
    if code != 0:
        raise SystemExit(f"{name} run failed ({code}); see {work / f'{name}.log'}")
    tokens = [json.loads(line)["data"]["train/global_tokens"] for line in metrics.read_text().splitlines()]
    if len(arrivals) != len(tokens) or len(tokens) <= warmup + 1:
        raise SystemExit(f"{name}: timed {len(arrivals)} of {len(tokens)} steps; raise --steps")
    timed_tokens = sum(tokens[warmup + 1 :])
    seconds = arrivals[-1] - arrivals[warmup]
    return {"tokens_per_s": timed_tokens / seconds, "tokens": sum(tokens), "timed_s": seconds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default=None, help="base HF model folder (default: a fresh tiny Qwen2 LM)")
    parser.add_argument("--codebook-size", type=int, default=512, help="motion codes K (default 512 as in Motion-R1)")
    parser.add_argument("--rows", type=int, default=32, help="SFT rows (default 32)")
    parser.add_argument("--codes-per-row", type=int, default=49, help="motion tokens per answer (49 = 196 frames / 4)")
    parser.add_argument("--steps", type=int, default=30, help="training steps per run (default 30)")
    parser.add_argument("--warmup", type=int, default=5, help="steps excluded from timing (default 5)")
    parser.add_argument("--repeats", type=int, default=2, help="interleaved runs per config, best kept (default 2)")
    parser.add_argument("--profile", default="cpu_tiny", help="recipe profile (default cpu_tiny)")
    parser.add_argument("--work", default=None, help="work folder (default: a temporary folder)")
    args = parser.parse_args(argv)

    work = Path(args.work or tempfile.mkdtemp(prefix="sft_overhead_"))
    on_cpu = args.profile.startswith("cpu")
    rng = random.Random(0)
    triplets = _triplets(args.rows, args.codes_per_row, args.codebook_size, rng)
    base = Path(args.base) if args.base else make_tiny_llm(work / "base", [t.caption for t in triplets])
    info = extend_vocab(ExtendConfig(base=str(base), codebook_size=args.codebook_size, out=work / "ours_model"))
    base_tok = AutoTokenizer.from_pretrained(base)
    base_rows = AutoModelForCausalLM.from_pretrained(base).get_input_embeddings().weight.shape[0]
    build_sft_dataset(triplets, work / "ours_data", SFTBuildConfig())
    ours_tok = AutoTokenizer.from_pretrained(work / "ours_model")
    plain_parquet = work / "plain_data" / "train.parquet"
    _plain_parquet(work / "ours_data" / "train.parquet", ours_tok, base_tok, plain_parquet, args.codebook_size)
    _widened(base, info.embedding_rows, work / "plain_model")

    configs = {
        "ours": (work / "ours_model", work / "ours_data", True),
        "plain": (work / "plain_model", work / "plain_data", on_cpu),
        "unextended": (base, work / "plain_data", on_cpu),
    }
    # Interleaved repeats, best of each: on a shared machine contention only ever slows a run down.
    runs: dict[str, dict] = {}
    every: dict[str, list[float]] = {name: [] for name in configs}
    for repeat in range(args.repeats):
        for name, (model, data, plugin) in configs.items():
            result = _run(f"{name}_{repeat}", model, data, work, args.steps, args.warmup, args.profile, plugin)
            every[name].append(round(result["tokens_per_s"], 1))
            if name not in runs or result["tokens_per_s"] > runs[name]["tokens_per_s"]:
                runs[name] = result
    added = info.tokenizer_length - len(base_tok)
    figures = {
        "ratio_ours_vs_plain": runs["ours"]["tokens_per_s"] / runs["plain"]["tokens_per_s"],
        "vocab_growth_cost_plain_vs_unextended": runs["plain"]["tokens_per_s"] / runs["unextended"]["tokens_per_s"],
        "tokens_per_s": {k: v["tokens_per_s"] for k, v in runs.items()},
        "tokens_per_s_every_repeat": every,
        "same_token_count": runs["ours"]["tokens"] == runs["plain"]["tokens"] == runs["unextended"]["tokens"],
        "tokens_added": added,
        "embedding_rows": {"base": base_rows, "extended": info.embedding_rows},
        "vocab_growth_pct_this_model": 100.0 * added / len(base_tok),
        "vocab_growth_pct_qwen2.5": 100.0 * (args.codebook_size + 2 + 4) / QWEN25_TOKENS,
        "steps": args.steps,
        "warmup": args.warmup,
        "profile": args.profile,
    }
    print(f"{'run':<12} {'tokens/s':>10} {'tokens':>8} {'timed s':>8}  every repeat")
    for name, r in runs.items():
        print(f"{name:<12} {r['tokens_per_s']:>10.1f} {r['tokens']:>8d} {r['timed_s']:>8.2f}  {every[name]}")
    print(f"ratio ours/plain = {figures['ratio_ours_vs_plain']:.3f} (goal >= 0.98)")
    print(f"vocab growth cost plain/unextended = {figures['vocab_growth_cost_plain_vs_unextended']:.3f}")
    print(
        f"vocab growth: +{added} tokens = {figures['vocab_growth_pct_this_model']:.2f}% here, "
        f"{figures['vocab_growth_pct_qwen2.5']:.2f}% for Qwen2.5"
    )
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
