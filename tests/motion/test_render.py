"""Rendering: real files written, right frame counts, bad inputs give one-line errors."""

from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from motion_r1_verl.cli.main import main
from motion_r1_verl.errors import UserError
from motion_r1_verl.motion.outputs.render import load_motion, render_animation, render_contact_sheet, render_still


def _walk(n_frames: int = 30) -> np.ndarray:
    """A made-up vertical skeleton sliding forward along z: cheap, valid (T,22,3) joints."""
    rng = np.random.default_rng(0)
    base = np.zeros((22, 3), np.float32)
    base[:, 1] = np.linspace(0.0, 1.7, 22)
    base[:, 0] = rng.uniform(-0.3, 0.3, 22)
    joints = np.repeat(base[None], n_frames, axis=0)
    joints[:, :, 2] += np.linspace(0, 1.5, n_frames, dtype=np.float32)[:, None]
    return joints


@pytest.fixture()
def real_joints(shared_data: Path) -> np.ndarray:
    return load_motion(shared_data / "humanml3d" / "new_joints" / "012314.npy")


def test_mp4_has_one_frame_per_motion_frame(tmp_path):
    out = tmp_path / "walk.mp4"
    assert render_animation([_walk(30)], out, caption="a person slides forward") == 30
    n_frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(out))
    assert n_frames == 30 and seconds == pytest.approx(1.5)
    assert not [p for p in tmp_path.iterdir() if p.name != "walk.mp4"]  # temp file renamed away


def test_gif_side_by_side_runs_to_the_longer_motion(tmp_path):
    out = tmp_path / "cmp.gif"
    n = render_animation([_walk(24), _walk(16)], out, caption="gt vs generated", labels=["gt", "generated"])
    assert n == 24
    with Image.open(out) as gif:
        assert gif.n_frames == 24
        width, height = gif.size
    assert width == 2 * 384 and height >= 384  # two panels


def test_features_render_like_their_joints(shared_data, tmp_path):
    """(T,263) inputs are detected and recovered to the same joints the file next to them holds."""
    root = shared_data / "humanml3d"
    from_features = load_motion(root / "new_joint_vecs" / "012314.npy")
    joints = load_motion(root / "new_joints" / "012314.npy")
    np.testing.assert_allclose(from_features, joints, atol=1e-4)
    render_still([from_features], tmp_path / "f.png", frame=10)
    render_still([joints], tmp_path / "j.png", frame=10)
    a = np.asarray(Image.open(tmp_path / "f.png"), dtype=np.int16)
    b = np.asarray(Image.open(tmp_path / "j.png"), dtype=np.int16)
    assert np.abs(a - b).mean() < 1.0


def test_real_clip_still_draws_a_standing_figure(real_joints, tmp_path):
    """Frame 85 of the real clip (a person standing for a tennis serve; the PNG was also checked by eye):
    the body is drawn, y is up (spine above the leg) and the feet are in the lower part of the panel."""
    out = tmp_path / "still.png"
    render_still([real_joints], out, frame=85)  # no caption: the only near-black pixels are the spine
    image = np.asarray(Image.open(out).convert("RGB"), dtype=np.int16)
    red = (image[..., 0] > 180) & (image[..., 1] < 80) & (image[..., 2] < 80)  # right leg
    dark = image.sum(-1) < 200  # spine/head (#333333)
    assert red.sum() > 100 and dark.sum() > 100
    red_rows, dark_rows = np.nonzero(red)[0], np.nonzero(dark)[0]
    assert dark_rows.min() < red_rows.min()  # head above the leg
    assert dark_rows.max() < red_rows.max()  # pelvis above the foot
    assert red_rows.max() > 0.6 * image.shape[0]  # foot low in the frame, on the floor


def test_contact_sheet(real_joints, tmp_path):
    out = tmp_path / "sheet.png"
    render_contact_sheet([real_joints, real_joints[40:120], _walk(50)], ["serve", "a crop", "slide"], out, n_poses=4)
    with Image.open(out) as image:
        assert image.format == "PNG" and image.size[0] > 300 and image.size[1] > 3 * 150


def _save(path: Path, array) -> Path:
    np.save(path, array)
    return path


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda d: d / "missing.npy", "not found"),
        (lambda d: _write(d / "empty.npy", b""), "empty"),
        (lambda d: _save(d / "shape.npy", np.zeros((10, 21, 3))), r"shape \(10, 21, 3\)"),
        (lambda d: _save(d / "flat.npy", np.zeros(263)), "expected joints"),
        (lambda d: _save(d / "zero.npy", np.zeros((0, 22, 3))), "0 frames"),
        (lambda d: _save(d / "nan.npy", np.full((5, 22, 3), np.nan)), "NaN"),
        (lambda d: _save(d / "nanf.npy", np.full((5, 263), np.inf)), "NaN/inf"),
        (lambda d: _write(d / "text.npy", b"hello"), "not a readable .npy"),
    ],
)
def test_bad_input_is_a_one_line_user_error(tmp_path, capsys, make, match):
    path = make(tmp_path)
    with pytest.raises(UserError, match=match):
        load_motion(path)
    assert main(["render", str(path), "--out", str(tmp_path / "o.mp4")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and path.name in err
    assert not (tmp_path / "o.mp4").exists()


def test_cli_writes_mp4_gif_png(tmp_path, capsys):
    src = _save(tmp_path / "walk.npy", _walk(20))
    other = _save(tmp_path / "other.npy", _walk(12))
    assert main(["render", str(src), "--out", str(tmp_path / "a.mp4"), "--caption", "walks"]) == 0
    assert imageio_ffmpeg.count_frames_and_secs(str(tmp_path / "a.mp4"))[0] == 20
    args = ["render", str(src), "--compare", str(other), "--labels", "gt,gen", "--out", str(tmp_path / "b.gif")]
    assert main(args) == 0
    assert Image.open(tmp_path / "b.gif").n_frames == 20
    assert main(["render", str(src), "--out", str(tmp_path / "c.png"), "--frame", "3"]) == 0
    assert Image.open(tmp_path / "c.png").format == "PNG"
    assert "wrote" in capsys.readouterr().out
    # Flag errors: label count, frame range, unknown format.
    assert main(["render", str(src), "--labels", "a,b", "--out", str(tmp_path / "d.gif")]) == 2
    assert main(["render", str(src), "--out", str(tmp_path / "d.png"), "--frame", "20"]) == 2
    assert main(["render", str(src), "--out", str(tmp_path / "d.avi")]) == 2
    assert "frame 20 out of range" in capsys.readouterr().err
