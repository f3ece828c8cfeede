"""Motions as animated 3D skeletons in a Plotly figure (play/pause, frame slider, rotate), several side by side.

Used by the run viewer's page and by the demo: ``motion_figure([("generated", joints)], 2, caption)``.
"""

from __future__ import annotations

import numpy as np

from motion_r1_verl.motion.core.skeleton import KINEMATIC_CHAIN


def _bones() -> list[tuple[int, int]]:
    return [(chain[i], chain[i + 1]) for chain in KINEMATIC_CHAIN for i in range(len(chain) - 1)]


def _skeleton_traces(joints: np.ndarray, offset: float, name: str, color: str):
    """Bones of one frame (y up in our data; Plotly's z is up) and the root trajectory on the floor."""
    import plotly.graph_objects as go

    def bones(frame: np.ndarray) -> tuple[list, list, list]:
        xs, ys, zs = [], [], []
        for a, b in _bones():
            xs += [frame[a, 0] + offset, frame[b, 0] + offset, None]
            ys += [frame[a, 2], frame[b, 2], None]
            zs += [frame[a, 1], frame[b, 1], None]
        return xs, ys, zs

    xs, ys, zs = bones(joints[0])
    floor = joints[:, 0]
    return (
        go.Scatter3d(x=xs, y=ys, z=zs, mode="lines", line={"width": 5, "color": color}, name=name),
        go.Scatter3d(
            x=floor[:, 0] + offset,
            y=floor[:, 2],
            z=np.zeros(len(floor)),
            mode="lines",
            line={"width": 2, "color": color, "dash": "dot"},
            name=f"{name} root path",
        ),  # fmt: skip
        bones,
    )


def motion_figure(pairs: list[tuple[str, np.ndarray]], frame_stride: int, title: str):
    """An animated 3D figure of several skeletons side by side (same frame index), play/pause and a slider."""
    import plotly.graph_objects as go

    colors = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")
    traces, movers = [], []
    for i, (name, joints) in enumerate(pairs):
        skeleton, floor, bones = _skeleton_traces(joints, 1.5 * i, name, colors[i % len(colors)])
        traces += [skeleton, floor]
        movers.append((2 * i, joints, bones))
    n = max(len(j) for _, j in pairs)
    frames = []
    for t in range(0, n, frame_stride):
        data, indices = [], []
        for index, joints, bones in movers:
            xs, ys, zs = bones(joints[min(t, len(joints) - 1)])
            data.append(go.Scatter3d(x=xs, y=ys, z=zs))
            indices.append(index)
        frames.append(go.Frame(data=data, traces=indices, name=str(t)))
    fig = go.Figure(data=traces, frames=frames)
    fig.update_layout(
        title=title,
        height=420,
        margin={"t": 40, "b": 0, "l": 0, "r": 0},
        scene={"aspectmode": "data", "xaxis_title": "x", "yaxis_title": "z", "zaxis_title": "up"},
        updatemenus=[
            {
                "type": "buttons",
                "buttons": [
                    {"label": "play", "method": "animate", "args": [None, {"frame": {"duration": 50 * frame_stride}}]},
                    {"label": "pause", "method": "animate", "args": [[None], {"mode": "immediate"}]},
                ],
            }
        ],  # fmt: skip
        sliders=[
            {
                "steps": [
                    {"label": f.name, "method": "animate", "args": [[f.name], {"mode": "immediate"}]} for f in frames
                ],
                "currentvalue": {"prefix": "frame "},
            }
        ],  # fmt: skip
    )
    return fig
