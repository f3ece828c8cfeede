"""Vectorised quaternion and 6-D rotation helpers (numpy), in HumanML3D's conventions.

Quaternions are ``(..., 4)`` arrays ``(w, x, y, z)``; every function broadcasts over the leading
dims, so a whole batch of clips x frames x joints is one call (no Python loop over frames).
The 6-D ("continuous") rotation of Zhou et al. 2019 is HumanML3D's: the first two COLUMNS of the
rotation matrix, ``[m00, m10, m20, m01, m11, m21]``.

Differences from HumanML3D's ``common/quaternion.py`` (on purpose): everything stays in the input's
float precision instead of round-tripping through float32 torch, and ``qbetween`` of two opposite
vectors returns a 180-degree turn instead of NaN.
"""

import numpy as np

# Below this |u||v| a direction is treated as undefined (a zero-length bone) and qbetween returns
# the identity rather than dividing by zero.
_ZERO_LENGTH = 1e-12
# w/(|u||v|) below this means u and v are (numerically) opposite: the rotation axis is undefined.
_OPPOSITE = 1e-9


def cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a x b`` over the last dim (3); several times faster than ``np.cross`` on big batches."""
    a, b = np.asarray(a), np.asarray(b)
    ax, ay, az = a[..., 0], a[..., 1], a[..., 2]
    bx, by, bz = b[..., 0], b[..., 1], b[..., 2]
    return np.stack((ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx), axis=-1)


def qmul(q: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Hamilton product ``q * r`` (apply r first, then q)."""
    qw, qx, qy, qz = np.moveaxis(q, -1, 0)
    rw, rx, ry, rz = np.moveaxis(r, -1, 0)
    return np.stack(
        (
            qw * rw - qx * rx - qy * ry - qz * rz,
            qw * rx + qx * rw + qy * rz - qz * ry,
            qw * ry - qx * rz + qy * rw + qz * rx,
            qw * rz + qx * ry - qy * rx + qz * rw,
        ),
        axis=-1,
    )


def qinv(q: np.ndarray) -> np.ndarray:
    """Inverse of a unit quaternion (its conjugate)."""
    return q * np.array([1.0, -1.0, -1.0, -1.0], dtype=q.dtype)


def qrot(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors ``v (..., 3)`` by unit quaternions ``q (..., 4)`` (shapes broadcast)."""
    w = q[..., :1]
    u = q[..., 1:]
    uv = cross(u, v)
    return v + 2.0 * (w * uv + cross(u, uv))


def qnormalize(q: np.ndarray) -> np.ndarray:
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def qbetween(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Shortest-arc unit quaternion rotating direction ``u`` onto direction ``v`` (``(..., 3)`` each).

    Same formula as HumanML3D (``w = |u||v| + u.v``, axis ``u x v``), so ``w >= 0``. Opposite
    vectors get a 180-degree turn about an axis perpendicular to ``u`` (about y when ``u`` is
    horizontal); a zero vector gets the identity.
    """
    u, v = np.broadcast_arrays(u, v)
    norms = np.sqrt((u * u).sum(-1) * (v * v).sum(-1))
    q = np.concatenate(((norms + (u * v).sum(-1))[..., None], cross(u, v)), axis=-1)
    opposite = q[..., 0] <= _OPPOSITE * norms
    zero = norms < _ZERO_LENGTH
    if opposite.any():
        uo = u[opposite]
        # Perpendicular axis: u x e_x unless u is close to the x axis, then u x e_y.
        helper = np.where(
            (np.abs(uo[:, 0]) < 0.9 * np.linalg.norm(uo, axis=-1))[:, None], [[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]]
        )
        axis = cross(uo, helper)
        q[opposite] = np.concatenate((np.zeros((len(uo), 1)), axis), axis=-1)
    if zero.any():
        q[zero] = (1.0, 0.0, 0.0, 0.0)
    return qnormalize(q)


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    """``(..., 4)`` unit quaternions -> ``(..., 3, 3)`` rotation matrices (``M @ v == qrot(q, v)``)."""
    w, x, y, z = np.moveaxis(q, -1, 0)
    two_s = 2.0 / (q * q).sum(-1)
    m = np.stack(
        (
            1 - two_s * (y * y + z * z),
            two_s * (x * y - z * w),
            two_s * (x * z + y * w),
            two_s * (x * y + z * w),
            1 - two_s * (x * x + z * z),
            two_s * (y * z - x * w),
            two_s * (x * z - y * w),
            two_s * (y * z + x * w),
            1 - two_s * (x * x + y * y),
        ),
        axis=-1,
    )
    return m.reshape(q.shape[:-1] + (3, 3))


def matrix_to_quat(m: np.ndarray) -> np.ndarray:
    """``(..., 3, 3)`` rotation matrices -> ``(..., 4)`` unit quaternions with ``w >= 0``.

    Picks, per matrix, the largest of the four ``4*q_i^2`` terms to divide by (Shepperd's method),
    so it is stable for every rotation including 180-degree turns.
    """
    m00, m01, m02 = m[..., 0, 0], m[..., 0, 1], m[..., 0, 2]
    m10, m11, m12 = m[..., 1, 0], m[..., 1, 1], m[..., 1, 2]
    m20, m21, m22 = m[..., 2, 0], m[..., 2, 1], m[..., 2, 2]
    # Row k: the quaternion scaled by 4*q_k (w, x, y, z candidates).
    candidates = np.stack(
        (
            np.stack((1 + m00 + m11 + m22, m21 - m12, m02 - m20, m10 - m01), -1),
            np.stack((m21 - m12, 1 + m00 - m11 - m22, m01 + m10, m02 + m20), -1),
            np.stack((m02 - m20, m01 + m10, 1 - m00 + m11 - m22, m12 + m21), -1),
            np.stack((m10 - m01, m02 + m20, m12 + m21, 1 - m00 - m11 + m22), -1),
        ),
        axis=-2,
    )
    diag = np.stack((1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22), -1)
    best = np.argmax(diag, axis=-1)
    q = np.take_along_axis(candidates, best[..., None, None], axis=-2)[..., 0, :]
    q = qnormalize(q)
    return np.where(q[..., :1] < 0, -q, q)


def quat_to_cont6d(q: np.ndarray) -> np.ndarray:
    """``(..., 4)`` -> ``(..., 6)``: columns 0 and 1 of ``quat_to_matrix(q)``, ``[m00, m10, m20, m01, m11, m21]``."""
    w, x, y, z = np.moveaxis(q, -1, 0)
    two_s = 2.0 / (q * q).sum(-1)
    return np.stack(
        (
            1 - two_s * (y * y + z * z),
            two_s * (x * y + z * w),
            two_s * (x * z - y * w),
            two_s * (x * y - z * w),
            1 - two_s * (x * x + z * z),
            two_s * (y * z + x * w),
        ),
        axis=-1,
    )


def cont6d_to_matrix(d6: np.ndarray) -> np.ndarray:
    """``(..., 6)`` -> ``(..., 3, 3)`` by Gram-Schmidt, exactly as HumanML3D (x, then z = x cross y, then y)."""
    x = d6[..., 0:3] / np.linalg.norm(d6[..., 0:3], axis=-1, keepdims=True)
    z = cross(x, d6[..., 3:6])
    z = z / np.linalg.norm(z, axis=-1, keepdims=True)
    y = cross(z, x)
    return np.stack((x, y, z), axis=-1)


def cont6d_to_quat(d6: np.ndarray) -> np.ndarray:
    return matrix_to_quat(cont6d_to_matrix(d6))
