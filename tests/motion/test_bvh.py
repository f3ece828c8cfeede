"""BVH parsing (channel orders, position channels, malformed files), writing, and 22-joint export round trips."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from motion_r1_verl.cli.main import main
from motion_r1_verl.errors import UserError
from motion_r1_verl.motion.core.bvh import Bvh, BvhJoint, format_bvh, parse_bvh, read_bvh, write_bvh
from motion_r1_verl.motion.core.skeleton import JOINT_NAMES, PARENTS
from motion_r1_verl.motion.outputs.bvh_export import bvh_from_joints, max_joint_error

# Root with position channels in a non-standard order, a child with Z X Y rotations, a grandchild with
# X Y Z rotations and its own position channels, and an End Site.
SMALL_BVH = """HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Yrotation Xrotation Zrotation
  JOINT Spine
  {
    OFFSET 0 10 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    JOINT Head
    {
      OFFSET 0 5 0
      CHANNELS 6 Xposition Yposition Zposition Xrotation Yrotation Zrotation
      End Site
      {
        OFFSET 0 2 0
      }
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.0333333
1 2 3 0 0 0 0 0 0 0 5 0 0 0 0
0 0 0 90 0 0 0 0 90 0 7 0 0 0 0
"""


def _by_name(bvh: Bvh, names=JOINT_NAMES) -> np.ndarray:
    positions = bvh.positions()
    return positions[:, [bvh.names.index(name) for name in names]]


def test_parse_small_file_and_forward_kinematics():
    bvh = parse_bvh(SMALL_BVH, "small.bvh")
    assert bvh.names == ["Hips", "Spine", "Head"]
    assert bvh.parents.tolist() == [-1, 0, 1]
    assert bvh.fps == 30.0  # 0.0333333 s snaps to 30 fps
    np.testing.assert_allclose(bvh.joints[2].end_site, [0, 2, 0])
    positions = bvh.positions()
    # Frame 0: root at (1,2,3), no rotation; Head's position channel (0,5,0) replaces its offset.
    np.testing.assert_allclose(positions[0], [[1, 2, 3], [1, 12, 3], [1, 17, 3]], atol=1e-12)
    # Frame 1: root yaw 90 (about y) does not move the vertical spine; Spine's Y rotation by 90 neither;
    # Head's position channel (0,7,0) puts it 7 above the spine.
    np.testing.assert_allclose(positions[1], [[0, 0, 0], [0, 10, 0], [0, 17, 0]], atol=1e-9)


@pytest.mark.parametrize("order", ["XYZ", "ZXY", "ZYX", "YZX"])
def test_rotation_channels_compose_in_listed_order(order):
    """``CHANNELS 3 A B C`` means R = R_A @ R_B @ R_C (intrinsic), so the child lands at R @ offset."""
    angles = {"X": 30.0, "Y": -50.0, "Z": 70.0}
    channels = " ".join(f"{axis}rotation" for axis in order)
    text = (
        "HIERARCHY\nROOT A\n{\nOFFSET 0 0 0\nCHANNELS 3 " + channels + "\n"
        "JOINT B\n{\nOFFSET 1 2 3\nCHANNELS 0\nEnd Site\n{\nOFFSET 0 1 0\n}\n}\n}\n"
        "MOTION\nFrames: 1\nFrame Time: 0.05\n" + " ".join(str(angles[a]) for a in order) + "\n"
    )
    bvh = parse_bvh(text, "order.bvh")
    expected = np.eye(3)
    for axis in order:
        expected = expected @ Rotation.from_euler(axis.lower(), angles[axis], degrees=True).as_matrix()
    np.testing.assert_allclose(bvh.positions()[0, 1], expected @ np.array([1.0, 2.0, 3.0]), atol=1e-9)


def test_format_then_parse_is_lossless():
    bvh = parse_bvh(SMALL_BVH, "small.bvh")
    again = parse_bvh(format_bvh(bvh), "again.bvh")
    assert again.names == bvh.names
    assert [j.channels for j in again.joints] == [j.channels for j in bvh.joints]
    np.testing.assert_allclose(again.positions(), bvh.positions(), atol=1e-6)


def test_real_cmu_file_parses_with_rigid_bones(shared_data):
    bvh = read_bvh(shared_data / "cmu_bvh" / "02_01.bvh")
    assert len(bvh.joints) == 31 and bvh.n_frames == 343 and bvh.fps == 120.0
    positions = bvh.positions()
    bones = np.linalg.norm(positions[:, 1:] - positions[:, bvh.parents[1:]], axis=-1)
    assert np.ptp(bones, axis=0).max() < 1e-9  # forward kinematics keeps every bone rigid


# ------------------------------------------------------------------------------------------ malformed input


def _write(tmp_path, text, name="bad.bvh"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        # truncated: the file declares 2 frames but has 1
        (SMALL_BVH.rsplit("\n", 2)[0] + "\n", 24, "1 of the 2 declared frames"),
        # truncated inside the hierarchy: no MOTION section
        (SMALL_BVH.split("  JOINT Spine")[0], 5, "no MOTION section"),
        # CHANNELS says 3 but lists 2 names, then the next keyword
        (SMALL_BVH.replace("Zrotation Xrotation Yrotation", "Zrotation Xrotation"), 10, "'JOINT'"),
        # a channel count that is not a number
        (SMALL_BVH.replace("CHANNELS 3 Zrotation", "CHANNELS three Zrotation"), 9, "not a whole number"),
        # a frame with the wrong number of values
        (SMALL_BVH.replace("1 2 3 0 0 0", "1 2 3 0 0"), 24, "has 14 values, expected 15"),
        # non-numeric motion value
        (SMALL_BVH.replace("0 0 0 90 0 0", "0 0 0 ninety 0 0"), 25, "'ninety' is not a finite number"),
        # non-numeric offset
        (SMALL_BVH.replace("OFFSET 0 10 0", "OFFSET 0 ten 0"), 8, "'ten' is not a number"),
        # bad frame time
        (SMALL_BVH.replace("Frame Time: 0.0333333", "Frame Time: fast"), 23, "is not a number"),
        # a frame time that would make resampling allocate tens of GiB
        (SMALL_BVH.replace("Frame Time: 0.0333333", "Frame Time: 1e6"), 23, "up to 1 (one frame's duration)"),
    ],
)
def test_malformed_files_name_file_and_line(tmp_path, text, line, words):
    path = _write(tmp_path, text)
    with pytest.raises(UserError) as info:
        read_bvh(path)
    message = str(info.value)
    assert message.startswith(f"{path}:{line}: "), message
    assert words in message
    assert "\n" not in message


def test_hostile_hierarchies_and_paths_are_one_line_errors(tmp_path):
    deep = "HIERARCHY\nROOT Hips\n{\n  OFFSET 0 0 0\n  CHANNELS 3 Xposition Yposition Zposition\n"
    deep += "JOINT j\n{\nOFFSET 0 1 0\n" * 20_000 + "}\n" * 20_001 + "MOTION\nFrames: 1\nFrame Time: 0.05\n0 0 0\n"
    with pytest.raises(UserError, match="nested more than 128 deep"):
        read_bvh(_write(tmp_path, deep))
    loop = tmp_path / "loop.bvh"
    loop.symlink_to(loop)
    with pytest.raises(UserError, match=r"loop.bvh: cannot read"):
        read_bvh(loop)


def test_cli_malformed_bvh_is_one_line_exit_2(tmp_path, capsys):
    path = _write(tmp_path, SMALL_BVH.replace("1 2 3 0 0 0", "1 2 3 0 0"))
    code = main(["data", "import-bvh", str(path), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.count("\n") == 0 and f"{path}:24:" in err
    assert not (tmp_path / "out" / "new_joint_vecs").exists()


def test_missing_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        read_bvh(tmp_path / "nope.bvh")


# --------------------------------------------------------------------------------------------------- export


@pytest.fixture(scope="module")
def real_joints(shared_data):
    return np.load(shared_data / "humanml3d" / "new_joints" / "012314.npy")


def test_export_real_clip_reads_back_within_1mm(real_joints, tmp_path):
    out = tmp_path / "clip.bvh"
    write_bvh(out, bvh_from_joints(real_joints))
    back = read_bvh(out)
    assert back.names[0] == "pelvis" and len(back.joints) == 22
    assert back.fps == 20.0 and back.n_frames == len(real_joints)
    error = np.linalg.norm(_by_name(back) - real_joints, axis=-1).max()
    assert error < 1e-3, f"max joint error {error * 1000:.3f} mm"
    # Offsets carry the clip's own bone lengths (HumanML3D's uniform skeleton here).
    lengths = np.linalg.norm(real_joints[0, 1:] - real_joints[0, list(PARENTS[1:])], axis=-1)
    offsets = {j.name: np.linalg.norm(j.offset) for j in back.joints}
    np.testing.assert_allclose([offsets[n] for n in JOINT_NAMES[1:]], lengths, atol=1e-5)


def test_export_euler_curves_are_continuous(real_joints):
    """Animation tools interpolate channels: angle curves must move about as fast as the rotations they encode
    (no 360-degree wraps, no Euler-singularity jumps). The real clip is a tennis serve: fast, knees bent."""
    bvh = bvh_from_joints(real_joints)
    quats = bvh.local_rotations()
    for j, joint in enumerate(bvh.joints):
        curves = np.stack([v for name, v in bvh.channel_values(j).items() if name.endswith("rotation")], axis=1)
        rotation = Rotation.from_quat(quats[:, j], scalar_first=True)
        turn = np.degrees((rotation[1:] * rotation[:-1].inv()).magnitude())  # per-frame rotation change
        steps = np.abs(np.diff(curves, axis=0)).max(axis=1)
        assert (steps <= 2.0 * turn + 0.5).all(), (joint.name, joint.channels, float((steps - 2 * turn).max()))


def test_cli_export_features_and_joints_in_cm(real_joints, shared_data, tmp_path, capsys):
    features = shared_data / "humanml3d" / "new_joint_vecs" / "012314.npy"
    out = tmp_path / "from_features.bvh"
    assert main(["export", "bvh", str(features), "--out", str(out), "--unit", "cm"]) == 0
    assert "differ by at most 0.0" in capsys.readouterr().out
    back = read_bvh(out)
    # The real new_joints ARE recover_from_ric(features), so the features file exports the same motion.
    error = np.linalg.norm(_by_name(back) / 100.0 - real_joints, axis=-1).max()
    assert error < 1e-3
    assert back.joints[1].offset[0] > 1.0  # centimetres: the hip is several cm from the pelvis


def test_export_exact_mode_follows_stretching_bones(real_joints):
    rng = np.random.default_rng(0)
    stretchy = real_joints + rng.normal(scale=0.01, size=real_joints.shape)  # bones change length every frame
    rigid = bvh_from_joints(stretchy)
    assert max_joint_error(rigid, stretchy) > 1e-3  # a rigid skeleton cannot follow it...
    exact = bvh_from_joints(stretchy, exact=True)
    assert max_joint_error(exact, stretchy) < 1e-6  # ...position channels can
    again = parse_bvh(format_bvh(exact), "exact.bvh")
    assert np.linalg.norm(_by_name(again) - stretchy, axis=-1).max() < 1e-5


def test_cli_exact_flag(real_joints, tmp_path, capsys):
    stretchy = tmp_path / "stretchy.npy"
    np.save(stretchy, real_joints * np.linspace(0.95, 1.05, len(real_joints))[:, None, None].astype(np.float32))
    assert main(["export", "bvh", str(stretchy), "--out", str(tmp_path / "a.bvh")]) == 0
    assert "--exact adds position channels" in capsys.readouterr().out
    assert main(["export", "bvh", str(stretchy), "--out", str(tmp_path / "b.bvh"), "--exact"]) == 0
    assert "differ by at most 0.000 mm" in capsys.readouterr().out
    assert "Xposition" in (tmp_path / "b.bvh").read_text().split("JOINT", 1)[1]  # non-root position channels


def test_export_survives_a_collapsed_bone(real_joints):
    joints = real_joints.copy()
    joints[:, 15] = joints[:, 12]  # head on the neck: a zero-length bone
    bvh = bvh_from_joints(joints)
    assert np.isfinite(bvh.motion).all()
    assert max_joint_error(bvh, joints) < 1e-3


def test_cli_export_rejects_wrong_shape(tmp_path, capsys):
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((10, 7), dtype=np.float32))
    assert main(["export", "bvh", str(bad), "--out", str(tmp_path / "x.bvh")]) == 2
    err = capsys.readouterr().err
    assert "(T, 22, 3)" in err and err.count("\n") == 1


def test_bvh_joint_order_is_checked():
    with pytest.raises(ValueError, match="before its parent"):
        Bvh(
            joints=[BvhJoint("a", 1, np.zeros(3), ()), BvhJoint("b", -1, np.zeros(3), ())],
            frame_time=0.05,
            motion=np.zeros((1, 0)),
        )


@pytest.mark.parametrize("verb", [["export", "bvh"], ["data", "import-bvh"]])
def test_help(verb, capsys):
    with pytest.raises(SystemExit) as info:
        main([*verb, "--help"])
    assert info.value.code == 0
    assert "example" in capsys.readouterr().out
