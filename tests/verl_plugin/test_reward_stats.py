"""``reward_metrics``: the per-step reward aggregates shared by the replay buffer and ``motion-r1 rollouts``."""

import math

import numpy as np
import pytest

from motion_r1_verl.verl_plugin.reward_stats import MAX_LOGGED_VALUES, group_of, metric_name, reward_metrics


def test_group_of_is_the_prefix_before_the_first_underscore():
    assert group_of("1701b06e-7133-4d04_0_3") == "1701b06e-7133-4d04"
    assert group_of("nounderscore") == "nounderscore"


@pytest.mark.parametrize(
    "value, name",
    [
        ("ok", "ok"),
        ("unterminated <think>", "unterminated_think"),  # tags and spaces collapse to one underscore
        ("missing <Motion> after the reasoning", "missing_motion_after_the_reasoning"),
        ("<>", "empty"),  # nothing metric-safe left
    ],
)
def test_metric_name(value, name):
    assert metric_name(value) == name


def test_numeric_means_count_bools_and_skip_non_finite():
    extra = [
        {"format": 1.0, "parse_ok": True, "motion": 0.5, "motion_len": 12},
        {"format": 0.0, "parse_ok": False, "motion": float("nan"), "motion_len": np.int64(4)},
        {"format": 1.0, "parse_ok": np.bool_(True), "motion": np.float32(0.25), "motion_len": 20},
    ]
    metrics = reward_metrics(["a_0_0", "a_0_1", "a_0_2"], [2.0, 0.0, 1.5], extra, [10, 20, 30], None)
    assert metrics["reward/format/mean"] == pytest.approx(2 / 3)
    assert metrics["reward/parse_ok/mean"] == pytest.approx(2 / 3)
    assert metrics["reward/motion/mean"] == pytest.approx(0.375)  # the NaN is left out, not counted as 0
    assert metrics["reward/motion_len/mean"] == pytest.approx(12.0)


def test_a_key_missing_from_some_responses_is_averaged_over_those_that_have_it():
    extra = [{"motion_cos": 0.5}, {}, {"motion_cos": -0.1}]
    metrics = reward_metrics(["a_0_0", "a_0_1", "a_0_2"], [1.0, 1.0, 1.0], extra, [], None)
    assert metrics["reward/motion_cos/mean"] == pytest.approx(0.2)


def test_string_values_become_shares_of_all_responses():
    reasons = ["ok", "ok", "unterminated <think>", "too few motion codes"]
    extra = [{"reason": r} for r in reasons]
    metrics = reward_metrics([f"g_0_{i}" for i in range(4)], [1.0] * 4, extra, [], None)
    assert metrics["reward/reason/ok"] == pytest.approx(0.5)
    assert metrics["reward/reason/unterminated_think"] == pytest.approx(0.25)
    assert metrics["reward/reason/too_few_motion_codes"] == pytest.approx(0.25)


def test_a_string_key_with_too_many_distinct_values_is_not_logged():
    n = MAX_LOGGED_VALUES + 1
    extra = [{"reason": f"r{i}", "kind": "x"} for i in range(n)]
    metrics = reward_metrics([f"g_0_{i}" for i in range(n)], [0.0] * n, extra, [], None)
    assert not any(k.startswith("reward/reason/") for k in metrics)
    assert metrics["reward/kind/x"] == 1.0


def test_group_std_and_zero_variance_share():
    keys = ["a_0_0", "a_0_1", "b_0_0", "b_0_1", "c_0_0"]  # c has one sample: no spread to measure
    scores = [1.0, 3.0, 2.0, 2.0, 9.0]
    metrics = reward_metrics(keys, scores, [{}] * 5, [], None)
    assert metrics["reward/group_score_std/mean"] == pytest.approx((1.0 + 0.0) / 2)  # population std, as numpy
    assert metrics["reward/zero_std_groups"] == pytest.approx(0.5)


def test_no_group_with_two_samples_means_no_group_metrics():
    metrics = reward_metrics(["a_0_0", "b_0_0"], [1.0, 2.0], [{}, {}], [], None)
    assert "reward/group_score_std/mean" not in metrics
    assert "reward/zero_std_groups" not in metrics


def test_truncation_counts_lengths_at_or_over_the_limit():
    metrics = reward_metrics(["a_0_0"] * 4, [0.0] * 4, [{}] * 4, [255, 256, 300, 10], 256)
    assert metrics["response/truncated"] == pytest.approx(0.5)
    assert "response/truncated" not in reward_metrics(["a_0_0"], [0.0], [{}], [256], None)
    assert "response/truncated" not in reward_metrics(["a_0_0"], [0.0], [{}], [], 256)


def test_every_value_is_a_finite_float():
    extra = [{"format": True, "reason": "ok", "motion": 0.3}, {"format": False, "reason": "ok", "motion": 0.1}]
    metrics = reward_metrics(["a_0_0", "a_0_1"], [1.3, 0.1], extra, [5, 6], 6)
    assert all(isinstance(v, float) and math.isfinite(v) for v in metrics.values())
