"""Each primitive alone, posed on the skeleton: exact bones, rests at both ends, and the body part
named by the action does the named thing (the arm that waves is the one the plan says, etc.)."""

import numpy as np
import pytest

from motion_r1_verl.motion.core.kinematics import bone_lengths
from motion_r1_verl.motion.core.skeleton import REFERENCE_BONE_LENGTHS
from motion_r1_verl.motion.sources.synth.compose import ACTIONS, _build, _smooth
from motion_r1_verl.motion.sources.synth.primitives import Body, Ctx, Step
from motion_r1_verl.motion.sources.synth.rig import limit_pelvis_height, pose
from motion_r1_verl.motion.sources.synth.skate import foot_skate

PELVIS, L_ANKLE, R_ANKLE, HEAD, L_SHOULDER, R_SHOULDER, L_WRIST, R_WRIST = 0, 7, 8, 15, 16, 17, 20, 21
FEET = [7, 8, 10, 11]


def perform(step: Step, seed: int = 0) -> np.ndarray:
    """World joints (T, 22, 3) of one step, starting at the origin facing +z (x = the body's left)."""
    rng = np.random.default_rng(seed)
    ctx = Ctx(rng, Body.sample(rng))
    track, _, _, _ = _build(ctx, [step], [False])
    _smooth(track)
    limit_pelvis_height(track)
    return pose(track)[0]


def _yaw(joints: np.ndarray) -> np.ndarray:
    across = joints[:, 1] - joints[:, 2]
    # forward = up x across: (0,1,0) x (ax, ay, az) = (az, 0, -ax); yaw = atan2(fx, fz)
    return np.unwrap(np.arctan2(across[:, 2], -across[:, 0]))


SAMPLE_STEPS = {
    "walk": Step("walk", direction="forward", count=4, speed="normal"),
    "run": Step("run", direction="forward", count=5, speed="fast"),
    "turn": Step("turn", direction="left", angle=90),
    "jump": Step("jump", direction="in_place", count=1),
    "squat": Step("squat", count=1),
    "sit_down": Step("sit_down"),
    "stand_up": Step("stand_up"),
    "wave": Step("wave", side="right", count=3),
    "raise_arm": Step("raise_arm", side="both"),
    "kick": Step("kick", side="left"),
    "punch": Step("punch", side="right", count=2),
    "bow": Step("bow"),
    "spin": Step("spin", direction="right", angle=360),
    "clap": Step("clap", count=3),
    "stand": Step("stand"),
}


@pytest.mark.parametrize("action", ACTIONS)
def test_every_primitive_is_clean(action):
    assert set(SAMPLE_STEPS) == set(ACTIONS)
    joints = perform(SAMPLE_STEPS[action])
    assert np.isfinite(joints).all()
    lengths = bone_lengths(joints)
    np.testing.assert_allclose(lengths, np.broadcast_to(REFERENCE_BONE_LENGTHS, lengths.shape), atol=1e-5)
    speed = np.linalg.norm(np.diff(joints, axis=0), axis=-1).max(axis=1)  # fastest joint, m/frame
    assert speed[0] < 0.01 and speed[-1] < 0.01  # at rest at both ends: segments chain smoothly
    assert speed.max() < 0.5  # nothing teleports (a sprinting foot peaks near 10 m/s = 0.5 m/frame)
    for end in (0, -1):
        assert abs(joints[end, FEET, 1].min() - 0.01) < 0.005  # standing or seated: toes on the floor
    assert foot_skate(joints) < 1.0


@pytest.mark.parametrize(
    "step, axis, low, high",
    [
        (Step("walk", direction="forward", count=4, speed="normal"), 2, 1.8, 2.8),
        (Step("walk", direction="backward", count=3, speed="slow"), 2, -1.2, -0.6),
        (Step("walk", direction="left", count=2, speed="normal"), 0, 0.45, 0.85),
        (Step("walk", direction="right", count=2, speed="fast"), 0, -0.85, -0.45),
        (Step("run", direction="forward", count=6, speed="normal"), 2, 3.0, 5.5),
        (Step("jump", direction="forward", count=1), 2, 0.35, 0.85),
        (Step("jump", direction="in_place", count=2), 2, -0.05, 0.05),
    ],
)
def test_locomotion_goes_where_the_plan_says(step, axis, low, high):
    joints = perform(step)
    moved = joints[-1, PELVIS] - joints[0, PELVIS]
    assert low < moved[axis] < high, moved
    assert abs(moved[2 - axis]) < 0.1  # and not sideways


@pytest.mark.parametrize(
    "step, degrees",
    [
        (Step("turn", direction="left", angle=45), 45),
        (Step("turn", direction="left", angle=90), 90),
        (Step("turn", direction="right", angle=135), -135),
        (Step("turn", direction="right", angle=180), -180),
        (Step("spin", direction="left", angle=360), 360),
        (Step("spin", direction="right", angle=720), -720),
    ],
)
def test_turns_and_spins_by_the_angle(step, degrees):
    joints = perform(step)
    yaw = _yaw(joints)
    assert np.degrees(yaw[-1] - yaw[0]) == pytest.approx(degrees, abs=6)
    assert np.linalg.norm((joints[-1, PELVIS] - joints[0, PELVIS])[[0, 2]]) < 0.1  # in place


def test_jump_leaves_the_floor():
    joints = perform(Step("jump", direction="in_place", count=1))
    lowest_foot = joints[:, FEET, 1].min(axis=1)
    assert lowest_foot.max() > 0.08


@pytest.mark.parametrize("side, up, down", [("left", L_WRIST, R_WRIST), ("right", R_WRIST, L_WRIST)])
def test_wave_uses_the_named_hand(side, up, down):
    joints = perform(Step("wave", side=side, count=3))
    shoulder = joints[:, L_SHOULDER if up == L_WRIST else R_SHOULDER, 1]
    assert (joints[:, up, 1] - shoulder).max() > 0.15
    assert (joints[:, down, 1] - joints[:, down - 4, 1]).max() < 0.05  # the other wrist stays below its shoulder
    # The waving wrist sways sideways at least count times.
    lateral = joints[:, up, 0] - joints[:, HEAD, 0]
    raised = joints[:, up, 1] > shoulder + 0.1
    turns = np.diff(np.sign(np.diff(lateral[raised])))
    assert (turns != 0).sum() >= 3


@pytest.mark.parametrize("side, expect", [("left", (True, False)), ("right", (False, True)), ("both", (True, True))])
def test_raise_arm_raises_the_named_arms(side, expect):
    joints = perform(Step("raise_arm", side=side))
    above_head = [(joints[:, w, 1] > joints[:, HEAD, 1]).any() for w in (L_WRIST, R_WRIST)]
    assert tuple(above_head) == expect


@pytest.mark.parametrize("side, kicking, standing", [("left", L_ANKLE, R_ANKLE), ("right", R_ANKLE, L_ANKLE)])
def test_kick_lifts_the_named_leg_and_plants_the_other(side, kicking, standing):
    joints = perform(Step("kick", side=side))
    assert joints[:, kicking, 1].max() > 0.3
    assert joints[:, kicking, 2].max() > 0.4  # forward
    assert np.ptp(joints[:, standing], axis=0).max() < 1e-6  # the standing foot does not move at all


@pytest.mark.parametrize("side, hitting, guarding", [("left", L_WRIST, R_WRIST), ("right", R_WRIST, L_WRIST)])
def test_punch_extends_the_named_arm(side, hitting, guarding):
    joints = perform(Step("punch", side=side, count=2))
    reach = joints[:, :, 2] - joints[:, PELVIS, 2][:, None]  # forward of the pelvis
    assert reach[:, hitting].max() > 0.5
    assert reach[:, guarding].max() < 0.4


def test_clap_brings_the_hands_together_count_times():
    joints = perform(Step("clap", count=4))
    gap = np.linalg.norm(joints[:, L_WRIST] - joints[:, R_WRIST], axis=-1)
    assert gap.min() < 0.08
    closings = (gap[1:-1] < gap[:-2]) & (gap[1:-1] <= gap[2:]) & (gap[1:-1] < 0.12)  # local minima
    assert closings.sum() == 4


def test_squat_sit_stand_and_bow_move_the_body():
    squat = perform(Step("squat", count=1))
    assert squat[:, PELVIS, 1].min() < squat[0, PELVIS, 1] - 0.25
    sit = perform(Step("sit_down"))
    assert sit[-1, PELVIS, 1] < 0.62 and sit[-1, PELVIS, 2] < sit[-1, L_ANKLE, 2] - 0.3  # seated behind the feet
    stand = perform(Step("stand_up"))
    assert stand[0, PELVIS, 1] < 0.62 and stand[-1, PELVIS, 1] > 0.88
    bow = perform(Step("bow"))
    assert (bow[:, HEAD, 2] - bow[0, HEAD, 2]).max() > 0.2
    assert (bow[0, HEAD, 1] - bow[:, HEAD, 1]).max() > 0.1
    still = perform(Step("stand"))
    assert np.abs(still[:, PELVIS] - still[0, PELVIS]).max() < 0.05


def test_rig_positions_equal_forward_kinematics_of_its_rotations():
    from motion_r1_verl.motion.core.kinematics import forward_kinematics
    from motion_r1_verl.motion.sources.synth.rig import bone_directions

    rng = np.random.default_rng(3)
    ctx = Ctx(rng, Body.sample(rng))
    track, _, _, _ = _build(ctx, [Step("wave", side="left", count=2)], [False])
    joints, local = pose(track)
    np.testing.assert_allclose(forward_kinematics(local, track.root), joints, atol=1e-9)
    assert bone_directions(track).shape == joints.shape


def test_short_plans_are_not_piled_on_the_minimum_length():
    """Real HumanML3D has 0.4 % of its clips at 40-43 frames; padding every short plan to exactly MIN_FRAMES
    put 9 % of the synthetic clips there. Short plans now end anywhere in SHORT_CLIP_FRAMES."""
    from motion_r1_verl.motion.core.constants import MIN_FRAMES
    from motion_r1_verl.motion.sources.synth.compose import SHORT_CLIP_FRAMES, compose

    lengths = [compose(np.random.default_rng([5, i]), heldout=False).n_frames for i in range(200)]
    assert min(lengths) >= MIN_FRAMES
    assert np.mean([n < MIN_FRAMES + 4 for n in lengths]) < 0.02
    assert min(lengths) >= SHORT_CLIP_FRAMES[0] - 1
