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
