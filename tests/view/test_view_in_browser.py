"""The viewer page in a real headless Chromium (Debian's ``chromium``; ``make install`` adds it where it can):
it loads without JavaScript errors, draws its curves and skeletons (screenshot pixels), and its filters change
what is shown (the count a link's filters leave)."""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pytest

from motion_r1_verl.cli.main import main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (Debian: apt-get install chromium)")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--virtual-time-budget=6000"]


@pytest.fixture(scope="module")
def page(run, tmp_path_factory):
    out = tmp_path_factory.mktemp("page") / "viewer.html"
    assert main(["view", str(run), "--out", str(out), "--groups-per-step", "3", "--motions", "1"]) == 0
    return out


def _chromium(*args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, *FLAGS, *args], capture_output=True, text=True, timeout=timeout)


def test_the_page_loads_without_javascript_errors_and_draws(page, tmp_path):
    shot = tmp_path / "shot.png"
    done = _chromium(
        "--enable-logging=stderr", "--v=0", "--window-size=1200,2600", f"--screenshot={shot}", page.as_uri()
    )
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    errors = [line for line in console if re.search(r"Uncaught|TypeError|ReferenceError|SyntaxError", line)]
    assert not errors, errors
    from PIL import Image

    pixels = np.asarray(Image.open(shot).convert("L"), dtype=np.float32)
    # The curves (upper part) and the skeleton figure (below them) are drawn: neither region is blank.
    top, middle = pixels[100:1300], pixels[1400:2100]
    assert top.std() > 10 and middle.std() > 10, (top.std(), middle.std())


@pytest.mark.parametrize(("fragment", "shown"), [("", 36), ("#reason=ok", 27), ("#step=2", 12), ("#min=2.15", 9)])
def test_filters_change_what_is_shown(page, fragment, shown):
    dom = _chromium("--dump-dom", page.as_uri() + fragment).stdout
    assert f'id="f-count">{shown} samples shown' in dom
