"""Fuzz compute_score with generated responses: never raises, every score and component in range.

CI runs a few hundred examples; ``bench/reward.py --fuzz 10000`` runs the full 10,000.
"""

from fuzz_strategies import responses
from hypothesis import HealthCheck, given, settings

from reward_fns.motion_r1 import REASONS, compute_score

GT = {"id": "000001", "codes": list(range(3, 15))}


def check_result(out: dict, kwargs: dict) -> None:
    weights = kwargs.get("w_format", 1.0) + kwargs.get("w_motion", 1.0) + kwargs.get("w_semantic", 1.0)
    assert 0.0 <= out["score"] <= weights + 1e-6
    for key in ("format", "motion", "semantic"):
        assert 0.0 <= out[key] <= 1.0
    assert out["format"] in (0.0, 1.0)
    assert out["reason"] in REASONS
    assert out["motion_len"] >= 0
    if not out["parse_ok"]:
        assert out["motion"] == 0.0 and out["semantic"] == 0.0


def test_fuzzed_responses_never_raise_and_stay_in_range(reward_kwargs):
    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(responses)
    def run(text):
        check_result(compute_score("motion_r1", text, GT, {"caption": "a person does a jump"}, **reward_kwargs), {})

    run()
