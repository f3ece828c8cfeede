"""``motion-r1 view`` on a GRPO run folder laid out as grpo.sh leaves it (real files, a tiny trained VQ-VAE)."""

from __future__ import annotations

import re

from motion_r1_verl.cli.main import main


def _view(run, tmp_path, *flags):
    page = tmp_path / "view.html"
    assert main(["view", str(run), "--out", str(page), *flags]) == 0
    return page.read_text(encoding="utf-8")


def test_the_page_is_offline_and_holds_curves_rollouts_and_motions(run, tmp_path, capsys):
    text = _view(run, tmp_path, "--groups-per-step", "3", "--motions", "2")
    assert "wrote" in capsys.readouterr().out
    # Offline: Plotly's JavaScript is inside the page, nothing is fetched.
    assert not re.search(r"<script[^>]+src=", text)
    assert "Plotly.newPlot" in text and len(text) > 1_000_000  # plotly.js itself is ~4.6 MB
    # Curves (training and validation), every group of every step, the skeleton animations.
    assert '"name":"motion"' in text and '"name":"entropy"' in text and '"name":"val reward"' in text
    assert text.count('<tbody class="grp"') == 9
    assert text.count('class="plotly-graph-div"') == 1 + 2  # the curves, then one figure per drawn motion
    assert text.count('"name":"ground truth (decoded codes) root path"') == 2 and '"name":"policy (rank 1' in text
    # Ranked within the group: the best sample first, the cut-off one last with its reason.
    first_group = text.split('<tbody class="grp"')[1]
    assert first_group.index(">1</td><td>2.200") < first_group.index("unterminated &lt;think&gt;")
    # Captions are text, never markup.
    assert "<script>alert(1)</script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    # The filters are on the page.
    for control in ('id="f-step"', 'id="f-reason"', 'id="f-min"', 'id="f-text"'):
        assert control in text


def test_groups_per_step_and_motions_bound_the_page(run, tmp_path):
    small = _view(run, tmp_path, "--groups-per-step", "1", "--motions", "0")
    assert small.count('<tbody class="grp"') == 3
    assert small.count('class="plotly-graph-div"') == 1 and '"name":"policy (rank' not in small


def test_a_folder_that_is_not_a_run_is_a_one_line_error(tmp_path, capsys):
    assert main(["view", str(tmp_path / "nowhere")]) == 2
    assert "nowhere" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["view", str(tmp_path / "empty")]) == 2
    assert "no rollout dumps" in capsys.readouterr().err
