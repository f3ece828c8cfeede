"""FK/IK of the HumanML3D skeleton and the quaternion helpers under it."""

import numpy as np
import pytest

from motion_r1_verl.errors import UserError
from motion_r1_verl.motion.core.kinematics import (
    ROTATION_PARENTS,
    bone_lengths,
    facing_directions,
    forward_kinematics,
    global_rotations,
    inverse_kinematics,
    local_rotations,
)
from motion_r1_verl.motion.core.rotations import (
    cont6d_to_matrix,
    cont6d_to_quat,
    matrix_to_quat,
    qbetween,
    qmul,
    qrot,
    quat_to_cont6d,
    quat_to_matrix,
)
from motion_r1_verl.motion.core.skeleton import PARENTS, REFERENCE_BONE_LENGTHS, reference_offsets


def random_quats(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    q = rng.normal(size=shape + (4,))
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def yaw(angle: float) -> np.ndarray:
    """Quaternion turning by ``angle`` radians about +Y."""
    return np.array([np.cos(angle / 2), 0.0, np.sin(angle / 2), 0.0])


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def test_rotation_parents_restart_collar_chains_at_the_root():
    # HumanML3D's FK starts every chain from the root's rotation: the collars hang off spine3 (joint 9)
    # in position but take their rotation from the pelvis.
    assert ROTATION_PARENTS[13] == ROTATION_PARENTS[14] == 0
    assert PARENTS[13] == PARENTS[14] == 9
    assert [j for j in range(1, 22) if ROTATION_PARENTS[j] != PARENTS[j]] == [13, 14]


def test_identity_rotations_give_the_rest_pose():
    rest = forward_kinematics(np.tile([1.0, 0, 0, 0], (22, 1)), np.zeros(3))
    offsets = reference_offsets()
    for j in range(1, 22):
        np.testing.assert_allclose(rest[j] - rest[PARENTS[j]], offsets[j], atol=1e-7)
    # Legs hang down, arms point down, the head is above the pelvis.
    assert rest[10, 1] < rest[4, 1] < 0 < rest[15, 1]


def test_fk_of_ik_reproduces_random_poses(rng):
    rotations = random_quats(rng, (5, 7, 22))
    root = rng.normal(size=(5, 7, 3))
    joints = forward_kinematics(rotations, root)
    again = forward_kinematics(inverse_kinematics(joints), joints[..., 0, :])
    np.testing.assert_allclose(again, joints, atol=1e-6)
    # Same skeleton every frame.
    np.testing.assert_allclose(bone_lengths(joints), np.broadcast_to(REFERENCE_BONE_LENGTHS, (5, 7, 22)), atol=1e-6)


def test_fk_of_ik_reproduces_the_real_clip(shared_data):
    joints = np.load(shared_data / "humanml3d" / "new_joints" / "012314.npy")
    again = forward_kinematics(inverse_kinematics(joints), joints[:, 0])
    err = np.abs(again - joints).max()
    print(f"real clip FK(IK) max abs error: {err:.2e} m")
    # The clip's bones match REFERENCE_BONE_LENGTHS to their 5 rounded decimals, hence ~1e-5 not 1e-7.
    assert err < 1e-4


def test_fk_with_custom_offsets_changes_bone_lengths(rng):
    rotations = random_quats(rng, (4, 22))
    offsets = reference_offsets() * 1.3
    joints = forward_kinematics(rotations, np.zeros((4, 3)), offsets)
    np.testing.assert_allclose(
        bone_lengths(joints)[:, 1:], np.tile(REFERENCE_BONE_LENGTHS[1:] * 1.3, (4, 1)), rtol=1e-6
    )


def test_ik_root_is_the_facing_rotation(rng):
    # A pose turned by theta about y faces theta away from +Z; its IK root rotation turns it back.
    rest = forward_kinematics(np.tile([1.0, 0, 0, 0], (22, 1)), np.zeros(3))
    for theta in (0.0, 0.7, -2.0, np.pi):
        turned = qrot(np.broadcast_to(yaw(theta), (22, 4)), rest)
        forward = facing_directions(turned)
        np.testing.assert_allclose(forward, [np.sin(theta), 0.0, np.cos(theta)], atol=1e-7)
        root = inverse_kinematics(turned)[0]
        np.testing.assert_allclose(qrot(root, forward), [0.0, 0.0, 1.0], atol=1e-7)
        assert np.isfinite(root).all()


def test_ik_accepts_given_root_rotations(rng):
    joints = forward_kinematics(random_quats(rng, (6, 22)), rng.normal(size=(6, 3)))
    root = random_quats(rng, (6,))
    local = inverse_kinematics(joints, root_rotations=root)
    np.testing.assert_allclose(local[:, 0], root, atol=1e-12)
    np.testing.assert_allclose(forward_kinematics(local, joints[:, 0]), joints, atol=1e-6)


def test_global_and_local_rotations_are_inverse(rng):
    local = random_quats(rng, (3, 22))
    back = local_rotations(global_rotations(local))
    # q and -q are the same rotation; compare up to sign.
    sign = np.sign((back * local).sum(-1, keepdims=True))
    np.testing.assert_allclose(back * sign, local, atol=1e-12)


def test_batch_equals_one_at_a_time(rng):
    rotations = random_quats(rng, (4, 22))
    root = rng.normal(size=(4, 3))
    joints = forward_kinematics(rotations, root)
    for i in range(4):
        np.testing.assert_allclose(forward_kinematics(rotations[i], root[i]), joints[i], atol=1e-12)
        np.testing.assert_allclose(inverse_kinematics(joints[i]), inverse_kinematics(joints)[i], atol=1e-12)


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda: inverse_kinematics(np.zeros((10, 21, 3))), r"\(\.\.\., 22, 3\)"),
        (lambda: inverse_kinematics(np.zeros(3)), r"\(\.\.\., 22, 3\)"),
        (lambda: forward_kinematics(np.zeros((10, 22, 3)), np.zeros((10, 3))), r"\(\.\.\., 22, 4\)"),
        (lambda: forward_kinematics(np.ones((10, 22, 4)), np.zeros((9, 3))), r"\(10, 3\)"),
        (lambda: forward_kinematics(np.ones((22, 4)), np.zeros(3), np.zeros((21, 3))), r"\(22, 3\)"),
        (lambda: inverse_kinematics(np.zeros((5, 22, 3)), root_rotations=np.ones((4, 4))), r"\(5, 4\)"),
    ],
)
def test_bad_shapes_name_the_expected_shape(call, expected):
    with pytest.raises(UserError, match=expected):
        call()


def test_nan_is_rejected(rng):
    joints = forward_kinematics(random_quats(rng, (3, 22)), np.zeros((3, 3)))
    joints[1, 5, 2] = np.nan
    with pytest.raises(UserError, match="NaN"):
        inverse_kinematics(joints)
    rotations = random_quats(rng, (3, 22))
    rotations[0, 0, 0] = np.inf
    with pytest.raises(UserError, match="NaN or inf"):
        forward_kinematics(rotations, np.zeros((3, 3)))


# --------------------------------------------------------------------------------- rotation helpers
def test_qrot_matches_the_rotation_matrix(rng):
    q = random_quats(rng, (50,))
    v = rng.normal(size=(50, 3))
    np.testing.assert_allclose(qrot(q, v), np.einsum("nij,nj->ni", quat_to_matrix(q), v), atol=1e-12)
    # q*r applies r first.
    r = random_quats(rng, (50,))
    np.testing.assert_allclose(qrot(qmul(q, r), v), qrot(q, qrot(r, v)), atol=1e-12)


def test_matrix_and_cont6d_round_trips(rng):
    q = random_quats(rng, (200,))
    q[:4] = [[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [1, 0, 0, 0]]  # 180-degree turns: Shepperd's branches
    q = np.where(q[:, :1] < 0, -q, q)
    np.testing.assert_allclose(matrix_to_quat(quat_to_matrix(q)), q, atol=1e-12)
    d6 = quat_to_cont6d(q)
    np.testing.assert_allclose(d6, np.concatenate((quat_to_matrix(q)[..., 0], quat_to_matrix(q)[..., 1]), -1))
    np.testing.assert_allclose(cont6d_to_matrix(d6), quat_to_matrix(q), atol=1e-12)
    np.testing.assert_allclose(cont6d_to_quat(d6), q, atol=1e-12)


def test_qbetween_handles_opposite_and_zero_vectors(rng):
    u = rng.normal(size=(30, 3))
    v = rng.normal(size=(30, 3))
    q = qbetween(u, v)
    np.testing.assert_allclose(
        qrot(q, u / np.linalg.norm(u, axis=-1, keepdims=True)),
        v / np.linalg.norm(v, axis=-1, keepdims=True),
        atol=1e-12,
    )
    # Opposite: a real 180-degree turn (about y for a horizontal vector), not NaN.
    q = qbetween(
        np.array([[0.0, 0, -1], [1.0, 0, 0], [0.0, 2.0, 0]]), np.array([[0.0, 0, 1], [-1.0, 0, 0], [0, -1.0, 0]])
    )
    np.testing.assert_allclose(
        qrot(q, [[0.0, 0, -1], [1.0, 0, 0], [0, 1.0, 0]]), [[0, 0, 1], [-1, 0, 0], [0, -1, 0]], atol=1e-12
    )
    np.testing.assert_allclose(np.abs(q[0]), [0, 0, 1, 0], atol=1e-12)
    np.testing.assert_allclose(qbetween(np.zeros(3), np.array([1.0, 0, 0])), [1, 0, 0, 0])
