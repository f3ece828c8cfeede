"""Stick-figure pictures and animations of motions, headless (matplotlib Agg).

What: ``render_animation`` writes an mp4 (imageio-ffmpeg) or gif (imageio/pillow) of one or more
motions side by side (ground truth vs generated), each with a floor grid, the root's trajectory on
the floor and a caption; ``render_still`` writes one frame to a PNG; ``render_contact_sheet`` writes
a PNG grid of clips, each as a few time-lapse poses with its caption.

How: each panel is a plain 2-D axes and we project the 3-D joints ourselves (orthographic camera,
fixed yaw/pitch, following the root like T2M-GPT's plots). The background (captions, labels) is
drawn once and restored every frame (blitting); per frame only a handful of Line2D/LineCollection
artists are redrawn, so a 120-frame clip renders in about a second instead of matplotlib 3-D's
full redraw per frame.

Inputs are joints (T,22,3) metres, y up, or HumanML3D features (T,263) (auto-detected by shape and
recovered with ``motion_r1_verl.motion.core.features.joints_from_features``).

Usage::

    motion-r1 render clip.npy --out clip.mp4 --caption "a person walks forward"
    render_animation([gt_joints, gen_joints], "cmp.gif", caption="...", labels=["ground truth", "generated"])
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: never needs a display

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402

from motion_r1_verl.errors import UserError  # noqa: E402
from motion_r1_verl.motion.core.constants import FEATURE_DIM, FPS, N_JOINTS  # noqa: E402
from motion_r1_verl.motion.core.skeleton import KINEMATIC_CHAIN  # noqa: E402
from motion_r1_verl.runtime.files import atomic_write, load_npy  # noqa: E402

# Chain colours: right leg, left leg, spine+head, right arm, left arm (right = red, left = blue).
CHAIN_COLORS = ("#d62728", "#1f77b4", "#333333", "#ff7f0e", "#17becf")
CHAIN_WIDTHS = (3.0, 3.0, 4.0, 2.5, 2.5)
# Camera: yaw around y (a three-quarter view from the front-left) and downward pitch, in degrees.
CAMERA_YAW = 30.0
CAMERA_PITCH = 20.0
GRID_HALF_EXTENT = 2.0  # metres of floor grid shown around the root
GRID_STEP = 0.5
PANEL_PIXELS = 384  # each panel is this many pixels square (a multiple of 16 for H.264)
DPI = 96
VIDEO_SUFFIXES = (".mp4", ".gif")


# --------------------------------------------------------------------------------------------
# Input
# --------------------------------------------------------------------------------------------


def as_joints(array: np.ndarray, name: str = "motion") -> np.ndarray:
    """Joints (T,22,3) float32 from joints or HumanML3D features (T,263); ``UserError`` otherwise."""
    array = np.asarray(array)
    if array.dtype == object or not np.issubdtype(array.dtype, np.number):
        raise UserError(f"{name}: dtype {array.dtype}, expected float joints (T, 22, 3) or features (T, 263)")
    if array.ndim == 3 and array.shape[1:] == (N_JOINTS, 3):
        joints = array.astype(np.float32)
    elif array.ndim == 2 and array.shape[1] == FEATURE_DIM:
        if not np.isfinite(array).all():
            raise UserError(f"{name}: NaN/inf values in the features")
        from motion_r1_verl.motion.core.features import joints_from_features  # lazy: heavy, and optional here

        joints = np.asarray(joints_from_features(array.astype(np.float32)), dtype=np.float32)
    else:
        raise UserError(f"{name}: shape {tuple(array.shape)}, expected joints (T, 22, 3) or features (T, 263)")
    if joints.shape[0] == 0:
        raise UserError(f"{name}: 0 frames")
    if not np.isfinite(joints).all():
        frame = int(np.nonzero(~np.isfinite(joints).reshape(len(joints), -1).all(axis=1))[0][0])
        raise UserError(f"{name}: NaN/inf joint positions (first at frame {frame})")
    return joints


def load_motion(path: str | os.PathLike) -> np.ndarray:
    """Load a ``.npy`` of joints or features as joints (T,22,3); one-line ``UserError`` for bad files."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"motion file {path} not found")
    try:
        array = load_npy(path)
    except ValueError as err:
        raise UserError(f"motion file {path}: {err}") from None
    return as_joints(array, str(path))


# --------------------------------------------------------------------------------------------
# Projection and scene geometry
# --------------------------------------------------------------------------------------------


def _camera_matrix(yaw_deg: float = CAMERA_YAW, pitch_deg: float = CAMERA_PITCH) -> np.ndarray:
    """(3,2) matrix taking world points (x left, y up, z forward of the initial body) to screen xy.

    The camera looks from +z (in front of the body) rotated by ``yaw`` around y, tilted down by
    ``pitch``; screen x is to the viewer's right, screen y up. Orthographic, so no depth divide.
    """
    yaw, pitch = np.deg2rad(yaw_deg), np.deg2rad(pitch_deg)
    # Camera's right and up directions in world coordinates.
    right = np.array([np.cos(yaw), 0.0, -np.sin(yaw)])
    forward_to_camera = np.array([np.sin(yaw), 0.0, np.cos(yaw)])
    up = np.array([0.0, np.cos(pitch), 0.0]) - forward_to_camera * np.sin(pitch)
    return np.stack([right, up], axis=1)


def _project(points: np.ndarray, camera: np.ndarray) -> np.ndarray:
    """(...,3) world points -> (...,2) screen points."""
    return points @ camera


class _Scene:
    """Per-motion geometry shared by animations and stills: floor height, root path, view box."""

    def __init__(self, joints: np.ndarray, camera: np.ndarray) -> None:
        self.joints = joints
        self.camera = camera
        self.floor = float(joints[..., 1].min())
        self.root_xz = joints[:, 0, [0, 2]]
        height = max(float(joints[..., 1].max()) - self.floor, 1.0)
        # Screen box around the followed root: the tallest pose fills most of the height, the near
        # half of the floor grid shows below the feet.
        below = GRID_HALF_EXTENT * np.sin(np.deg2rad(CAMERA_PITCH)) * 0.6
        self.ylim = (-below, height + 0.15)
        half_width = (self.ylim[1] - self.ylim[0]) / 2
        self.xlim = (-half_width, half_width)

    def centre(self, t: int) -> np.ndarray:
        """World point the camera follows at frame t: the root over the floor."""
        x, z = self.root_xz[t]
        return np.array([x, self.floor, z], dtype=np.float32)

    def bones(self, t: int) -> list[np.ndarray]:
        """Screen polylines (n,2) of the kinematic chains at frame t."""
        pose = self.joints[t] - self.centre(t)
        return [_project(pose[list(chain)], self.camera) for chain in KINEMATIC_CHAIN]

    def grid(self, t: int) -> list[np.ndarray]:
        """Floor grid segments (2,2) snapped to world coordinates, so the floor slides as the body moves."""
        cx, cz = self.root_xz[t]
        ticks = np.arange(-GRID_HALF_EXTENT, GRID_HALF_EXTENT + 1e-6, GRID_STEP)
        off_x = -(cx % GRID_STEP)
        off_z = -(cz % GRID_STEP)
        e = GRID_HALF_EXTENT
        segments = []
        for v in ticks:
            segments.append([[v + off_x, 0.0, -e], [v + off_x, 0.0, e]])
            segments.append([[-e, 0.0, v + off_z], [e, 0.0, v + off_z]])
        return list(_project(np.asarray(segments, dtype=np.float32), self.camera))

    def trace(self, t: int) -> np.ndarray:
        """Screen polyline of the root's path on the floor up to frame t."""
        path = np.zeros((t + 1, 3), dtype=np.float32)
        path[:, [0, 2]] = self.root_xz[: t + 1] - self.root_xz[t]
        return _project(path, self.camera)


# --------------------------------------------------------------------------------------------
# Figure
# --------------------------------------------------------------------------------------------


class _Panel:
    """One axes with its artists; ``update(t)`` moves them to frame t."""

    def __init__(self, ax: plt.Axes, scene: _Scene, label: str | None) -> None:
        self.ax, self.scene = ax, scene
        ax.set_xlim(*scene.xlim)
        ax.set_ylim(*scene.ylim)
        ax.set_aspect("equal")
        ax.set_axis_off()
        if label:
            ax.set_title(label, fontsize=11)
        self.grid = LineCollection([], colors="#bbbbbb", linewidths=0.8, animated=True)
        ax.add_collection(self.grid)
        (self.trace,) = ax.plot([], [], color="#2ca02c", lw=1.5, alpha=0.8, animated=True)
        self.chains = [
            ax.plot([], [], color=c, lw=w, solid_capstyle="round", animated=True)[0]
            for c, w in zip(CHAIN_COLORS, CHAIN_WIDTHS, strict=True)
        ]
        self.counter = ax.text(0.02, 0.02, "", transform=ax.transAxes, fontsize=8, color="#666666", animated=True)

    def update(self, t: int) -> None:
        n = len(self.scene.joints)
        tt = min(t, n - 1)  # a shorter motion holds its last pose
        self.grid.set_segments(self.scene.grid(tt))
        trace = self.scene.trace(tt)
        self.trace.set_data(trace[:, 0], trace[:, 1])
        for line, points in zip(self.chains, self.scene.bones(tt), strict=True):
            line.set_data(points[:, 0], points[:, 1])
        self.counter.set_text(f"{tt + 1}/{n}  {tt / FPS:.1f}s")

    def draw(self) -> None:
        for artist in (self.grid, self.trace, *self.chains, self.counter):
            self.ax.draw_artist(artist)


def _figure(n_panels: int, caption: str | None) -> tuple[plt.Figure, list[plt.Axes]]:
    width_px = PANEL_PIXELS * n_panels
    caption_lines = textwrap.wrap(caption, width=max(30, 48 * n_panels)) if caption else []
    # Keep the pixel height a multiple of 16 (H.264 macro blocks) whatever the caption length.
    height_px = PANEL_PIXELS + 16 * int(np.ceil(len(caption_lines) * 18 / 16))
    fig = plt.figure(figsize=(width_px / DPI, height_px / DPI), dpi=DPI)
    top = PANEL_PIXELS / height_px
    axes = [fig.add_axes((i / n_panels, 0.0, 1.0 / n_panels, top * 0.94)) for i in range(n_panels)]
    if caption_lines:
        fig.text(0.5, 1.0 - 4 / height_px, "\n".join(caption_lines), ha="center", va="top", fontsize=11)
    return fig, axes


def _frames(motions: Sequence[np.ndarray], caption: str | None, labels: Sequence[str] | None):
    """Yield (H,W,3) uint8 frames of the side-by-side animation."""
    if labels is not None and len(labels) != len(motions):
        raise UserError(f"{len(labels)} labels for {len(motions)} motions (give one label per motion)")
    camera = _camera_matrix()
    fig, axes = _figure(len(motions), caption)
    try:
        panels = [
            _Panel(ax, _Scene(m, camera), labels[i] if labels else None)
            for i, (ax, m) in enumerate(zip(axes, motions, strict=True))
        ]
        canvas = fig.canvas
        canvas.draw()  # static parts: caption, titles
        background = canvas.copy_from_bbox(fig.bbox)
        for t in range(max(len(m) for m in motions)):
            canvas.restore_region(background)
            for panel in panels:
                panel.update(t)
                panel.draw()
            yield np.asarray(canvas.buffer_rgba())[..., :3].copy()
    finally:
        plt.close(fig)


def _check_motions(motions: Sequence[np.ndarray]) -> list[np.ndarray]:
    if not motions:
        raise UserError("no motions to render")
    return [as_joints(m, f"motion {i}") for i, m in enumerate(motions)]


def render_animation(
    motions: Sequence[np.ndarray],
    out_path: str | os.PathLike,
    *,
    caption: str | None = None,
    labels: Sequence[str] | None = None,
    fps: int = FPS,
) -> int:
    """Write an mp4 or gif of the motions side by side; return the number of frames written.

    ``motions``: joints (T,22,3) or features (T,263), any lengths (shorter ones hold their last pose).
    """
    out_path = Path(out_path)
    if out_path.suffix.lower() not in VIDEO_SUFFIXES:
        raise UserError(f"output {out_path}: unknown format {out_path.suffix.lower()!r}, expected .mp4 or .gif")
    return write_video(animation_frames(motions, caption=caption, labels=labels), out_path, fps=fps)


def animation_frames(motions: Sequence[np.ndarray], *, caption: str | None = None, labels: Sequence[str] | None = None):
    """Yield the (H,W,3) uint8 frames ``render_animation`` writes (motions as it takes them), one at a time."""
    return _frames(_check_motions(motions), caption, labels)


def write_video(frames, out_path: str | os.PathLike, *, fps: int = FPS) -> int:
    """Write an iterable of (H,W,3) uint8 frames as an mp4 or gif (atomically); return the frame count."""
    out_path = Path(out_path)
    suffix = out_path.suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        raise UserError(f"output {out_path}: unknown format {suffix!r}, expected .mp4 or .gif")
    frames = iter(frames)
    written: list[int] = []
    write = _write_mp4 if suffix == ".mp4" else _write_gif
    atomic_write(out_path, lambda tmp: written.append(write(frames, tmp, fps)))  # the temp keeps the suffix
    return written[0]


def _write_mp4(frames, path: Path, fps: int) -> int:
    import imageio_ffmpeg

    first = next(frames)
    height, width = first.shape[:2]
    writer = imageio_ffmpeg.write_frames(
        str(path),
        (width, height),
        fps=fps,
        codec="libx264",
        pix_fmt_out="yuv420p",
        macro_block_size=16,
        output_params=["-loglevel", "error"],
    )
    writer.send(None)  # start the generator
    n_frames = 0
    try:
        for frame in _chain(first, frames):
            writer.send(np.ascontiguousarray(frame))
            n_frames += 1
    finally:
        writer.close()
    return n_frames


def _write_gif(frames, path: Path, fps: int) -> int:
    from PIL import Image

    rgb = list(frames)
    n_frames = len(rgb)
    # One palette for the whole clip (from a few sampled frames): no colour flicker between
    # frames, and mapping to a fixed palette is ~30x faster than quantising every frame.
    samples = np.concatenate(rgb[:: max(1, n_frames // 8)], axis=0)
    palette = Image.fromarray(samples).quantize(colors=64, method=Image.Quantize.FASTOCTREE)
    images = [Image.fromarray(f).quantize(palette=palette, dither=Image.Dither.NONE) for f in rgb]
    images[0].save(
        path,
        format="GIF",
        save_all=True,
        append_images=images[1:],
        duration=round(1000 / fps),
        loop=0,
        disposal=1,
    )
    return n_frames


def _chain(first, rest):
    yield first
    yield from rest


def render_still(
    motions: Sequence[np.ndarray],
    out_path: str | os.PathLike,
    *,
    frame: int | None = None,
    caption: str | None = None,
    labels: Sequence[str] | None = None,
) -> None:
    """Write one frame (default: the middle of the longest motion) of the side-by-side view as a PNG."""
    joints = _check_motions(motions)
    n = max(len(m) for m in joints)
    t = n // 2 if frame is None else frame
    if not 0 <= t < n:
        raise UserError(f"frame {t} out of range: the motion has {n} frames (0..{n - 1})")
    from PIL import Image

    for i, image in enumerate(_frames(joints, caption, labels)):
        if i == t:
            _save_png(Image.fromarray(image), Path(out_path))
            return


def _save_png(image, out_path: Path) -> None:
    atomic_write(out_path, lambda tmp: image.save(tmp, format="PNG"))


def render_contact_sheet(
    motions: Sequence[np.ndarray],
    captions: Sequence[str],
    out_path: str | os.PathLike,
    *,
    n_poses: int = 5,
    n_cols: int | None = None,
) -> None:
    """A PNG grid: one cell per clip with ``n_poses`` evenly spaced poses (light -> dark = early -> late)
    laid out left to right, and the caption above. For eyeballing a data set at a glance."""
    joints = _check_motions(motions)
    if len(captions) != len(joints):
        raise UserError(f"{len(captions)} captions for {len(joints)} motions (give one caption per motion)")
    if n_poses < 1:
        raise UserError(f"n_poses must be >= 1, got {n_poses}")
    n_cols = n_cols or (1 if len(joints) <= 4 else 2)
    n_rows = int(np.ceil(len(joints) / n_cols))
    cell_w, cell_h = 1.3 * n_poses + 0.4, 2.6
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(cell_w * n_cols, cell_h * n_rows), dpi=DPI, squeeze=False)
    camera = _camera_matrix(yaw_deg=20.0, pitch_deg=10.0)
    spacing = 1.2  # metres between successive poses on the sheet
    try:
        for ax in axes.flat:
            ax.set_axis_off()
        for k, (motion, caption) in enumerate(zip(joints, captions, strict=True)):
            ax = axes.flat[k]
            scene = _Scene(motion, camera)
            frames = np.linspace(0, len(motion) - 1, n_poses).round().astype(int)
            for i, t in enumerate(frames):
                alpha = 0.35 + 0.65 * (i + 1) / n_poses
                for chain_points, color, width in zip(scene.bones(t), CHAIN_COLORS, CHAIN_WIDTHS, strict=True):
                    ax.plot(
                        chain_points[:, 0] + i * spacing,
                        chain_points[:, 1],
                        color=color,
                        lw=width * 0.6,
                        alpha=alpha,
                        solid_capstyle="round",
                    )
                ax.text(i * spacing, -0.25, f"{t / FPS:.1f}s", ha="center", fontsize=7, color="#666666")
            ax.plot([-0.6, (n_poses - 1) * spacing + 0.6], [0, 0], color="#999999", lw=1)
            height = float(motion[..., 1].max()) - scene.floor
            ax.set_xlim(-0.7, (n_poses - 1) * spacing + 0.7)
            ax.set_ylim(-0.4, max(height, 1.0) + 0.15)
            ax.set_aspect("equal")
            ax.set_title("\n".join(textwrap.wrap(caption, width=int(cell_w * 11))), fontsize=9)
        fig.tight_layout()
        fig.canvas.draw()
        from PIL import Image

        image = Image.fromarray(np.asarray(fig.canvas.buffer_rgba())[..., :3].copy())
    finally:
        plt.close(fig)
    _save_png(image, Path(out_path))
