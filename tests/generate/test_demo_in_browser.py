"""``motion-r1 demo``'s page, served for real on 127.0.0.1 and driven in a real headless Chromium (Debian's
``chromium``, through Playwright): it loads without JavaScript errors, and submitting a caption shows the
reasoning text and draws the animation (screenshot pixels not blank)."""

from __future__ import annotations

import io
import shutil
import socket

import numpy as np
import pytest
from conftest import CAPTION, THINK

from motion_r1_verl.generate import GenerateConfig
from motion_r1_verl.view.demo import DemoConfig, MotionDemo

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (Debian: apt-get install chromium)")
pytest.importorskip("gradio", reason="the demo extra is not installed (pip install 'motion-r1-verl[demo]')")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (a dev dependency) is not installed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(fitted_model, tmp_path_factory):
    config = DemoConfig(generate=GenerateConfig(temperature=0.0, device="cpu"), out_dir=tmp_path_factory.mktemp("d"))
    port = _free_port()
    page = MotionDemo(fitted_model, config=config).launch("127.0.0.1", port, block=False)
    yield f"http://127.0.0.1:{port}/"
    page.close()


def test_submitting_a_caption_shows_the_reasoning_and_the_animation(served):
    errors: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1200, "height": 1400})
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
        page.goto(served, wait_until="networkidle", timeout=60_000)
        page.locator("#caption textarea").fill(CAPTION)
        page.locator("#generate").click()
        page.wait_for_function(
            "document.querySelector('#reasoning textarea').value.length > 0", timeout=120_000, polling=200
        )
        reasoning = page.locator("#reasoning textarea").input_value()
        page.locator("#motion .js-plotly-plot").first.wait_for(timeout=60_000)
        page.wait_for_timeout(1500)  # the WebGL scene's first frame
        shot = page.locator("#motion").screenshot()
        status = page.locator("#status").inner_text()
        seed = page.locator("#seed input").input_value()
        browser.close()
    assert not errors, errors
    assert reasoning == THINK
    assert "s of motion from 14 codes" in status
    assert seed == "1"  # the next press samples with the next seed
    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(shot)).convert("L"), dtype=np.float32)
    assert pixels.std() > 10, pixels.std()
