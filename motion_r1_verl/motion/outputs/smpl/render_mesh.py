"""Headless pictures of a SMPL mesh sequence (matplotlib Agg): mp4/gif animations and png stills.

What: ``render_mesh_animation(vertices, faces, out)`` and ``render_mesh_still(...)`` draw the posed mesh
with flat Lambert shading over the same floor grid and following camera as the stick-figure renderer
(``motion_r1_verl.motion.outputs.render``), and write through its video writer.

How: like a matplotlib trisurf, but projected by hand (same orthographic camera as ``render.py``):
per frame, faces turned away from the camera are dropped, the rest are sorted back to front (painter's
algorithm) and drawn as one ``PolyCollection`` whose colours come from the angle between each face
normal and the light. No OpenGL, so it runs on any CPU-only machine.

Usage::

    motion-r1 render --smpl-params clip_smpl.npz --smpl-model models/ --out clip_mesh.mp4
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: never needs a display

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.collections import LineCollection, PolyCollection  # noqa: E402

from motion_r1_verl.errors import UserError  # noqa: E402
from motion_r1_verl.motion.core.constants import FPS  # noqa: E402
from motion_r1_verl.motion.outputs.render import (  # noqa: E402
    CAMERA_PITCH,
    CAMERA_YAW,
    DPI,
    PANEL_PIXELS,
    _camera_matrix,
    _save_png,
    _Scene,
    write_video,
)

BODY_RGB = np.array([0.62, 0.72, 0.86])
AMBIENT = 0.35


def _view_direction(yaw_deg: float = CAMERA_YAW, pitch_deg: float = CAMERA_PITCH) -> np.ndarray:
    """Unit vector from the scene towards the camera (world coordinates), matching ``_camera_matrix``."""
    yaw, pitch = np.deg2rad(yaw_deg), np.deg2rad(pitch_deg)
    return np.array([np.sin(yaw) * np.cos(pitch), np.sin(pitch), np.cos(yaw) * np.cos(pitch)])


def _shaded_polygons(frame: np.ndarray, faces: np.ndarray, camera: np.ndarray, to_camera: np.ndarray):
    """Screen triangles (n,3,2), back to front, and their RGB colours (n,3) for one frame (V,3)."""
    tri = frame[faces]  # (F, 3, 3)
    normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normals /= np.maximum(np.linalg.norm(normals, axis=-1, keepdims=True), 1e-12)
    facing = normals @ to_camera
    # Meshes may wind either way; keep the side that faces the camera for the majority orientation.
    if (facing < 0).sum() > (facing > 0).sum():
        facing = -facing
    keep = facing > 0
    depth = tri[keep].mean(1) @ to_camera  # larger = nearer the camera
    order = np.argsort(depth)
    shade = AMBIENT + (1 - AMBIENT) * facing[keep][order]
    return tri[keep][order] @ camera, np.clip(shade[:, None] * BODY_RGB, 0.0, 1.0)


def _check(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    vertices = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64)
    if vertices.ndim != 3 or vertices.shape[-1] != 3 or len(vertices) == 0:
        raise UserError(f"vertices: expected (T, V, 3) with T >= 1, got {vertices.shape}")
    if faces.ndim != 2 or faces.shape[1] != 3 or faces.max() >= vertices.shape[1]:
        raise UserError(f"faces: expected (F, 3) indices into {vertices.shape[1]} vertices")
    return vertices, faces


def mesh_frames(vertices: np.ndarray, faces: np.ndarray, root: np.ndarray, *, caption: str | None = None, frames=None):
    """Yield (H,W,3) uint8 images of the mesh; ``root (T,3)`` is the point the camera follows (the pelvis)."""
    vertices, faces = _check(vertices, faces)
    camera = _camera_matrix()
    to_camera = _view_direction()
    # _Scene wants joints; the root path and the mesh's extent give it the floor, framing and grid.
    proxy = np.repeat(root[:, None].astype(np.float32), 22, axis=1)
    scene = _Scene(proxy, camera)
    scene.floor = float(vertices[..., 1].min())
    height = float(vertices[..., 1].max()) - scene.floor
    scene.ylim = (scene.ylim[0], max(height, 1.0) + 0.15)
    half = (scene.ylim[1] - scene.ylim[0]) / 2
    scene.xlim = (-half, half)
    caption_lines = textwrap.wrap(caption, width=48) if caption else []
    height_px = PANEL_PIXELS + 16 * int(np.ceil(len(caption_lines) * 18 / 16))
    fig = plt.figure(figsize=(PANEL_PIXELS / DPI, height_px / DPI), dpi=DPI)
    try:
        ax = fig.add_axes((0.0, 0.0, 1.0, PANEL_PIXELS / height_px * 0.97))
        ax.set_xlim(*scene.xlim)
        ax.set_ylim(*scene.ylim)
        ax.set_aspect("equal")
        ax.set_axis_off()
        if caption_lines:
            fig.text(0.5, 1.0 - 4 / height_px, "\n".join(caption_lines), ha="center", va="top", fontsize=11)
        grid = LineCollection([], colors="#bbbbbb", linewidths=0.8)
        body = PolyCollection([], edgecolors="none", antialiaseds=False)
        ax.add_collection(grid)
        ax.add_collection(body)
        counter = ax.text(0.02, 0.02, "", transform=ax.transAxes, fontsize=8, color="#666666")
        n = len(vertices)
        for t in range(n) if frames is None else frames:
            centre = scene.centre(t)
            grid.set_segments(scene.grid(t))
            polygons, colours = _shaded_polygons(vertices[t] - centre, faces, camera, to_camera)
            body.set_verts(list(polygons))
            body.set_facecolor(colours)
            counter.set_text(f"{t + 1}/{n}  {t / FPS:.1f}s")
            fig.canvas.draw()
            yield np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    finally:
        plt.close(fig)


def render_mesh_animation(
    vertices: np.ndarray,
    faces: np.ndarray,
    root: np.ndarray,
    out_path: str | os.PathLike,
    *,
    caption: str | None = None,
    fps: int = FPS,
) -> int:
    """Write an mp4/gif of the mesh sequence; returns the number of frames."""
    return write_video(mesh_frames(vertices, faces, root, caption=caption), out_path, fps=fps)


def render_mesh_still(
    vertices: np.ndarray,
    faces: np.ndarray,
    root: np.ndarray,
    out_path: str | os.PathLike,
    *,
    frame: int | None = None,
    caption: str | None = None,
) -> int:
    """Write one frame (default: the middle one) as a PNG; returns the frame index drawn."""
    from PIL import Image

    n = len(vertices)
    t = n // 2 if frame is None else frame
    if not 0 <= t < n:
        raise UserError(f"frame {t} out of range: the motion has {n} frames (0..{n - 1})")
    (image,) = list(mesh_frames(vertices, faces, root, caption=caption, frames=[t]))
    _save_png(Image.fromarray(image), Path(out_path))
    return t
