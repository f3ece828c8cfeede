"""``motion-r1 demo``'s answers without a browser: files, figure, failure reasons, bad folders, bad settings."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import CAPTION, PLAN, THINK

from motion_r1_verl.cli.main import main
from motion_r1_verl.generate import GenerateConfig
from motion_r1_verl.view.demo import DemoConfig, MotionDemo

pytest.importorskip("gradio", reason="the demo extra is not installed (pip install 'motion-r1-verl[demo]')")


@pytest.fixture(scope="module")
def greedy_demo(fitted_model, tmp_path_factory):
    config = DemoConfig(generate=GenerateConfig(temperature=0.0, device="cpu"), out_dir=tmp_path_factory.mktemp("d"))
    return MotionDemo(fitted_model, config=config)


def test_an_answer_has_the_reasoning_the_plan_a_figure_and_the_downloads(greedy_demo):
    answer = greedy_demo.answer(CAPTION, 0.0, 0)
    assert answer.valid, answer.status
    assert answer.reasoning == THINK and answer.plan == PLAN
    assert "s of motion from 14 codes" in answer.status
    names = [p.rsplit("/", 1)[-1] for p in answer.files]
    assert names == ["00000.npy", "00000_joints.npy", "00000.bvh", "00000.mp4"]
    features, joints = np.load(answer.files[0]), np.load(answer.files[1])
    assert features.shape == (len(joints), 263) and joints.shape[1:] == (22, 3)
    assert open(answer.files[2]).read().startswith("HIERARCHY")
    # The animation has a frame per kept time step (stride 2) and the skeleton + root path traces.
    assert len(answer.figure.frames) == (len(joints) + 1) // 2 and len(answer.figure.data) == 2
    second = greedy_demo.answer(CAPTION, 0.0, 1)
    assert second.files[0] != answer.files[0]  # each answer keeps its own files


def test_malformed_output_gives_the_reason_and_no_exception(tiny_model, tmp_path):
    """A random model writes no motion span: the answer says why, after the retries, and offers nothing."""
    config = DemoConfig(generate=GenerateConfig(retries=1, max_new_tokens=24, device="cpu"), out_dir=tmp_path)
    answer = MotionDemo(tiny_model, config=config).answer("a person waves", 1.0, 3)
    assert not answer.valid and answer.figure is None and answer.files == []
    assert answer.status.startswith("**No motion** after 2 attempts (seed 3): ")
    assert answer.reasoning  # the model's raw text is shown when no reasoning block parsed


@pytest.mark.parametrize(
    ("caption", "temperature", "shown"),
    [("   ", 1.0, "Type a caption first."), (CAPTION, -1.0, "**Bad setting:** temperature"), (CAPTION, "hot", "**Bad")],
)
def test_bad_page_input_is_a_message(greedy_demo, caption, temperature, shown):
    answer = greedy_demo.answer(caption, temperature, 0)
    assert answer.status.startswith(shown) and not answer.valid


def test_a_wrong_model_folder_is_one_line_naming_it(tmp_path, capsys):
    assert main(["demo", "--model", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("motion-r1 demo: error: --model ") and "missing" in err and "\n" not in err
    (tmp_path / "empty").mkdir()
    assert main(["demo", "--model", str(tmp_path / "empty")]) == 2
    assert "motion_vocab.json not found" in capsys.readouterr().err
