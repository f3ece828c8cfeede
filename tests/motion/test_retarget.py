"""BVH import: retargeting the real CMU clip, unit/up-axis detection, resampling, joint maps, folder output."""

import copy
import json

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from motion_r1_verl.cli.main import main
from motion_r1_verl.errors import UserError
from motion_r1_verl.motion.core.bvh import Bvh, format_bvh, parse_bvh, read_bvh, write_bvh
from motion_r1_verl.motion.core.check import check_folder
from motion_r1_verl.motion.core.constants import FEATURE_DIM
from motion_r1_verl.motion.core.humanml3d import read_caption_file, read_split_ids
from motion_r1_verl.motion.core.skeleton import JOINT_NAMES, LEFT_FOOT, PARENTS, RIGHT_FOOT
from motion_r1_verl.motion.outputs.bvh_export import bvh_from_joints
from motion_r1_verl.motion.sources.retarget import (
    _segments,
    detect_unit,
    floor_tilt,
    import_bvh_files,
    load_joint_map,
    resample_positions,
    retarget_bvh,
    slerp_frames,
)

FEET = [*LEFT_FOOT, *RIGHT_FOOT]
# The CMU clip's joints under the other common CMU naming (amc2bvh-style).
CHEST_NAMES = {
    "LeftUpLeg": "LeftHip",
    "LeftLeg": "LeftKnee",
    "LeftFoot": "LeftAnkle",
    "LeftToeBase": "LeftToe",
    "LowerBack": "lowerback",
    "Spine": "Chest",
    "Spine1": "Chest2",
    "Neck": "lowerneck",
    "Neck1": "Neck",
    "LeftShoulder": "LeftCollar",
    "LeftArm": "LeftShoulder",
    "LeftForeArm": "LeftElbow",
    "LeftHand": "LeftWrist",
}
CHEST_NAMES |= {k.replace("Left", "Right"): v.replace("Left", "Right") for k, v in CHEST_NAMES.items() if "Left" in k}


@pytest.fixture(scope="module")
def cmu_path(shared_data):
    return shared_data / "cmu_bvh" / "02_01.bvh"


@pytest.fixture(scope="module")
def cmu(cmu_path):
    return read_bvh(cmu_path)


@pytest.fixture(scope="module")
def cmu_motion(cmu):
    return retarget_bvh(cmu)


def _bones(joints):
    return np.linalg.norm(joints[:, 1:] - joints[:, list(PARENTS[1:])], axis=-1)


def _renamed(bvh: Bvh, names: dict[str, str]) -> Bvh:
    out = copy.deepcopy(bvh)
    for joint in out.joints:
        joint.name = names.get(joint.name, joint.name)
    return parse_bvh(format_bvh(out), "renamed.bvh")  # through the writer and parser, as a user's file would be


def _transformed(bvh: Bvh, scale: float = 1.0, turn: np.ndarray | None = None) -> Bvh:
    """The same motion with lengths times ``scale`` and the whole body turned by ``turn`` (3x3)."""
    out = copy.deepcopy(bvh)
    for joint in out.joints:
        joint.offset = joint.offset * scale
        if joint.end_site is not None:
            joint.end_site = joint.end_site * scale
    root = out.channel_values(0)
    names = out.joints[0].channels
    position = np.stack([root[f"{a}position"] for a in "XYZ"], axis=1) * scale
    order = "".join(n[0] for n in names if n.endswith("rotation"))
    rotation = Rotation.from_euler(order, np.stack([root[f"{a}rotation"] for a in order], axis=1), degrees=True)
    if turn is not None:
        position = position @ turn.T
        rotation = Rotation.from_matrix(turn) * rotation
    angles = rotation.as_euler(order, degrees=True)
    for name in names:
        column = out.channel_column(0, name)
        out.motion[:, column] = (
            position[:, "XYZ".index(name[0])] if name.endswith("position") else angles[:, order.index(name[0])]
        )
    return parse_bvh(format_bvh(out), "transformed.bvh")


# -------------------------------------------------------------------------------------- the real CMU clip


def test_cmu_clip_detection(cmu_motion):
    assert cmu_motion.map_name == "cmu"
    assert cmu_motion.unit == "cmu" and cmu_motion.up_axis == "+y"
    assert cmu_motion.source_fps == 120.0 and cmu_motion.fps == 20.0
    # 343 frames at 120 fps last 342/120 = 2.85 s: 58 frames at 20 fps.
    assert cmu_motion.joints.shape == (58, 22, 3)
    assert cmu_motion.mapping["left_hip"] == "LeftUpLeg" and cmu_motion.mapping["neck"] == "Neck1"


def test_cmu_clip_is_a_plausible_walking_person(cmu_motion):
    joints = cmu_motion.joints
    # Bones placed on single CMU joints are rigid; the collarbones are blends of two joints (CMU has none
    # there) and may breathe a few millimetres; the import's uniform skeleton makes every bone exact later.
    drift = np.ptp(_bones(joints), axis=0)
    collars = [JOINT_NAMES.index(n) - 1 for n in ("left_collar", "right_collar")]
    assert np.delete(drift, collars).max() <= 1e-3
    assert drift[collars].max() <= 1e-2
    assert 1.4 <= cmu_motion.body_height <= 2.0
    assert 0.5 <= cmu_motion.speed <= 2.5
    assert joints[..., 1].min() == pytest.approx(0.0, abs=1e-9)  # on the floor
    # A foot on the floor in every frame (walking): the capture floor rises about 1 degree over the 3.5 m
    # walk (6 cm), which the import levels.
    assert 0.5 < cmu_motion.floor_tilt < 1.5
    assert joints[:, FEET, 1].min(axis=1).max() < 0.03
    # Upright: head above pelvis above knees above ankles, in every frame.
    y = joints[..., 1]
    assert (y[:, 15] > y[:, 0]).all() and (y[:, 0] > y[:, [4, 5]].max(1)).all()
    assert (y[:, [4, 5]].min(1) > y[:, [7, 8]].max(1)).all()


def test_resampling_120_to_20_fps_picks_every_sixth_frame(cmu):
    motion = retarget_bvh(cmu, level_floor=False)
    positions = cmu.positions()[::6] * 0.0254 / 0.45
    hips = positions[:, cmu.names.index("Hips")]
    offset = motion.joints[:, 0] - hips
    np.testing.assert_allclose(offset, np.broadcast_to(offset[0], offset.shape), atol=1e-9)  # only the floor shift


def test_30_fps_file_interpolates_rotations(cmu):
    slow = copy.deepcopy(cmu)
    slow.motion = cmu.motion[::4]  # 120 -> 30 fps
    slow.frame_time = 1.0 / 30.0
    motion = retarget_bvh(slow, level_floor=False)
    reference = retarget_bvh(cmu, level_floor=False)
    # 86 frames at 30 fps last 85/30 = 2.83 s: 57 frames at 20 fps (one fewer than from 120 fps).
    assert motion.source_fps == 30.0 and motion.joints.shape == (57, 22, 3)
    # Every other 20 fps frame falls halfway between two 30 fps frames: slerped, within a few mm of the truth.
    error = np.linalg.norm(motion.joints - reference.joints[:57], axis=-1)
    assert error[::2].max() < 1e-6
    assert error.max() < 0.02
    assert np.ptp(_bones(motion.joints), axis=0).max() <= 1e-2  # interpolating rotations keeps bones rigid


@pytest.mark.parametrize(
    ("scale", "unit"), [(0.0254 / 0.45 / 0.01, "cm"), (0.0254 / 0.45, "m"), (0.0254 / 0.45 / 0.0254, "inch")]
)
def test_unit_detection(cmu, cmu_motion, scale, unit):
    motion = retarget_bvh(_transformed(cmu, scale=scale))
    assert motion.unit == unit
    np.testing.assert_allclose(motion.joints, cmu_motion.joints, atol=1e-4)


@pytest.mark.parametrize(
    ("turn", "axis"),
    [
        (Rotation.from_euler("x", 90, degrees=True).as_matrix(), "+z"),  # y-up -> z-up
        (Rotation.from_euler("x", -90, degrees=True).as_matrix(), "-z"),
        (Rotation.from_euler("z", -90, degrees=True).as_matrix(), "+x"),
        (Rotation.from_euler("z", 90, degrees=True).as_matrix(), "-x"),
    ],
)
def test_up_axis_detection_keeps_left_and_right(cmu, cmu_motion, turn, axis):
    motion = retarget_bvh(_transformed(cmu, turn=turn))
    assert motion.up_axis == axis
    # Same body shape and the same side on the left: only a rigid turn about y separates the two results.
    a, b = motion.joints - motion.joints[:1, :1], cmu_motion.joints - cmu_motion.joints[:1, :1]
    rotation, rms = Rotation.align_vectors(b.reshape(-1, 3), a.reshape(-1, 3))
    assert rms < 1e-4
    assert abs(rotation.apply([0.0, 1.0, 0.0])[1] - 1.0) < 1e-6


@pytest.mark.parametrize("degrees", [2.0, -1.0, 0.3])
def test_floor_tilt_is_measured_along_the_walk(cmu_motion, degrees):
    turn = Rotation.from_euler("x", degrees, degrees=True).as_matrix()  # the walk goes along z: it climbs
    tilt, level = floor_tilt(cmu_motion.joints @ turn.T)
    assert tilt == pytest.approx(abs(degrees), abs=0.15)
    np.testing.assert_allclose(level @ turn, np.eye(3), atol=0.003)


def test_steep_floor_is_taken_as_terrain(cmu):
    turn = Rotation.from_euler("x", 6.0, degrees=True).as_matrix()
    motion = retarget_bvh(_transformed(cmu, turn=turn))
    assert motion.up_axis == "+y" and motion.floor_tilt == 0.0
    assert motion.joints[:, FEET, 1].min(axis=1).max() > 0.2  # a 3.5 m walk up a 6-7 degree ramp stays one


def test_unit_outside_human_size_is_a_user_error(cmu):
    with pytest.raises(UserError, match="pass unit"):
        retarget_bvh(_transformed(cmu, scale=1000.0))
    assert detect_unit(retarget_bvh(cmu, unit="cmu").joints) == "m"  # metres in, metres detected


# -------------------------------------------------------------------------------------------- joint maps


def test_other_cmu_naming_maps_to_the_same_joints(cmu, cmu_motion):
    motion = retarget_bvh(_renamed(cmu, CHEST_NAMES))
    assert motion.map_name == "cmu_chest"
    np.testing.assert_allclose(motion.joints, cmu_motion.joints, atol=1e-5)


def test_namespaced_names_still_map(cmu, cmu_motion):
    motion = retarget_bvh(_renamed(cmu, {n: f"rig:{n}" for n in cmu.names}))
    assert motion.map_name == "cmu"
    np.testing.assert_allclose(motion.joints, cmu_motion.joints, atol=1e-5)


def test_unknown_rig_lists_unplaced_joints_and_user_map_fixes_it(cmu, cmu_motion, tmp_path):
    rig = _renamed(cmu, {n: f"j{k}" for k, n in enumerate(cmu.names)})
    with pytest.raises(UserError) as info:
        retarget_bvh(rig)
    message = str(info.value)
    assert "cannot place 22 of the 22 joints" in message and "user_map=MAP.json" in message and "\n" not in message
    from motion_r1_verl.cli.main import cli_message

    assert "pass --joint-map MAP.json naming" in cli_message(info.value, "data")  # the CLI speaks its flag
    assert all(name in message for name in JOINT_NAMES)

    index = {n: f"j{k}" for k, n in enumerate(cmu.names)}
    user = {t: (index[s] if isinstance(s, str) else {index[n]: w for n, w in s.items()}) for t, s in _cmu_map().items()}
    path = tmp_path / "map.json"
    path.write_text(json.dumps(user))
    motion = retarget_bvh(rig, load_joint_map(path))
    assert motion.map_name == "user"
    np.testing.assert_allclose(motion.joints, cmu_motion.joints, atol=1e-5)


def test_partial_user_map_overrides_a_builtin_one(cmu):
    motion = retarget_bvh(cmu, {"head": {"Neck1": 0.2, "Head": 0.8}})
    assert motion.map_name == "cmu+user" and motion.mapping["head"] == "0.2 Neck1 + 0.8 Head"


def test_partially_mappable_rig_names_the_missing_joints(cmu):
    rig = _renamed(cmu, {"LeftHand": "hand_l", "RightHand": "hand_r"})
    with pytest.raises(UserError, match=r"cannot place 2 of the 22 joints on this rig: left_wrist, right_wrist"):
        retarget_bvh(rig)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ('{"toe": "LeftToeBase"}', "unknown target joint(s) toe"),
        ('{"head": {"Head": -1}}', "must be a positive number"),
        ('["Hips"]', "expected a JSON object"),
        ("{not json", "not a JSON joint map"),
    ],
)
def test_bad_joint_map_files(tmp_path, content, words):
    path = tmp_path / "map.json"
    path.write_text(content)
    with pytest.raises(UserError, match=None) as info:
        load_joint_map(path)
    assert str(info.value).startswith(str(path)) and words in str(info.value)


def test_map_naming_a_missing_joint_or_collapsing_a_bone(cmu):
    with pytest.raises(UserError, match="head -> Skull: no such joint"):
        retarget_bvh(cmu, {"head": "Skull"})
    with pytest.raises(UserError, match="bone.s. spine2->spine3, .* shorter than 1 cm"):
        retarget_bvh(cmu, {"spine3": "Spine1"})


def _cmu_map():
    from motion_r1_verl.motion.sources.retarget import BUILTIN_MAPS

    return {t: options[0] for t, options in next(m for m in BUILTIN_MAPS if m.name == "cmu").targets.items()}


# ------------------------------------------------------------------------------------------ helpers, time


def test_resample_positions_cover_the_clip():
    np.testing.assert_allclose(resample_positions(343, 120.0, 20.0), np.arange(58) * 6.0)
    at = resample_positions(31, 30.0, 20.0)  # 1 s at 30 fps -> 21 frames at 20 fps
    assert len(at) == 21 and at[-1] == 30.0


def test_slerp_halfway_between_two_rotations():
    q = Rotation.from_euler("y", [[0.0], [90.0]], degrees=True).as_quat(scalar_first=True)[:, None]  # (2, 1, 4)
    mid = slerp_frames(q, np.array([0.5]))
    assert Rotation.from_quat(mid[0, 0], scalar_first=True).as_euler("yxz", degrees=True)[0] == pytest.approx(45.0)


def test_long_clips_are_cut_into_equal_parts():
    assert _segments(150) == [(0, 150)]
    parts = _segments(500)
    assert len(parts) == 3 and parts[0][0] == 0 and parts[-1][1] == 500
    assert all(b - a <= 196 for a, b in parts) and all(parts[i][1] == parts[i + 1][0] for i in range(2))


# ------------------------------------------------------------------------------------------- whole import


def test_cli_import_writes_a_valid_humanml3d_folder(cmu_path, tmp_path, capsys):
    out = tmp_path / "mocap"
    code = main(["data", "import-bvh", str(cmu_path), "--out", str(out), "--caption", "a person walks forward"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "map 'cmu', unit cmu, up +y, 343 frames @ 120 fps -> 57 frames @ 20 fps" in printed
    result = check_folder(out)
    assert result.ok, result.problems
    assert read_split_ids(out, "train") == ["02_01"] and read_split_ids(out, "val") == []
    features = np.load(out / "new_joint_vecs" / "02_01.npy")
    joints = np.load(out / "new_joints" / "02_01.npy")
    assert features.shape == (57, FEATURE_DIM) and joints.shape == (57, 22, 3)
    captions, bad = read_caption_file(out / "texts" / "02_01.txt")
    assert [c.text for c in captions] == ["a person walks forward"] and not bad
    assert (out / "Mean.npy").is_file() and (out / "Std.npy").is_file()

    # The written joints: constant bones, on the floor, upright, a walking speed.
    assert np.ptp(_bones(joints), axis=0).max() <= 1e-3
    assert joints[..., 1].min() == pytest.approx(0.0, abs=1e-6)
    assert joints[:, FEET, 1].min(axis=1).max() < 0.04
    head = np.percentile(joints[:, 15, 1], 90)
    assert 1.4 <= head <= 2.0
    speed = np.linalg.norm(joints[-1, 0, [0, 2]] - joints[0, 0, [0, 2]]) * 20 / (len(joints) - 1)
    assert 0.5 <= speed <= 2.5
    # Feet are in contact for a good part of a walk (HumanML3D contact flags).
    assert 0.3 < features[:, -4:].mean() < 0.9


def test_exported_bvh_imports_back_to_the_same_joints(shared_data, tmp_path):
    """Export -> import through files: the 22 joints come back within 1 mm (up to the floor shift)."""
    joints = np.load(shared_data / "humanml3d" / "new_joints" / "012314.npy")
    path = tmp_path / "clip.bvh"
    for unit_scale in (1.0, 100.0):
        write_bvh(path, bvh_from_joints(joints, scale=unit_scale))
        motion = retarget_bvh(read_bvh(path))
        assert motion.map_name == "smpl" and motion.unit == ("m" if unit_scale == 1 else "cm")
        floor = joints[..., 1].min()
        back = motion.joints + np.array([0.0, floor, 0.0])
        assert np.linalg.norm(back - joints, axis=-1).max() < 1e-3


def test_import_of_several_files_reports_the_bad_one(cmu_path, tmp_path, capsys):
    bad = tmp_path / "broken.bvh"
    bad.write_text(cmu_path.read_text()[:5000])  # cut inside the hierarchy
    out = tmp_path / "mocap"
    code = main(["data", "import-bvh", str(cmu_path), str(bad), "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 2
    assert f"failed {bad}: {bad}:" in captured.err
    assert "placeholder caption" in captured.out
    assert read_split_ids(out, "train") == ["02_01"]  # the good file is imported


def test_import_into_a_folder_with_a_bad_train_clip_changes_nothing(cmu_path, tmp_path, capsys):
    out = tmp_path / "mocap"
    (out / "new_joint_vecs").mkdir(parents=True)
    (out / "new_joint_vecs" / "old.npy").write_bytes(b"not an array")
    (out / "train.txt").write_text("old\n")
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert main(["data", "import-bvh", str(cmu_path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "old.npy" in err and "nothing was written" in err
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_reimport_is_idempotent_and_too_short_clips_are_reported(cmu, cmu_path, tmp_path):
    out = tmp_path / "mocap"
    import_bvh_files([cmu_path], out)
    import_bvh_files([cmu_path], out)
    assert read_split_ids(out, "train") == ["02_01"]
    short = tmp_path / "short.bvh"
    clipped = copy.deepcopy(cmu)
    clipped.motion = cmu.motion[:120]  # 1 s -> 20 frames at 20 fps, under the 40-frame minimum
    short.write_text(format_bvh(clipped))
    with pytest.raises(UserError, match="shorter than the 40"):
        import_bvh_files([short], out)


def test_mirrored_rig_is_flagged(cmu, caplog):
    swap = {n: n.replace("Left", "Tmp").replace("Right", "Left").replace("Tmp", "Right") for n in cmu.names}
    swap |= {"LHipJoint": "RHipJoint", "RHipJoint": "LHipJoint"}
    with caplog.at_level("WARNING", logger="motion_r1_verl.motion.sources.retarget"):
        assert retarget_bvh(_renamed(cmu, swap)).mirrored
    assert "mirrored" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="motion_r1_verl.motion.sources.retarget"):
        assert not retarget_bvh(cmu).mirrored
    assert "mirrored" not in caplog.text


MIXAMO = {
    "pelvis": "mixamorig:Hips",
    "spine1": "mixamorig:Spine",
    "spine2": "mixamorig:Spine1",
    "spine3": "mixamorig:Spine2",
    "neck": "mixamorig:Neck",
    "head": "mixamorig:Head",
}
for _side in ("Left", "Right"):
    _ours = _side.lower() + "_"
    MIXAMO |= {
        _ours + "collar": f"mixamorig:{_side}Shoulder",
        _ours + "shoulder": f"mixamorig:{_side}Arm",
        _ours + "elbow": f"mixamorig:{_side}ForeArm",
        _ours + "wrist": f"mixamorig:{_side}Hand",
        _ours + "hip": f"mixamorig:{_side}UpLeg",
        _ours + "knee": f"mixamorig:{_side}Leg",
        _ours + "ankle": f"mixamorig:{_side}Foot",
        _ours + "foot": f"mixamorig:{_side}ToeBase",
    }
SMPL = {n: n.replace("left_", "L_").replace("right_", "R_").title() for n in JOINT_NAMES}  # Pelvis, L_Hip, ...


@pytest.mark.parametrize(
    ("names", "map_name", "scale", "unit"),
    [(MIXAMO, "mixamo", 100.0, "cm"), (SMPL, "smpl", 1.0, "m"), ({n: n for n in JOINT_NAMES}, "smpl", 39.37, "inch")],
)
def test_builtin_rigs_from_other_tools(shared_data, tmp_path, names, map_name, scale, unit):
    """Our export renamed the way Mixamo / SMPL converters name joints, in their units, imports to the same."""
    joints = np.load(shared_data / "humanml3d" / "new_joints" / "012314.npy")
    path = tmp_path / "rig.bvh"
    write_bvh(path, bvh_from_joints(joints, scale=scale, names=tuple(names[n] for n in JOINT_NAMES)))
    motion = retarget_bvh(read_bvh(path))
    assert (motion.map_name, motion.unit) == (map_name, unit)
    back = motion.joints + np.array([0.0, joints[..., 1].min(), 0.0])
    assert np.linalg.norm(back - joints, axis=-1).max() < 1e-3
