"""verl's replay buffer with per-step reward components in the training metrics, and a short poll.

verl 0.9.1 logs a reward's extra keys (``reward_extra_info``: our format / motion / semantic / parse_ok /
motion_len / reason) only for validation; a training step shows ``critic/score/*`` alone, so nothing
tells which component moved. And its sync replay buffer waits for the rollout by sleeping 2 s between
polls, so every step's ``timing_s/gen`` is a multiple of 2 s however fast the rollout is.

:class:`RewardMetricsReplayBuffer` is verl's own sync ``ReplayBuffer`` (same sampling, same eviction),
plugged in through the extension point verl provides for it::

    trainer.v1.sampler.custom_sampler.path=pkg://motion_r1_verl.verl_plugin.replay_buffer
    trainer.v1.sampler.custom_sampler.name=RewardMetricsReplayBuffer
    +trainer.v1.sampler.sampler_kwargs.max_response_length=256          # optional, for truncation
    +trainer.v1.sampler.sampler_kwargs.reward_dump_dir=OUT/rollouts/rewards   # optional

Per training step it adds to verl's metrics (``metrics.jsonl``, W&B, TensorBoard, console):

- ``reward/<key>/mean`` for every numeric reward extra key (bools count as 0/1), e.g.
  ``reward/format/mean``, ``reward/motion/mean``, ``reward/semantic/mean``;
- ``reward/<key>/<value>`` the share of each value of a string key (``reward/reason/ok``, ...);
- ``reward/group_score_std/mean`` (mean within-prompt-group std of the score) and
  ``reward/zero_std_groups`` (share of groups whose samples all scored the same: no GRPO signal);
- ``response/truncated`` (share of responses that hit ``max_response_length``; verl's own
  ``response_length/clip_ratio`` compares with the padded batch width instead).

With ``reward_dump_dir`` it also writes ``<dir>/<step>.jsonl``: one line per response with its key
(the ``uid`` of verl's ``trainer.rollout_data_dir`` dump), score, length and every reward extra key,
which ``motion-r1 rollouts`` joins with verl's dump.

``sampler_kwargs.validation_motions`` turns on the decode hook inside training: validation responses
decoded through the VQ-VAE, a fixed set of prompts rendered, motion metrics, TensorBoard/W&B logging
(:mod:`motion_r1_verl.verl_plugin.validation_motions`).

``sampler_kwargs.poll_interval_s`` (default 0.05) replaces verl's 2 s poll. verl hands a custom sampler
only its basic arguments, so DAPO group filtering (``algorithm.filter_groups``) is not available with it.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import transfer_queue as tq
from verl.trainer.ppo.v1.replay_buffer import ReplayBuffer

from motion_r1_verl.runtime.files import write_text_atomic

# Registers algorithm.adv_estimator=grpo_positive in the trainer process, which loads this module.
from motion_r1_verl.verl_plugin import advantages as _advantages  # noqa: F401
from motion_r1_verl.verl_plugin.reward_stats import reward_metrics
from motion_r1_verl.verl_plugin.validation_motions import (
    MotionSample,
    ValidationMotionLogger,
    ValidationMotionsConfig,
    caption_of,
    parse_motion_ground_truth,
)
from motion_r1_verl.vq.hook import get_codec

logger = logging.getLogger(__name__)

DEFAULT_POLL_INTERVAL_S = 0.05


class RewardMetricsReplayBuffer(ReplayBuffer):
    """verl's sync replay buffer plus reward-component metrics per step (see the module docstring)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        options = _plain_mapping(self.sampler_kwargs)
        self.poll_interval = float(options.get("poll_interval_s", DEFAULT_POLL_INTERVAL_S))
        max_len = options.get("max_response_length")
        self.max_response_length = int(max_len) if max_len else None
        dump = options.get("reward_dump_dir")
        self.reward_dump_dir = Path(str(dump)) if dump else None
        # verl samples a step in several calls when trainer.v1.<mode>.parameter_sync_step > 1: the step's
        # dump holds every call's responses.
        self._dump_step: int | None = None
        self._dump_lines: list[str] = []
        motions = ValidationMotionsConfig.from_kwargs(options.get("validation_motions"))
        if motions.enabled:
            get_codec(motions.vq_ckpt, motions.device)  # a wrong checkpoint fails the launch, not each validation
        self.motions = ValidationMotionLogger(motions)

    def sample(self, global_steps: int, partition_id: str, batch_size: int):
        batch, metrics = super().sample(global_steps=global_steps, partition_id=partition_id, batch_size=batch_size)
        if partition_id == "train" and batch.keys:
            try:
                metrics.update(self._reward_metrics(batch, global_steps))
            except Exception:  # metrics are diagnostics: never stop a training run for them
                logger.exception("reward metrics of step %d failed", global_steps)
        if batch.keys and self.motions.wants(partition_id, global_steps):
            try:
                # verl keeps no metrics of a validation sample: the hook logs its own (files, trackers).
                metrics.update(self.motions.log(partition_id, global_steps, self._motion_samples(batch)))
            except Exception:
                logger.exception("decoding the motions of step %d (%s) failed", global_steps, partition_id)
        return batch, metrics

    def _motion_samples(self, batch) -> list[MotionSample]:
        keys = list(batch.keys)
        # verl stores each dataset row's own columns beside the response; extra_info only where the dataset has it.
        fields = ["responses", "raw_prompt", "reward_model", "data_source"]
        try:
            data = tq.kv_batch_get(keys=keys, partition_id=batch.partition_id, select_fields=[*fields, "extra_info"])
            extra_info = _items(data["extra_info"])
        except Exception:
            data = tq.kv_batch_get(keys=keys, partition_id=batch.partition_id, select_fields=fields)
            extra_info = [None] * len(keys)
        texts = self.motions.decode_ids([ids.tolist() for ids in data["responses"].unbind()])
        codebook = get_codec(self.motions.config.vq_ckpt, self.motions.config.device).codebook_size
        columns = zip(
            keys,
            _items(data["raw_prompt"]),
            extra_info,
            texts,
            _items(data["data_source"]),
            _items(data["reward_model"]),
            strict=True,
        )
        return [
            MotionSample(key, caption_of(prompt, info), text, parse_motion_ground_truth(source, truth, codebook))
            for key, prompt, info, text, source, truth in columns
        ]

    def _reward_metrics(self, batch, global_steps: int) -> dict[str, float]:
        keys = list(batch.keys)
        data = tq.kv_batch_get(
            keys=keys, partition_id=batch.partition_id, select_fields=["extra_fields", "rm_scores", "responses"]
        )
        extra = []
        for value in data["extra_fields"]:
            fields = getattr(value, "data", value)
            info = fields.get("reward_extra_info", {}) if isinstance(fields, dict) else {}
            extra.append(dict(info) if isinstance(info, dict) else {})
        scores = [float(s.sum().item()) for s in data["rm_scores"]]
        lengths = [int(n) for n in data["responses"].offsets().diff().tolist()]
        if self.reward_dump_dir is not None:
            self._dump(global_steps, keys, scores, lengths, extra)
        return reward_metrics(keys, scores, extra, lengths, self.max_response_length)

    def _dump(self, step: int, keys, scores, lengths, extra) -> None:
        if step != self._dump_step:
            self._dump_step, self._dump_lines = step, []
        self._dump_lines += [
            json.dumps({"uid": key, "step": step, "score": score, "response_length": length, **info}, default=_plain)
            for key, score, length, info in zip(keys, scores, lengths, extra, strict=True)
        ]
        write_text_atomic(self.reward_dump_dir / f"{step}.jsonl", "".join(line + "\n" for line in self._dump_lines))


def _plain_mapping(values) -> dict[str, Any]:
    """sampler_kwargs as plain Python values (verl hands a DictConfig, interpolations resolved here)."""
    from omegaconf import DictConfig, OmegaConf

    if isinstance(values, DictConfig):
        return dict(OmegaConf.to_container(values, resolve=True))
    return dict(values or {})


def _items(column) -> list:
    """A TransferQueue non-tensor column as a Python list."""
    values = column.tolist() if hasattr(column, "tolist") else list(column)
    return [getattr(v, "data", v) for v in values]


def _plain(value: Any):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
