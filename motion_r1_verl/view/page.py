"""One self-contained HTML page of a GRPO run: training curves, rollouts by step and group, 3D motions.

``motion-r1 view RUN_DIR`` reads what ``recipes/motion_r1/grpo.sh`` leaves in its OUT_DIR (``metrics.jsonl``,
``rollouts/<step>.jsonl``, ``rollouts/rewards/<step>.jsonl``, the composed config) and writes one HTML file
that opens offline (Plotly's JavaScript is embedded, nothing is fetched at view time):

- **curves**: every per-step reward component (``reward/<key>/mean``), the score, KL, entropy, clip
  fraction and response length, and the validation points (``val-core``/``val-aux``);
- **rollouts**: for each step, up to ``groups_per_step`` prompt groups (spread over the step's groups):
  the caption, each sample's ``<think>``, ``<output>``, score, components and failure reason, ranked
  within its group; filters by step, score range, reason and caption text;
- **motions**: for up to ``motions`` groups (spread over the steps), the best sample of the group beside
  its ground truth, both decoded by the run's VQ-VAE and drawn as 3D skeletons that play, pause, scrub
  and rotate, with the root trajectory on the floor.

Large runs stay small: only the chosen groups are embedded, and the animations keep every
``frame_stride``-th frame. The report says the file's size.
"""

from __future__ import annotations

import html
import json
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from motion_r1_verl.errors import UserError, field_error
from motion_r1_verl.protocol import scan_response
from motion_r1_verl.runtime.files import write_text_atomic
from motion_r1_verl.verl_plugin.reward_stats import group_of
from motion_r1_verl.verl_plugin.run_files import (
    METRICS_FILE,
    dump_dirs,
    read_jsonl,
    read_metrics,
    read_run_config,
    resolve_run_dir,
    step_files,
    validation_points,
)
from motion_r1_verl.view.skeleton import motion_figure

# Curves drawn when the run logged them (verl's names, and our replay buffer's reward/* metrics).
TRAINING_CURVES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("reward components", ("reward/format/mean", "reward/motion/mean", "reward/semantic/mean", "reward/parse_ok/mean")),
    ("score", ("critic/score/mean", "reward/group_score_std/mean")),
    ("policy", ("actor/ppo_kl", "actor/kl_loss", "actor/entropy", "actor/pg_clipfrac", "actor/pg_loss")),
    ("response length", ("response_length/mean", "reward/motion_len/mean")),
)
_CAPTION_MARK = "user\n"


@dataclass(frozen=True)
class ViewConfig:
    """What the page embeds.

    Fields:
        groups_per_step: prompt groups shown per training step (spread evenly over the step's groups).
        motions: groups drawn as 3D skeletons (best sample and ground truth), spread over the steps.
        frame_stride: keep every k-th frame in the animations (file size).
        codec: VQ-VAE checkpoint that decodes the codes; default the run's ``reward_kwargs.vq_ckpt``.
    """

    groups_per_step: int = 4
    motions: int = 6
    frame_stride: int = 2
    codec: Path | None = None

    def __post_init__(self) -> None:
        for name in ("groups_per_step", "frame_stride"):
            if getattr(self, name) < 1:
                raise field_error(name, f"must be >= 1, got {getattr(self, name)}")
        if self.motions < 0:
            raise field_error("motions", f"must be >= 0, got {self.motions}")


@dataclass(frozen=True)
class ViewReport:
    path: Path
    bytes: int
    steps: int
    groups: int
    samples: int
    motions: int
    notes: tuple[str, ...]

    def summary(self) -> str:
        size = f"{self.bytes / 1e6:.1f} MB" if self.bytes >= 1e5 else f"{self.bytes / 1e3:.0f} kB"
        return (
            f"wrote {self.path} ({size}): {self.steps} steps, {self.groups} groups, {self.samples} samples, "
            f"{self.motions} motions drawn"
        )


# --------------------------------------------------------------------------------------------
# Reading the run
# --------------------------------------------------------------------------------------------


def _caption(prompt_text: str) -> str:
    """The user turn of verl's decoded prompt (``system\\n...\\nuser\\nCAPTION\\nassistant\\n``)."""
    head, mark, tail = str(prompt_text).rpartition(_CAPTION_MARK)
    text = tail if mark else head
    return text.removesuffix("\n").rsplit("\nassistant", 1)[0].strip()


def _gt_codes(gts: Any) -> list[int]:
    if isinstance(gts, str):
        try:
            gts = json.loads(gts)
        except json.JSONDecodeError:
            return []
    codes = gts.get("codes") if isinstance(gts, dict) else None
    try:
        return [int(c) for c in codes] if isinstance(codes, list) else []
    except (TypeError, ValueError):
        return []


def _spread(items: list, n: int) -> list:
    """``n`` items spread evenly over ``items`` (all of them when there are fewer)."""
    if len(items) <= n:
        return list(items)
    return [items[round(i * (len(items) - 1) / max(1, n - 1))] for i in range(n)]


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def read_groups(run_dir: Path, groups_per_step: int, notes: list[str]) -> list[dict[str, Any]]:
    """The chosen groups of every step: ``{"step", "group", "caption", "gt_codes", "samples": [...]}``,
    samples ranked by score (best first), each with its text blocks, score, components and reason."""
    rollouts, rewards = dump_dirs(run_dir, read_run_config(run_dir))
    verl_files, reward_files = step_files(rollouts), step_files(rewards)
    if not verl_files:
        raise UserError(f"{run_dir}: no rollout dumps (rollouts/<step>.jsonl); was trainer.rollout_data_dir set?")
    chosen: list[dict[str, Any]] = []
    for step in sorted(verl_files):
        components = (
            {str(r.get("uid")): r for r in read_jsonl(reward_files[step], notes)} if step in reward_files else {}
        )
        by_group: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in read_jsonl(verl_files[step], notes):
            by_group[group_of(str(row.get("uid", "")))].append(row)
        for group in _spread(sorted(by_group), groups_per_step):
            rows = by_group[group]
            samples = []
            for row in rows:
                extra = components.get(str(row.get("uid")), {})
                scan = scan_response(str(row.get("output", "")), 1 << 30)
                samples.append(
                    {
                        "score": _number(row.get("score")),
                        "think": scan.think or "",
                        "plan": scan.plan or "",
                        "text": str(row.get("output", ""))[:4000],
                        "codes": [int(c) for c in scan.codes] if scan.parse_ok else [],
                        "reason": str(extra.get("reason", scan.reason)),
                        **{k: _number(extra.get(k)) for k in ("format", "motion", "semantic", "motion_len")},
                    }
                )
            samples.sort(key=lambda s: -(s["score"] if s["score"] is not None else -math.inf))
            for rank, sample in enumerate(samples, start=1):
                sample["rank"] = rank
            chosen.append(
                {
                    "step": step,
                    "group": group,
                    "caption": _caption(rows[0].get("input", "")),
                    "gt_codes": _gt_codes(rows[0].get("gts")),
                    "samples": samples,
                }
            )
    return chosen


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------


def curve_label(key: str) -> str:
    """``reward/format/mean`` -> ``format``, ``actor/ppo_kl`` -> ``ppo_kl``: the legend's names."""
    parts = key.split("/")
    if len(parts) > 1 and parts[0] in ("reward", "actor", "critic"):
        parts = parts[1:]
    if len(parts) > 1 and parts[-1] == "mean":
        parts = parts[:-1]
    return " ".join(parts)


def curves_figure(metrics: dict[int, dict[str, float]]):
    """Per-step training curves (one subplot per family) and the validation points."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    families = [(title, [k for k in keys if any(k in m for m in metrics.values())]) for title, keys in TRAINING_CURVES]
    families = [(t, keys) for t, keys in families if keys]
    points = validation_points(metrics)
    # Lengths (in codes) would squash the rates and similarities onto one axis: they have their own curve above.
    val_keys = sorted({k for p in points for k in p if k != "step" and not k.endswith("len")})
    titles = [t for t, _ in families] + (["validation"] if val_keys else [])
    if not titles:
        return None
    fig = make_subplots(rows=len(titles), cols=1, subplot_titles=titles, shared_xaxes=True, vertical_spacing=0.06)
    steps = sorted(metrics)
    for row, (_, keys) in enumerate(families, start=1):
        for key in keys:
            xs = [s for s in steps if key in metrics[s]]
            ys = [metrics[s][key] for s in xs]
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers", name=curve_label(key)), row, 1)
    if val_keys:
        for key in val_keys:
            xs = [p["step"] for p in points if key in p]
            ys = [p[key] for p in points if key in p]
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers", name=f"val {key}"), len(titles), 1)
    fig.update_layout(height=260 * len(titles), margin={"t": 40, "b": 30}, legend={"font": {"size": 10}})
    fig.update_xaxes(title_text="step", row=len(titles), col=1)
    return fig


# --------------------------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------------------------

_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;max-width:1400px}
table{border-collapse:collapse;font-size:13px;width:100%}td,th{border:1px solid #ddd;padding:4px;vertical-align:top}
tr.group td{background:#f3f3f3;font-weight:600}.ok{color:#1a7f37}.bad{color:#c62828}
pre{white-space:pre-wrap;margin:0;max-height:8em;overflow:auto}#filters *{margin-right:.8em}
"""
_FILTER_JS = """
const FILTERS={step:'f-step',reason:'f-reason',min:'f-min',max:'f-max',text:'f-text'};
// A link can carry the filters: viewer.html#step=12&reason=ok&min=2.5
new URLSearchParams(location.hash.slice(1)).forEach((v,k)=>{
  if(FILTERS[k])document.getElementById(FILTERS[k]).value=v;});
function applyFilters(){
  const step=document.getElementById('f-step').value, reason=document.getElementById('f-reason').value;
  const lo=parseFloat(document.getElementById('f-min').value), hi=parseFloat(document.getElementById('f-max').value);
  const text=document.getElementById('f-text').value.toLowerCase(); let shown=0;
  document.querySelectorAll('tbody.grp').forEach(g=>{
    const okGroup=(step==='all'||g.dataset.step===step)&&(!text||g.dataset.caption.includes(text));
    let any=false;
    g.querySelectorAll('tr.sample').forEach(r=>{
      const s=parseFloat(r.dataset.score);
      const ok=okGroup&&(reason==='all'||r.dataset.reason===reason)&&(isNaN(lo)||s>=lo)&&(isNaN(hi)||s<=hi);
      r.style.display=ok?'':'none'; if(ok){any=true;shown++;}
    });
    g.style.display=any?'':'none';
  });
  document.getElementById('f-count').textContent=shown+' samples shown';
  const h=new URLSearchParams();
  for(const[k,id]of Object.entries(FILTERS)){const v=document.getElementById(id).value;if(v&&v!=='all')h.set(k,v);}
  history.replaceState(null,'','#'+h.toString());
}
document.querySelectorAll('#filters select,#filters input').forEach(e=>e.addEventListener('input',applyFilters));
applyFilters();
"""


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def _rollout_table(groups: list[dict[str, Any]]) -> str:
    steps = sorted({g["step"] for g in groups})
    reasons = sorted({s["reason"] for g in groups for s in g["samples"]})
    options = "".join(f"<option>{s}</option>" for s in steps)
    reason_options = "".join(f"<option>{html.escape(r)}</option>" for r in reasons)
    parts = [
        '<div id="filters">step <select id="f-step"><option>all</option>' + options + "</select>"
        'reason <select id="f-reason"><option>all</option>' + reason_options + "</select>"
        'score from <input id="f-min" type="number" step="0.1" size="5"> to '
        '<input id="f-max" type="number" step="0.1" size="5"> caption '
        '<input id="f-text" type="search" placeholder="text in the caption"> <span id="f-count"></span></div>',
        "<table><thead><tr><th>rank</th><th>score</th><th>format</th><th>motion</th><th>semantic</th>"
        "<th>codes</th><th>reason</th><th>&lt;think&gt;</th><th>&lt;output&gt;</th></tr></thead>",
    ]
    for g in groups:
        caption = html.escape(g["caption"])
        parts.append(
            f'<tbody class="grp" data-step="{g["step"]}" data-caption="{html.escape(g["caption"].lower())}">'
            f'<tr class="group"><td colspan="9">step {g["step"]} · {caption} · {len(g["samples"])} samples</td></tr>'
        )
        for s in g["samples"]:
            cls = "ok" if s["reason"] == "ok" else "bad"
            score = s["score"] if s["score"] is not None else float("nan")
            parts.append(
                f'<tr class="sample" data-score="{score}" data-reason="{html.escape(s["reason"])}">'
                f"<td>{s['rank']}</td><td>{_fmt(s['score'])}</td><td>{_fmt(s['format'])}</td>"
                f"<td>{_fmt(s['motion'])}</td><td>{_fmt(s['semantic'])}</td><td>{len(s['codes'])}</td>"
                f'<td class="{cls}">{html.escape(s["reason"])}</td><td><pre>{html.escape(s["think"])}</pre></td>'
                f"<td><pre>{html.escape(s['plan'])}</pre></td></tr>"
            )
        parts.append("</tbody>")
    parts.append("</table>")
    return "\n".join(parts)


def _codec_path(run_dir: Path, config: ViewConfig) -> Path | None:
    if config.codec is not None:
        return config.codec
    vq = read_run_config(run_dir).reward_kwargs.get("vq_ckpt")
    return Path(str(vq)) if vq else None


def _motion_pairs(groups, codec_path: Path | None, n: int, notes: list[str]) -> list[tuple[str, list]]:
    """(title, [(name, joints), ...]) for up to ``n`` groups: the best well-formed sample and the ground truth."""
    if n == 0:
        return []
    if codec_path is None or not (codec_path / "config.json").is_file():
        notes.append(f"no VQ-VAE checkpoint ({codec_path or 'pass --codec'}): motions not drawn")
        return []
    from motion_r1_verl.motion.core.features import joints_from_features
    from motion_r1_verl.vq.hook import get_codec

    codec = get_codec(codec_path, "cpu")
    drawable = [g for g in groups if any(s["codes"] for s in g["samples"])]
    out = []
    for g in _spread(drawable, n):
        best = next(s for s in g["samples"] if s["codes"])
        seqs = [np.asarray(best["codes"], np.int64)]
        names = [f"policy (rank {best['rank']}, score {_fmt(best['score'])})"]
        if g["gt_codes"] and max(g["gt_codes"]) < codec.codebook_size:
            seqs.append(np.asarray(g["gt_codes"], np.int64))
            names.append("ground truth (decoded codes)")
        if max(int(s.max()) for s in seqs) >= codec.codebook_size:
            notes.append(f"step {g['step']}: codes outside the codec's {codec.codebook_size}: not drawn")
            continue
        joints = [joints_from_features(f) for f in codec.decode(seqs)]
        out.append((f"step {g['step']}: {g['caption']}", list(zip(names, joints, strict=True))))
    return out


def write_view(run_dir: str | Path, out: str | Path, config: ViewConfig | None = None) -> ViewReport:
    """Write the page of ``run_dir`` to ``out`` (see the module docstring); returns what it holds."""
    import plotly.io as pio

    config = config or ViewConfig()
    run_dir = resolve_run_dir(Path(run_dir))
    out = Path(out)
    if out.is_dir():
        raise field_error("out", f"{out} is a folder; give the .html file to write")
    notes: list[str] = []
    metrics = read_metrics(run_dir / METRICS_FILE, notes)
    groups = read_groups(run_dir, config.groups_per_step, notes)
    pairs = _motion_pairs(groups, _codec_path(run_dir, config), config.motions, notes)

    body = [f"<h1>{html.escape(str(run_dir))}</h1>"]
    first = True

    def figure_html(fig) -> str:
        nonlocal first
        # Plotly's JavaScript once, inline: the page opens offline.
        text = pio.to_html(fig, full_html=False, include_plotlyjs=first, config={"displaylogo": False})
        first = False
        return text

    curves = curves_figure(metrics)
    body.append("<h2>Training curves</h2>")
    body.append(figure_html(curves) if curves is not None else "<p>No per-step metrics in metrics.jsonl.</p>")
    body.append("<h2>Motions: best sample of a group beside its ground truth</h2>")
    for title, skeletons in pairs:
        body.append(figure_html(motion_figure(skeletons, config.frame_stride, title)))
    if not pairs:
        body.append("<p>No motion drawn.</p>")
    body.append("<h2>Rollouts by step and group (ranked by score)</h2>")
    body.append(_rollout_table(groups))
    if notes:
        body.append("<h2>Notes</h2><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>")
    page = (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>motion-r1 view</title>'
        f"<style>{_STYLE}</style></head><body>{''.join(body)}<script>{_FILTER_JS}</script></body></html>"
    )
    write_text_atomic(out, page)
    return ViewReport(
        path=out,
        bytes=out.stat().st_size,
        steps=len({g["step"] for g in groups}),
        groups=len(groups),
        samples=sum(len(g["samples"]) for g in groups),
        motions=len(pairs),
        notes=tuple(notes),
    )
