"""The files of a verl GRPO run folder, read safely: its JSONL dumps, ``metrics.jsonl`` and composed config.

A run of ``recipes/motion_r1/grpo.sh`` (verl's ``main_ppo``) leaves in its OUT_DIR ``rollouts/<step>.jsonl``
(verl's ``trainer.rollout_data_dir`` dump), ``rollouts/rewards/<step>.jsonl`` (the reward dump of
:class:`~motion_r1_verl.verl_plugin.replay_buffer.RewardMetricsReplayBuffer`), ``metrics.jsonl`` (verl's file
logger: ``{"step": N, "data": {metric: value}}``) and ``hydra/.hydra/config.yaml``. This module finds and
reads them; :mod:`motion_r1_verl.verl_plugin.rollout_dumps` makes the diagnosis out of them.

One torn-line policy for all of them: a run killed mid-write leaves a torn last line, which is skipped
with a note; any other malformed line is a :class:`~motion_r1_verl.errors.UserError` naming file and line.
The config is read as plain YAML (no OmegaConf resolution): an unresolved ``${...}`` reads as absent.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from motion_r1_verl.errors import UserError

ROLLOUTS_DIR = "rollouts"
REWARDS_DIR = "rewards"  # inside ROLLOUTS_DIR
METRICS_FILE = "metrics.jsonl"
# The policy entropy as verl logs it: measured in the old-log-prob pass, or in the update when that pass is
# bypassed (then verl names it entropy_loss, whatever its coefficient).
ENTROPY = "actor/entropy"
ENTROPY_IN_UPDATE = "actor/entropy_loss"
CONFIG_FILE = Path("hydra") / ".hydra" / "config.yaml"
# verl's validation keys (``_val_metrics_update``): the mean over the N samples of each prompt.
_VAL_RE = re.compile(r"^val-(?:core|aux)/(?P<source>[^/]+)/(?P<var>[^/]+)/mean@(?P<n>\d+)$")


@dataclass(frozen=True)
class RunConfig:
    """What the diagnosis reads from the run's composed hydra config; None where absent."""

    path: Path | None = None
    """The config file read (None: the run has none)."""
    max_response_length: int | None = None
    """``data.max_response_length``: a response this long was cut off."""
    model_path: str | None = None
    """``actor_rollout_ref.model.path``: the policy's folder (``motion_vocab.json``, ``tokenizer.json``)."""
    rollout_n: int | None = None
    """``actor_rollout_ref.rollout.n``: samples per prompt (the group size)."""
    rollout_dir: str | None = None
    """``trainer.rollout_data_dir`` (where verl dumped, when not ``RUN_DIR/rollouts``)."""
    reward_dump_dir: str | None = None
    """``trainer.v1.sampler.sampler_kwargs.reward_dump_dir``."""
    reward_kwargs: dict[str, Any] = field(default_factory=dict)
    """``reward.custom_reward_function.reward_kwargs`` (``with_output``, ``min_codes``, weights, ...)."""


def read_jsonl(path: Path, notes: list[str]) -> list[dict[str, Any]]:
    """The JSON objects of a JSON-lines file. A torn last line is skipped with a note in ``notes``;
    any other bad line is a ``UserError`` naming ``path`` and the line number."""
    try:
        lines = path.read_bytes().splitlines()
    except OSError as err:
        raise UserError(f"{path}: cannot read ({err.strerror})") from err
    while lines and not lines[-1].strip():
        lines.pop()
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            if number == len(lines):
                notes.append(f"{path}: last line {number} is incomplete (run stopped mid-write?), skipped")
                continue
            raise UserError(f"{path}:{number}: not valid JSON ({err})") from err
        if not isinstance(row, dict):
            raise UserError(f"{path}:{number}: expected a JSON object, got {type(row).__name__}")
        rows.append(row)
    return rows


def _lookup(tree: Any, dotted: str) -> Any:
    """``tree["a"]["b"]`` for ``"a.b"``; None when missing or an unresolved ``${...}`` interpolation."""
    for part in dotted.split("."):
        if not isinstance(tree, dict) or part not in tree:
            return None
        tree = tree[part]
    if isinstance(tree, str) and tree.startswith("${"):
        return None
    return tree


def as_int(value: Any) -> int | None:
    """An int, or a string of digits, as int; anything else (bools included) as None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def read_run_config(run_dir: Path) -> RunConfig:
    """The fields of :class:`RunConfig` from ``run_dir/hydra/.hydra/config.yaml`` (all None without it)."""
    path = run_dir / CONFIG_FILE
    if not path.is_file():
        return RunConfig()
    try:
        tree = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise UserError(f"{path}: not a readable YAML config ({err})") from err
    if not isinstance(tree, dict):
        raise UserError(f"{path}: expected a YAML mapping (verl's composed config)")
    kwargs = _lookup(tree, "reward.custom_reward_function.reward_kwargs")
    if kwargs is None:  # older verl configs keep the custom reward at the top level
        kwargs = _lookup(tree, "custom_reward_function.reward_kwargs")
    model_path = _lookup(tree, "actor_rollout_ref.model.path")
    rollout_dir = _lookup(tree, "trainer.rollout_data_dir")
    dump_dir = _lookup(tree, "trainer.v1.sampler.sampler_kwargs.reward_dump_dir")
    return RunConfig(
        path=path,
        max_response_length=as_int(_lookup(tree, "data.max_response_length")),
        model_path=str(model_path) if model_path else None,
        rollout_n=as_int(_lookup(tree, "actor_rollout_ref.rollout.n")),
        rollout_dir=str(rollout_dir) if rollout_dir else None,
        reward_dump_dir=str(dump_dir) if dump_dir else None,
        reward_kwargs=dict(kwargs) if isinstance(kwargs, dict) else {},
    )


def read_metrics(path: Path, notes: list[str]) -> dict[int, dict[str, float]]:
    """``metrics.jsonl`` as step -> {metric: value}; lines of one step are merged (later ones win),
    non-numeric values (verl writes NaN as null) are dropped."""
    if not path.is_file():
        return {}
    merged: dict[int, dict[str, float]] = {}
    for row in read_jsonl(path, notes):
        step, data = as_int(row.get("step")), row.get("data")
        if step is None or not isinstance(data, dict):
            continue
        values = merged.setdefault(step, {})
        for key, value in data.items():
            if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
                values[key] = float(value)
    for values in merged.values():
        # verl measures actor/entropy in its old-log-prob pass; a run that bypasses that pass (the CPU
        # profile: rollout_correction.bypass_mode) has the update's measure of it, actor/entropy_loss.
        if ENTROPY not in values and ENTROPY_IN_UPDATE in values:
            values[ENTROPY] = values[ENTROPY_IN_UPDATE]
    return merged


def validation_points(metrics: dict[int, dict[str, float]]) -> list[dict[str, float]]:
    """verl's validation means per step: ``[{"step": 0, "reward": ..., "format": ..., ...}, ...]``.

    Each key is the ``mean@N`` with the largest N; when the run validates several data sources the keys
    are ``source/key`` (at every step).
    """
    found: dict[int, dict[tuple[str, str], tuple[int, float]]] = {}
    for step in sorted(metrics):
        for key, value in metrics[step].items():
            match = _VAL_RE.match(key)
            if match is None:
                continue
            best = found.setdefault(step, {})
            slot, n = (match["source"], match["var"]), int(match["n"])
            if slot not in best or n > best[slot][0]:
                best[slot] = (n, value)
    several = len({source for best in found.values() for source, _ in best}) > 1
    return [
        {"step": step}
        | {(f"{source}/{var}" if several else var): value for (source, var), (_, value) in sorted(best.items())}
        for step, best in found.items()
    ]


def step_files(folder: Path | None) -> dict[int, Path]:
    """step -> ``folder/<step>.jsonl`` (other files ignored; empty when the folder is absent)."""
    if folder is None or not folder.is_dir():
        return {}
    return {int(p.stem): p for p in folder.glob("*.jsonl") if p.stem.isdigit() and p.is_file()}


def resolve_run_dir(run_dir: Path) -> Path:
    """The run folder for ``run_dir`` (an OUT_DIR, or its ``rollouts`` folder); a missing one is a UserError."""
    if not run_dir.is_dir():
        raise UserError(
            f"{run_dir}: no such folder (expected a GRPO run's OUT_DIR holding {ROLLOUTS_DIR}/<step>.jsonl)"
        )
    # Given the rollouts folder itself: the run is its parent.
    if run_dir.name == ROLLOUTS_DIR and not (run_dir / ROLLOUTS_DIR).is_dir() and step_files(run_dir):
        return run_dir.parent
    return run_dir


def dump_dirs(run_dir: Path, config: RunConfig) -> tuple[Path | None, Path | None]:
    """verl's rollout folder and the reward-dump folder (``RUN_DIR/rollouts[/rewards]``, else the ones the
    config names); None where absent."""
    rollouts = run_dir / ROLLOUTS_DIR
    if not rollouts.is_dir() and config.rollout_dir and Path(config.rollout_dir).is_dir():
        rollouts = Path(config.rollout_dir)
    rewards = rollouts / REWARDS_DIR
    if not rewards.is_dir() and config.reward_dump_dir and Path(config.reward_dump_dir).is_dir():
        rewards = Path(config.reward_dump_dir)
    return (rollouts if rollouts.is_dir() else None), (rewards if rewards.is_dir() else None)
