from pathlib import Path

import pytest

from motion_r1_verl.errors import UserError
from motion_r1_verl.pipeline.stages import Stage, marker_path, run_stages


def make_stages(calls: list[str], fail_on: str | None = None) -> list[Stage]:
    def make(name: str) -> Stage:
        def run(run_dir: Path) -> str:
            calls.append(name)
            if name == fail_on:
                raise RuntimeError(f"{name} broke")
            (run_dir / f"{name}.out").write_text(name)
            return f"{name} ok"

        return Stage(name, f"stage {name}", run)

    return [make(n) for n in ("a", "b", "c")]


def test_second_run_skips_finished_stages(tmp_path):
    calls: list[str] = []
    run_stages(make_stages(calls), tmp_path, echo=lambda _: None)
    results = run_stages(make_stages(calls), tmp_path, echo=lambda _: None)
    assert calls == ["a", "b", "c"]
    assert [r.skipped for r in results] == [True, True, True]
    assert results[1].summary == "b ok"


def test_failed_stage_leaves_no_marker_and_is_retried(tmp_path):
    calls: list[str] = []
    with pytest.raises(RuntimeError, match="b broke"):
        run_stages(make_stages(calls, fail_on="b"), tmp_path, echo=lambda _: None)
    assert marker_path(tmp_path, "a").exists() and not marker_path(tmp_path, "b").exists()
    run_stages(make_stages(calls), tmp_path, echo=lambda _: None)
    assert calls == ["a", "b", "b", "c"]


def test_force_and_only(tmp_path):
    calls: list[str] = []
    run_stages(make_stages(calls), tmp_path, echo=lambda _: None)
    run_stages(make_stages(calls), tmp_path, force=True, only=["b"], echo=lambda _: None)
    assert calls == ["a", "b", "c", "b"]
    with pytest.raises(UserError, match="unknown stage"):
        run_stages(make_stages(calls), tmp_path, only=["zzz"], echo=lambda _: None)
