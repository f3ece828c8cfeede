"""recipes/motion_r1/REQUIRED_VERL.txt is verl-recipe's key=value pin file, and it pins the verl we depend on."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _pin_file() -> dict[str, str]:
    entries = {}
    for line in (ROOT / "recipes" / "motion_r1" / "REQUIRED_VERL.txt").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Z_]+", key), f"not a KEY=value line: {line!r}"
        entries[key] = value
    return entries


def test_pin_file_matches_the_dependency():
    pins = _pin_file()
    assert {"UPSTREAM", "MODE", "TAG", "PIP_INSTALL", "RECIPE_FOLDER"} <= set(pins)
    assert pins["RECIPE_FOLDER"] == "motion_r1" and pins["UPSTREAM"].endswith("/verl.git")
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    verl = next(d for d in dependencies if d.startswith("verl"))
    version = verl.split("==")[1]
    assert pins["TAG"] == f"v{version}" and verl in pins["PIP_INSTALL"]
