"""Bad input to every verb, table-driven: each case breaks one input, runs the verb as a user would
(``motion-r1 ...`` in process) and asserts exit code 2, ONE line on stderr naming the bad file or flag, no
traceback, and every file already there unchanged (nothing lost on bad input).

A case is (verb words, how to break the input, a fragment the message must contain). The fixture folder
holds what a user has at hand: a small HumanML3D-format dataset, a tiny trained VQ-VAE, CoT and code
files, a BVH file and motion arrays; each case works on its own copy.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from motion_r1_verl.cli.main import main
from motion_r1_verl.motion.core.humanml3d import Caption, write_clip, write_split
from motion_r1_verl.vq.config import VQConfig, VQModelConfig, VQTrainConfig

BVH = """HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT Spine
  {
    OFFSET 0 10 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    End Site
    {
      OFFSET 0 10 0
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.05
0 90 0 0 0 0 0 0 0
0 90 1 0 0 0 0 0 0
"""


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """A user's folder: data/, vq/ (a tiny trained VQ-VAE), cot.jsonl, codes.jsonl, plans.jsonl, clip.bvh,
    motion.npy (features) and joints.npy."""
    from motion_r1_verl.vq.train import train_vq

    root = tmp_path_factory.mktemp("workspace")
    rng = np.random.default_rng(0)
    data = root / "data"
    ids = {"train": [f"{i:03d}" for i in range(6)], "val": ["100", "101"], "test": ["200", "201"]}
    for split, split_ids in ids.items():
        for clip_id in split_ids:
            features = np.cumsum(rng.normal(scale=0.05, size=(64, 263)), axis=0).astype(np.float32)
            write_clip(data, clip_id, features, [Caption.from_text(f"a person walks {clip_id}")])
        write_split(data, split, split_ids)
    config = VQConfig(
        model=VQModelConfig(width=16, code_dim=8, codebook_size=16, depth=1),
        train=VQTrainConfig(
            steps=2,
            batch_size=4,
            window=32,
            warmup_steps=1,
            lr_milestones=(1,),
            val_every=10,
            save_every=10,
            val_max_clips=2,
            feat_bias=1.0,
        ),  # fmt: skip
    )
    train_vq(data, root / "vq", config, device="cpu", progress=False)
    all_ids = [i for split_ids in ids.values() for i in split_ids]
    (root / "codes.jsonl").write_text("".join(json.dumps({"id": i, "codes": [1, 2, 3, 4] * 3}) + "\n" for i in all_ids))
    cot = [{"id": i, "caption": f"a person walks {i}", "think": "He walks.", "plan": "1. walk"} for i in all_ids]
    (root / "cot.jsonl").write_text("".join(json.dumps(r) + "\n" for r in cot))
    (root / "clip.bvh").write_text(BVH)
    np.save(root / "motion.npy", np.zeros((40, 263), np.float32))
    np.save(root / "joints.npy", rng.normal(size=(40, 22, 3)).astype(np.float32))
    return root


@dataclass(frozen=True)
class Case:
    name: str
    argv: Callable[[Path], list[str]]  # the command line, in the case's folder
    breaks: Callable[[Path], None]  # what the case does to the inputs before running
    says: str  # a fragment the one-line message must contain
    out: str = "out"  # the path the verb writes (may appear; everything else must stay as it was)
    report: bool = False  # a checker whose answer is a report on stdout (data check), not an error line


def _write(rel: str, content: bytes | str) -> Callable[[Path], None]:
    def breaks(root: Path) -> None:
        path = root / rel
        if path.is_dir():
            shutil.rmtree(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())

    return breaks


def _truncate(rel: str, keep: int = 100) -> Callable[[Path], None]:
    def breaks(root: Path) -> None:
        path = root / rel
        path.write_bytes(path.read_bytes()[:keep])

    return breaks


def _replace_with_folder(rel: str) -> Callable[[Path], None]:
    def breaks(root: Path) -> None:
        (root / rel).unlink()
        (root / rel).mkdir()

    return breaks


def _every_clip_bad(root: Path) -> None:
    for path in (root / "data" / "new_joint_vecs").glob("*.npy"):
        path.write_bytes(b"not an npy file")


def _nothing(_root: Path) -> None:
    pass


def _npy_claiming(shape: tuple[int, ...]) -> bytes:
    """A .npy header that claims ``shape`` float32, followed by a few bytes only."""
    header = f"{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}".encode()
    header += b" " * (64 - (10 + len(header) + 1) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + b"\0" * 16


def _deep_bvh(depth: int) -> str:
    lines = ["HIERARCHY", "ROOT Hips", "{", "  OFFSET 0 0 0", "  CHANNELS 3 Zrotation Xrotation Yrotation"]
    lines += [f"JOINT J{i}\n{{\nOFFSET 0 1 0\nCHANNELS 3 Zrotation Xrotation Yrotation" for i in range(depth)]
    lines += ["End Site", "{", "OFFSET 0 1 0", "}"] + ["}"] * (depth + 1)
    lines += ["MOTION", "Frames: 1", "Frame Time: 0.05", " ".join(["0"] * 3 * (depth + 1))]
    return "\n".join(lines) + "\n"


VQ_ENCODE = lambda r: ["vq", "encode", "--data", f"{r}/data", "--ckpt", f"{r}/vq", "--out", f"{r}/out"]  # noqa: E731
DATASET = lambda kind: lambda r: ["dataset", kind, "--cot", f"{r}/cot.jsonl", "--codes", f"{r}/codes.jsonl",  # noqa: E731
                                  "--out", f"{r}/out"]  # fmt: skip
IMPORT_BVH = lambda r: ["data", "import-bvh", f"{r}/clip.bvh", "--out", f"{r}/out"]  # noqa: E731
EXPORT_BVH = lambda r: ["export", "bvh", f"{r}/motion.npy", "--out", f"{r}/out.bvh"]  # noqa: E731
RENDER = lambda r: ["render", f"{r}/joints.npy", "--out", f"{r}/out/clip.png", "--frame", "0"]  # noqa: E731

CASES = [
    Case("data check: no such folder", lambda r: ["data", "check", f"{r}/nowhere"], _nothing, "nowhere"),
    Case(
        "data check: a split file that is a folder",
        lambda r: ["data", "check", f"{r}/data"],
        _replace_with_folder("data/train.txt"),
        "train.txt",
        report=True,
    ),
    Case(
        "data check: a split id that climbs out of the folder",
        lambda r: ["data", "check", f"{r}/data"],
        _write("data/val.txt", "100\n../../etc/passwd\n"),
        "val.txt",
        report=True,
    ),
    Case("vq encode: every clip unreadable", VQ_ENCODE, _every_clip_bad, "no readable clip"),
    Case(
        "vq encode: a checkpoint folder without config.json",
        VQ_ENCODE,
        lambda r: (r / "vq" / "config.json").unlink(),
        "vq",
    ),
    Case("vq encode: config.json is not JSON", VQ_ENCODE, _write("vq/config.json", "{"), "config.json"),
    Case(
        "vq encode: model.safetensors is garbage",
        VQ_ENCODE,
        _write("vq/model.safetensors", b"\x00" * 64),
        "model.safetensors",
    ),
    Case(
        "vq encode: Std.npy claims more data than the file holds",
        VQ_ENCODE,
        _write("vq/Std.npy", _npy_claiming((263,))),
        "Std.npy",
    ),
    Case(
        "vq encode: a split file that is not UTF-8",
        VQ_ENCODE,
        _write("data/train.txt", b"\xff\xfe\x00bad\n"),
        "train.txt",
    ),
    Case("dataset sft: --cot not UTF-8", DATASET("sft"), _write("cot.jsonl", b'{"id": "\xff"}\n'), "cot.jsonl"),
    Case(
        "dataset sft: --codes with a non-integer code list",
        DATASET("sft"),
        _write("codes.jsonl", '{"id": "000", "codes": "abc"}\n'),
        "codes.jsonl",
    ),
    Case(
        "dataset rl: --codes nested past any sane depth",
        DATASET("rl"),
        _write("codes.jsonl", "[" * 100_000 + "]" * 100_000 + "\n"),
        "codes.jsonl",
    ),
    Case("dataset rl: no such --cot file", DATASET("rl"), lambda r: (r / "cot.jsonl").unlink(), "cot.jsonl"),
    Case(
        "dataset rl: every clip's codes outside --codebook-size",
        lambda r: [*DATASET("rl")(r), "--codebook-size", "3"],
        _nothing,
        "codes outside the codebook (0..2)",
    ),
    Case(
        "dataset sft: --plans without steps",
        lambda r: [
            "dataset",
            "sft",
            "--plans",
            f"{r}/plans.jsonl",
            "--data",
            f"{r}/data",
            "--codes",
            f"{r}/codes.jsonl",
            "--out",
            f"{r}/out",
        ],  # fmt: skip
        _write("plans.jsonl", '{"id": "000", "length": 64}\n'),
        "plans.jsonl",
    ),
    Case(
        "export bvh: features of the wrong width",
        EXPORT_BVH,
        lambda r: np.save(r / "motion.npy", np.zeros((40, 12))),
        "motion.npy",
    ),
    Case("export bvh: a truncated .npy", EXPORT_BVH, _truncate("motion.npy"), "motion.npy"),
    Case(
        "export bvh: a header claiming 100 GB",
        EXPORT_BVH,
        _write("motion.npy", _npy_claiming((10**8, 263))),
        "motion.npy",
    ),
    Case(
        "render: joints with NaN",
        RENDER,
        lambda r: np.save(r / "joints.npy", np.full((40, 22, 3), np.nan)),
        "joints.npy",
    ),
    Case(
        "data import-bvh: a frame time of 1e6 s",
        IMPORT_BVH,
        _write("clip.bvh", BVH.replace("Frame Time: 0.05", "Frame Time: 1000000")),
        "clip.bvh",
    ),
    Case("data import-bvh: 20,000 nested joints", IMPORT_BVH, _write("clip.bvh", _deep_bvh(20_000)), "clip.bvh"),
    Case("data import-bvh: not a BVH file", IMPORT_BVH, _write("clip.bvh", b"\x89PNG\r\n\x1a\n"), "clip.bvh"),
    Case(
        "llm extend-vocab: --base is not a model folder",
        lambda r: ["llm", "extend-vocab", "--base", f"{r}/data", "--codebook-size", "16", "--out", f"{r}/out"],
        _nothing,
        "data",
    ),
    Case(
        "generate: --model is not a model folder",
        lambda r: ["generate", "a person walks", "--model", f"{r}/data", "--out", f"{r}/out", "--device", "cpu"],
        _nothing,
        "data",
    ),
    Case("rollouts: no such run folder", lambda r: ["rollouts", f"{r}/nowhere"], _nothing, "nowhere"),
    Case(
        "cot build: --out names a folder",
        lambda r: ["cot", "build", "--data", f"{r}/data", "--mode", "rules", "--out", f"{r}/data"],
        _nothing,
        "data",
    ),
    Case(
        "cot build: --prompt is a JSON list, not a template",
        lambda r: [
            "cot",
            "build",
            "--data",
            f"{r}/data",
            "--mode",
            "llm",
            "--prompt",
            f"{r}/prompt.json",
            "--out",
            f"{r}/out/cot.jsonl",
            "--base-url",
            "http://127.0.0.1:9",
            "--model",
            "m",
        ],  # fmt: skip
        _write("prompt.json", '["not", "a", "template"]'),
        "prompt.json",
    ),
]


CASES += [
    Case("eval: --ckpt is the VQ-VAE, not a text-motion model",
         lambda r: ["eval", "--data", f"{r}/data", "--reference", "--ckpt", f"{r}/vq", "--device", "cpu"],
         _nothing, "not a valid text-motion config"),
    Case("retrieval train: a dataset whose every clip is unreadable",
         lambda r: ["retrieval", "train", "--data", f"{r}/data", "--out", f"{r}/out", "--preset", "tiny"],
         _every_clip_bad, "data"),
    Case("generate: --prompts not UTF-8",
         lambda r: ["generate", "--prompts", f"{r}/prompts.txt", "--model", f"{r}/vq", "--out", f"{r}/out"],
         _write("prompts.txt", b"a person \xff walks\n"), "prompts.txt"),
    Case("render: --compare names a missing file",
         lambda r: [*RENDER(r), "--compare", f"{r}/missing.npy"], _nothing, "missing.npy"),
    Case("view: a folder without rollout dumps", lambda r: ["view", f"{r}/data"], _nothing, "no rollout dumps"),
    Case("vq encode: --splits names a split with no file",
         lambda r: [*VQ_ENCODE(r), "--splits", "nosuchsplit"], _nothing, "nosuchsplit"),
]  # fmt: skip


def _snapshot(root: Path, out: Path) -> dict[str, str]:
    files = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and out not in path.parents and path != out:
            files[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return files


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_one_line_exit_2_and_loses_nothing(case, workspace, tmp_path, capsys, monkeypatch):
    root = tmp_path / "ws"
    shutil.copytree(workspace, root)
    monkeypatch.chdir(root)
    monkeypatch.setenv("MOTION_R1_API_KEY", "sk-test")
    case.breaks(root)
    before = _snapshot(root, root / case.out)
    code = main(case.argv(root))
    printed = capsys.readouterr()
    err = printed.err
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("WARNING")]
    assert code == 2, f"exit {code}; stderr:\n{err[-2000:]}"
    assert "Traceback" not in err
    if case.report:
        assert case.says in printed.out + err and "FAILED" in printed.out + err
        assert _snapshot(root, root / case.out) == before
        return
    errors = [line for line in lines if ": error: " in line]
    assert len(errors) == 1, err[-2000:]
    assert case.says in errors[0], errors[0]
    assert _snapshot(root, root / case.out) == before, "a file the verb does not own changed"
