"""``run_files``: reading a verl run folder's JSONL dumps, ``metrics.jsonl`` and composed config."""

import json

import pytest
import yaml

from motion_r1_verl.errors import UserError
from motion_r1_verl.verl_plugin.run_files import read_jsonl, read_metrics, read_run_config, validation_points


def test_read_jsonl_skips_only_a_torn_last_line(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"a": 1}\n{"a": 2}\n{"a"\n\n')  # torn last line, then blank lines
    notes = []
    assert read_jsonl(path, notes) == [{"a": 1}, {"a": 2}]
    assert len(notes) == 1 and "last line 3" in notes[0]


@pytest.mark.parametrize(
    "text, match",
    [
        ('{"a": 1}\n{"a"\n{"a": 3}\n', r"x\.jsonl:2: not valid JSON"),  # torn in the middle: not a stopped run
        ('{"a": 1}\n[1, 2]\n', r"x\.jsonl:2: expected a JSON object"),
    ],
)
def test_read_jsonl_rejects_bad_lines_before_the_end(tmp_path, text, match):
    path = tmp_path / "x.jsonl"
    path.write_text(text)
    with pytest.raises(UserError, match=match):
        read_jsonl(path, [])


def test_read_run_config(tmp_path):
    tree = {
        "actor_rollout_ref": {"model": {"path": "/m"}, "rollout": {"n": 4}},
        "data": {"max_response_length": "${oc.select:foo,512}"},  # unresolved: read as absent
        "trainer": {"rollout_data_dir": "/r", "v1": {"sampler": {"sampler_kwargs": {"reward_dump_dir": "/r/rw"}}}},
        "custom_reward_function": {"reward_kwargs": {"with_output": "false"}},  # older verl: top level
    }
    path = tmp_path / "hydra" / ".hydra" / "config.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(yaml.safe_dump(tree))
    config = read_run_config(tmp_path)
    assert (config.model_path, config.rollout_n, config.max_response_length) == ("/m", 4, None)
    assert (config.rollout_dir, config.reward_dump_dir) == ("/r", "/r/rw")
    assert config.reward_kwargs == {"with_output": "false"}
    assert read_run_config(tmp_path / "elsewhere").path is None


def test_read_metrics_merges_lines_of_a_step_and_drops_nulls(tmp_path):
    path = tmp_path / "metrics.jsonl"
    rows = [
        {"step": 1, "data": {"a": 1.0, "b": None}},
        {"step": 1, "data": {"c": 3, "flag": True, "name": "x"}},
        {"step": 2, "data": {"a": 2.0}},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert read_metrics(path, []) == {1: {"a": 1.0, "c": 3.0}, 2: {"a": 2.0}}
    assert read_metrics(tmp_path / "absent.jsonl", []) == {}


def test_validation_points_take_the_largest_n_and_name_sources_when_several():
    metrics = {
        0: {"val-core/a/reward/mean@4": 1.0, "val-aux/a/reward/mean@1": 0.5, "val-aux/b/format/mean@4": 0.9},
        1: {"actor/entropy": 0.5},
        2: {"val-aux/a/format/best@4/mean": 1.0, "val-aux/a/format/mean@4": 0.7},
    }
    assert validation_points(metrics) == [
        {"step": 0, "a/reward": 1.0, "b/format": 0.9},
        {"step": 2, "a/format": 0.7},  # named by source at every step
    ]


def test_read_metrics_takes_the_entropy_from_the_update_when_the_old_log_prob_pass_is_bypassed(tmp_path):
    path = tmp_path / "metrics.jsonl"
    lines = [
        {"step": 1, "data": {"actor/entropy_loss": 0.4}},  # bypass mode: only the update's measure
        {"step": 2, "data": {"actor/entropy": 0.3, "actor/entropy_loss": 0.9}},  # verl's own wins
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    metrics = read_metrics(path, [])
    assert metrics[1]["actor/entropy"] == 0.4
    assert metrics[2]["actor/entropy"] == 0.3
