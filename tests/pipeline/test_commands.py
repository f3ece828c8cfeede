"""Where the recipes are found: a checkout, $MOTION_R1_RECIPES, or the share/ folder a wheel installs."""

import sys

import pytest

from motion_r1_verl.errors import UserError
from motion_r1_verl.pipeline import commands
from motion_r1_verl.pipeline.commands import RECIPE_FILES, StageFailed, motion_r1, recipe_candidates, recipe_dir


def make_recipes(folder):
    (folder / "config").mkdir(parents=True)
    for name in RECIPE_FILES[:-1]:
        (folder / name).write_text("#!/bin/bash\n")
    return folder


def test_the_checkout_recipes_are_found_by_default(monkeypatch):
    monkeypatch.delenv(commands.RECIPES_ENV, raising=False)
    found = recipe_dir()
    assert (found / "grpo.sh").is_file() and (found / "config" / "grpo_cpu_tiny.yaml").is_file()


def test_the_environment_variable_comes_first(monkeypatch, tmp_path):
    mine = make_recipes(tmp_path / "mine")
    monkeypatch.setenv(commands.RECIPES_ENV, str(mine))
    assert recipe_dir() == mine


def test_an_installed_package_finds_the_wheels_share_folder(monkeypatch, tmp_path):
    """No checkout above the package (a wheel in site-packages): <prefix>/share/motion-r1-verl/recipes."""
    monkeypatch.delenv(commands.RECIPES_ENV, raising=False)
    installed = tmp_path / "venv" / "lib" / "python3.11" / "site-packages" / "motion_r1_verl" / "runs"
    installed.mkdir(parents=True)
    monkeypatch.setattr(commands, "__file__", str(installed / "commands.py"))
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "venv"))
    with pytest.raises(UserError, match="MOTION_R1_RECIPES"):
        recipe_dir()
    shared = make_recipes(tmp_path / "venv" / "share" / "motion-r1-verl" / "recipes" / "motion_r1")
    assert recipe_dir() == shared and recipe_candidates()[-1] == shared


def test_a_failing_command_is_a_stage_failure(capsys):
    with pytest.raises(StageFailed, match="exited with code 2"):
        motion_r1("vq", "train", "--data", "/nonexistent", "--out", "/nonexistent/out")
    assert "$ motion-r1 vq train" in capsys.readouterr().out


@pytest.mark.slow
def test_the_wheel_carries_the_recipes_and_the_motion_config_group(tmp_path):
    """A real wheel of this checkout: the recipe scripts and profiles under share/, the Hydra group in the package."""
    import shutil
    import subprocess
    import zipfile
    from pathlib import Path

    # A copy of the sources: setuptools writes build/ beside the project it builds.
    skip = shutil.ignore_patterns(".git", ".venv", "runs", "build", "*.egg-info", "__pycache__", ".*_cache")
    root = shutil.copytree(Path(__file__).resolve().parents[2], tmp_path / "src", ignore=skip)
    argv = [sys.executable, "-m", "pip", "wheel", str(root), "--no-deps", "--no-build-isolation", "-q", "-w", tmp_path]
    done = subprocess.run([*map(str, argv)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    (wheel,) = tmp_path.glob("motion_r1_verl-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "motion_r1_verl/config/motion/grpo.yaml" in names and "reward_fns/router.py" in names
    data = next(n.split("/share/")[0] for n in names if "/share/motion-r1-verl/" in n)
    for name in [*RECIPE_FILES[:-1], "config/grpo_cpu_tiny.yaml", "config/grpo_qwen2.5-3b.yaml", "REQUIRED_VERL.txt"]:
        assert f"{data}/share/motion-r1-verl/recipes/motion_r1/{name}" in names, name
