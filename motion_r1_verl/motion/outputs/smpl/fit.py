"""Fit SMPL body parameters to HumanML3D joints and save them AMASS-style.

What: ``fit_smpl(joints (T,22,3), model)`` returns ``SmplParams`` (axis-angle ``poses (T,72)``,
``trans (T,3)``, ``betas``) whose SMPL joints match the 22 targets; ``SmplParams.save/load`` write and read
an AMASS-style ``.npz`` (``poses``, ``trans``, ``betas``, ``gender``, ``mocap_framerate``);
``smpl_joints``/``smpl_vertices`` evaluate parameters with smplx's own forward pass.

How: with ``fit_shape``, first pick betas whose rest skeleton has the clip's bone lengths (pose-free, a
10-variable least squares); then start from the analytic pose of ``init_pose.py`` (exact when the bone
lengths match) and run L-BFGS on

* joint positions: squared distance to the 22 targets (cm^2, summed over joints, averaged over frames);
* temporal smoothness: squared change of every joint's rotation matrix between frames (settles the
  twists and leaf joints the joints cannot see, without pulling positions);
* joint limits + pose prior: knees and elbows may not bend backwards (hinge penalties on the signs a
  SMPLify-style angle prior uses) and a weak pull of the body pose towards rest;
* foot-floor contact: in frames where a target foot rests on the floor (slow and low), the fitted foot
  may neither slide nor sink below the floor;
* with ``fit_shape``: a weak pull of ``betas`` towards the mean shape.

Only the 24 joints enter the loss, so the optimisation evaluates smplx's skeleton functions
(``vertices2joints``, ``batch_rodrigues``, ``batch_rigid_transform``: the joint half of ``smplx.lbs``)
and skips the 6890 skinned vertices; ``smpl_joints`` runs the full ``smplx.SMPL`` forward, and the tests
check both agree.

Usage::

    model = build_smpl("models/")             # model_files.py
    params, report = fit_smpl(joints, model)  # joints (T,22,3) metres, y up, 20 fps
    params.save("clip_smpl.npz")
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from motion_r1_verl.errors import UserError
from motion_r1_verl.motion.core.constants import FPS, N_JOINTS
from motion_r1_verl.motion.core.skeleton import LEFT_FOOT, RIGHT_FOOT
from motion_r1_verl.motion.outputs.smpl.init_pose import analytic_pose
from motion_r1_verl.motion.outputs.smpl.model_files import GENDERS, N_SMPL_JOINTS
from motion_r1_verl.runtime.device import pick_device
from motion_r1_verl.runtime.files import atomic_write

logger = logging.getLogger(__name__)

FOOT_JOINTS = (*LEFT_FOOT, *RIGHT_FOOT)  # ankles and toes
CONTACT_HEIGHT = 0.05  # metres above the lowest foot joint of the clip that still counts as on the floor
CONTACT_SPEED = 0.01  # metres per frame (0.2 m/s at 20 fps) below which a low foot counts as planted
# Angle-prior sign per (joint, axis): +1 = positive angles bend the wrong way. Knees flex about +x and
# elbows about -y (left) / +y (right) in SMPL's rest frame (see init_pose.HINGE_AXES).
JOINT_LIMITS = ((4, 0, -1.0), (5, 0, -1.0), (18, 1, 1.0), (19, 1, -1.0))
CM = 100.0  # losses are in centimetres so their scale suits L-BFGS tolerances


@dataclass
class FitConfig:
    """Weights and schedule of the SMPL fit (loss terms as in the module doc)."""

    iters: int = 30  # L-BFGS iterations (each with a strong-Wolfe line search)
    fit_shape: bool = False  # also optimise the body shape betas (shared by all frames)
    w_joints: float = 1.0  # joint-position term (cm^2)
    w_smooth: float = 1.0  # rotation-matrix change between frames
    w_limits: float = 100.0  # hinge joints bending backwards (rad^2)
    w_pose: float = 0.01  # pull of the body pose towards rest (rad^2)
    w_contact: float = 1.0  # planted feet sliding or sinking (cm^2)
    w_betas: float = 0.01  # pull of betas towards the mean shape
    device: str | None = None  # torch device; None = cuda when available, else cpu
    progress: bool = True  # tqdm bar over iterations

    def __post_init__(self) -> None:
        if self.iters < 0:
            raise UserError(f"iters must be >= 0, got {self.iters}")
        for name in ("w_joints", "w_smooth", "w_limits", "w_pose", "w_contact", "w_betas"):
            if getattr(self, name) < 0:
                raise UserError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.w_joints == 0:
            raise UserError("w_joints must be > 0: without it nothing ties the body to the motion")


@dataclass
class SmplParams:
    """SMPL parameters of one motion, AMASS layout (axis-angle, root orientation first).

    ``up_axis`` "y" is this project's frame (HumanML3D: y up, z forward); "z" is AMASS's world frame.
    """

    poses: np.ndarray  # (T, 72) axis-angle: global orientation (3) + 23 body joints (69)
    trans: np.ndarray  # (T, 3) metres, added after posing (pelvis = rest pelvis(betas) + trans)
    betas: np.ndarray  # (B,) shape coefficients
    gender: str = "neutral"
    fps: float = float(FPS)
    up_axis: str = "y"
    extra: dict = field(default_factory=dict)  # saved alongside (e.g. the fitted joints, fit errors)

    def __post_init__(self) -> None:
        self.poses = np.asarray(self.poses, dtype=np.float32)
        self.trans = np.asarray(self.trans, dtype=np.float32)
        self.betas = np.asarray(self.betas, dtype=np.float32).reshape(-1)
        if self.poses.ndim != 2 or self.poses.shape[1] not in (72, 156):
            raise UserError(f"poses: expected shape (T, 72) or (T, 156), got {self.poses.shape}")
        if self.trans.shape != (len(self.poses), 3):
            raise UserError(f"trans: expected shape ({len(self.poses)}, 3), got {self.trans.shape}")
        if self.gender not in GENDERS:
            raise UserError(f"gender {self.gender!r}: expected one of {', '.join(GENDERS)}")
        if self.up_axis not in ("y", "z"):
            raise UserError(f"up_axis {self.up_axis!r}: expected 'y' or 'z'")

    def __len__(self) -> int:
        return len(self.poses)

    def save(self, path: str | os.PathLike) -> Path:
        """Write an AMASS-style ``.npz`` atomically."""
        arrays = {
            "poses": self.poses,
            "trans": self.trans,
            "betas": self.betas,
            "gender": np.array(self.gender),
            "mocap_framerate": np.array(self.fps),
            "surface_model_type": np.array("smpl"),
            "up_axis": np.array(self.up_axis),
            **{k: np.asarray(v) for k, v in self.extra.items()},
        }

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as handle:  # a handle: np.savez appends .npz to a name without it
                np.savez(handle, **arrays)

        return atomic_write(path, write)

    @classmethod
    def load(cls, path: str | os.PathLike) -> SmplParams:
        """Read an AMASS-style ``.npz`` (ours or AMASS's own; the latter is z-up)."""
        path = Path(path)
        if not path.is_file():
            raise UserError(f"SMPL parameter file {path} not found")
        try:
            data = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as err:
            raise UserError(f"SMPL parameter file {path} is not a readable .npz ({err})") from None
        missing = [k for k in ("poses", "trans", "betas") if k not in data.files]
        if missing:
            raise UserError(f"SMPL parameter file {path}: missing {', '.join(missing)} (expected AMASS-style keys)")
        known = {"poses", "trans", "betas", "gender", "mocap_framerate", "surface_model_type", "up_axis"}
        return cls(
            poses=data["poses"],
            trans=data["trans"],
            betas=data["betas"],
            gender=str(data["gender"]) if "gender" in data.files else "neutral",
            fps=float(data["mocap_framerate"]) if "mocap_framerate" in data.files else float(FPS),
            up_axis=str(data["up_axis"]) if "up_axis" in data.files else "z",  # AMASS files are z-up
            extra={k: data[k] for k in data.files if k not in known},
        )

    def body_poses(self) -> np.ndarray:
        """``(T, 72)``: SMPL's 24 joints (SMPL-H's hand joints are replaced by SMPL's two hand joints at rest)."""
        return (
            self.poses[:, :72]
            if self.poses.shape[1] == 72
            else np.concatenate((self.poses[:, :66], np.zeros((len(self), 6), np.float32)), axis=1)
        )


# The rotation between this project's world (HumanML3D: y up) and AMASS's (z up), as HumanML3D's
# preprocessing applies it (swap y/z, then negate x): p_y_up = M p_z_up, and M is its own inverse.
Y_UP_FROM_Z_UP = np.array([[-1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]])


def change_up_axis(params: SmplParams, up_axis: str, rest_pelvis: np.ndarray) -> SmplParams:
    """The same motion in the other world frame (rotates the root orientation and the trajectory).

    ``rest_pelvis (3,)``: the model's rest pelvis for ``params.betas`` (smplx rotates about it).
    """
    from scipy.spatial.transform import Rotation

    if up_axis == params.up_axis:
        return params
    m = Y_UP_FROM_Z_UP  # its own inverse: the same matrix converts both ways
    poses = params.poses.copy()
    root = Rotation.from_matrix(m @ Rotation.from_rotvec(poses[:, :3].astype(np.float64)).as_matrix())
    poses[:, :3] = root.as_rotvec()
    pelvis = params.trans.astype(np.float64) + rest_pelvis
    trans = pelvis @ m.T - rest_pelvis
    return SmplParams(poses, trans, params.betas, params.gender, params.fps, up_axis, dict(params.extra))


# --------------------------------------------------------------------------------------------
# Differentiable skeleton (the joint half of smplx.lbs)
# --------------------------------------------------------------------------------------------


@dataclass
class Skeleton:
    """The joint half of a SMPL model: rest joints are linear in betas (the regressor is linear in vertices).

    ``j_template (24, 3)`` = ``J_regressor @ v_template``; ``j_shapedirs (24, 3, B)`` = ``J_regressor`` applied
    to ``shapedirs``; so ``rest(betas)`` equals smplx's ``vertices2joints(J_regressor, v_shaped)`` without
    touching the 6890 vertices.
    """

    j_template: torch.Tensor
    j_shapedirs: torch.Tensor
    parents: torch.Tensor

    @classmethod
    def from_model(cls, model, dtype: torch.dtype = torch.float64) -> Skeleton:
        regressor = model.J_regressor.to(dtype)
        return cls(
            j_template=regressor @ model.v_template.to(dtype),
            j_shapedirs=torch.einsum("jv,vck->jck", regressor, model.shapedirs.to(dtype)),
            parents=model.parents,
        )

    def rest(self, betas: torch.Tensor) -> torch.Tensor:
        """Rest-pose joints ``(24, 3)`` for ``betas (B,)``."""
        return self.j_template + self.j_shapedirs @ betas

    def posed(self, poses: torch.Tensor, trans: torch.Tensor, betas: torch.Tensor) -> torch.Tensor:
        """Joints ``(T, 24, 3)`` for axis-angle ``poses (T, 72)``, ``trans (T, 3)``, ``betas (B,)`` (smplx.lbs math)."""
        from smplx.lbs import batch_rigid_transform, batch_rodrigues

        n = poses.shape[0]
        rot = batch_rodrigues(poses.reshape(-1, 3)).view(n, N_SMPL_JOINTS, 3, 3)
        joints = self.rest(betas).expand(n, -1, -1)
        posed, _ = batch_rigid_transform(rot, joints, self.parents, dtype=poses.dtype)
        return posed + trans[:, None]


def rest_pelvis(model, betas: np.ndarray) -> np.ndarray:
    """The model's rest pelvis ``(3,)`` for ``betas`` (what smplx rotates the body about)."""
    skeleton = Skeleton.from_model(model)
    betas_t = torch.as_tensor(np.asarray(betas, dtype=np.float64)[: skeleton.j_shapedirs.shape[-1]])
    return skeleton.rest(betas_t.to(skeleton.j_template.device))[0].cpu().numpy()


def _smplx_forward(model, params: SmplParams, device, chunk: int = 64):
    if params.up_axis != "y":
        params = change_up_axis(params, "y", rest_pelvis(model, params.betas))
    poses = torch.as_tensor(params.body_poses(), device=device)
    trans = torch.as_tensor(params.trans, device=device)
    betas = torch.as_tensor(params.betas[: model.num_betas], device=device)[None]
    with torch.no_grad():
        for start in range(0, len(params), chunk):
            sl = slice(start, start + chunk)
            n = poses[sl].shape[0]
            yield model(
                betas=betas.expand(n, -1),
                global_orient=poses[sl, :3],
                body_pose=poses[sl, 3:],
                transl=trans[sl],
                return_verts=True,
            )


def smpl_joints(model, params: SmplParams) -> np.ndarray:
    """The first 22 joints ``(T, 22, 3)`` (y up) of ``params`` through the full ``smplx.SMPL`` forward."""
    device = model.shapedirs.device
    return np.concatenate([o.joints[:, :N_JOINTS].cpu().numpy() for o in _smplx_forward(model, params, device)])


def smpl_vertices(model, params: SmplParams) -> np.ndarray:
    """Mesh vertices ``(T, V, 3)`` float32 (y up) of ``params`` through ``smplx.SMPL``; faces: ``model.faces``."""
    device = model.shapedirs.device
    return np.concatenate([o.vertices.cpu().numpy() for o in _smplx_forward(model, params, device)])


# --------------------------------------------------------------------------------------------
# Fit
# --------------------------------------------------------------------------------------------


@dataclass
class FitReport:
    """How well the fit reached the targets."""

    n_frames: int
    init_error_mm: float  # mean joint error of the analytic initialisation
    mean_error_mm: float  # mean joint error after the fit (22 joints, all frames)
    max_error_mm: float
    seconds: float
    device: str
    iters: int

    def summary(self) -> str:
        return (
            f"{self.n_frames} frames, mean joint error {self.mean_error_mm:.2f} mm (max {self.max_error_mm:.2f} mm; "
            f"analytic start {self.init_error_mm:.2f} mm), {self.iters} iterations on {self.device} "
            f"in {self.seconds:.1f} s ({100 * self.seconds / max(self.n_frames, 1):.1f} s per 100 frames)"
        )


def _matrix_to_rotvec(m: np.ndarray) -> np.ndarray:
    from scipy.spatial.transform import Rotation

    return Rotation.from_matrix(m.reshape(-1, 3, 3)).as_rotvec().reshape(m.shape[:-2] + (3,))


def contact_mask(targets: np.ndarray) -> np.ndarray:
    """``(T-1, 4)`` bool: foot joint (ankles, toes) planted between frames t and t+1 (slow and near the floor)."""
    feet = targets[:, list(FOOT_JOINTS)]
    floor = feet[..., 1].min()
    speed = np.linalg.norm(np.diff(feet, axis=0), axis=-1)
    low = (feet[1:, :, 1] < floor + CONTACT_HEIGHT) & (feet[:-1, :, 1] < floor + CONTACT_HEIGHT)
    return low & (speed < CONTACT_SPEED)


# Joint pairs whose distance a body shape fixes: every bone, plus the rigid pelvis and spine3 parts.
def _shape_pairs() -> list[tuple[int, int]]:
    from motion_r1_verl.motion.core.skeleton import PARENTS

    pairs = [(PARENTS[j], j) for j in range(1, N_JOINTS)]
    for group in ((0, 1, 2, 3), (9, 12, 13, 14)):
        pairs += [(a, b) for i, a in enumerate(group) for b in group[i + 1 :] if (a, b) not in pairs]
    return pairs


SHAPE_PAIRS = _shape_pairs()


def betas_from_lengths(skeleton: Skeleton, targets: torch.Tensor, w_betas: float, iters: int = 50) -> torch.Tensor:
    """Betas whose rest skeleton has the targets' bone lengths and pelvis/spine3 shapes (median over frames).

    Pose-free, so it runs before the analytic pose: the fit then starts from the right proportions.
    """
    a, b = (list(x) for x in zip(*SHAPE_PAIRS, strict=True))
    wanted = (targets[:, a] - targets[:, b]).norm(dim=-1).median(dim=0).values
    betas = torch.zeros(skeleton.j_shapedirs.shape[-1], dtype=targets.dtype, device=targets.device, requires_grad=True)
    optimizer = torch.optim.LBFGS([betas], lr=1.0, max_iter=iters, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        rest = skeleton.rest(betas)
        loss = (((rest[a] - rest[b]).norm(dim=-1) - wanted) * CM).pow(2).sum() + w_betas * betas.pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return betas.detach()


def _check_targets(joints: np.ndarray) -> np.ndarray:
    joints = np.asarray(joints)
    if joints.ndim != 3 or joints.shape[1:] != (N_JOINTS, 3):
        raise UserError(f"joints: expected shape (T, {N_JOINTS}, 3), got {joints.shape}")
    if len(joints) < 1 or not np.isfinite(joints).all():
        raise UserError("joints: empty, or NaN/inf positions")
    return joints.astype(np.float64)


class _FitLoss:
    """The fit's loss (see the module doc): joints, smoothness, joint limits, pose prior, foot contact, shape."""

    def __init__(self, skeleton, targets, targets_np, config: FitConfig, poses, trans, betas) -> None:
        device, dtype = targets.device, targets.dtype
        self.skeleton, self.targets, self.config = skeleton, targets, config
        self.poses, self.trans, self.betas = poses, trans, betas
        self.n = len(targets_np)
        self.contact = torch.as_tensor(contact_mask(targets_np), device=device)
        self.floor = float(targets_np[:, list(FOOT_JOINTS), 1].min())
        self.limit_idx = torch.tensor([3 * j + axis for j, axis, _ in JOINT_LIMITS], device=device)
        self.limit_sign = torch.tensor([s for _, _, s in JOINT_LIMITS], dtype=dtype, device=device)

    def __call__(self) -> torch.Tensor:
        from smplx.lbs import batch_rodrigues

        config, poses, n = self.config, self.poses, self.n
        fitted = self.skeleton.posed(poses, self.trans, self.betas)[:, :N_JOINTS]
        loss = config.w_joints * ((fitted - self.targets) * CM).pow(2).sum(-1).sum(-1).mean()
        if n > 1 and config.w_smooth > 0:
            rot = batch_rodrigues(poses.reshape(-1, 3)).view(n, N_SMPL_JOINTS, 9)
            loss = loss + config.w_smooth * (rot[1:] - rot[:-1]).pow(2).sum(-1).sum(-1).mean()
        if config.w_limits > 0:
            bent_back = torch.relu(poses[:, self.limit_idx] * self.limit_sign)
            loss = loss + config.w_limits * bent_back.pow(2).sum(-1).mean()
        if config.w_pose > 0:
            loss = loss + config.w_pose * poses[:, 3:].pow(2).sum(-1).mean()
        if config.w_contact > 0:
            feet = fitted[:, list(FOOT_JOINTS)] * CM
            slide = (feet[1:] - feet[:-1]).pow(2).sum(-1) * self.contact
            sink = torch.relu(self.floor * CM - feet[..., 1]).pow(2)
            loss = loss + config.w_contact * (slide.sum() + sink.sum()) / n
        if config.fit_shape and config.w_betas > 0:
            loss = loss + config.w_betas * self.betas.pow(2).sum()
        return loss


def _minimise(variables: list[torch.Tensor], loss_fn, config: FitConfig) -> None:
    """L-BFGS for ``config.iters`` iterations (or until it converges), with a progress bar."""
    from tqdm.auto import tqdm

    # One L-BFGS call per chunk of iterations (its curvature history carries over between calls; a
    # call per single iteration would re-evaluate the loss each time and make poorer steps).
    chunk = 10
    optimizer = torch.optim.LBFGS(
        variables,
        lr=1.0,
        max_iter=chunk,
        history_size=20,
        line_search_fn="strong_wolfe",
        tolerance_grad=1e-9,
        tolerance_change=1e-12,
    )

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss

    state = optimizer.state[optimizer.param_groups[0]["params"][0]]
    with tqdm(total=config.iters, desc="SMPL fit", unit="it", disable=not config.progress, leave=False) as bar:
        done = 0
        while done < config.iters:
            optimizer.param_groups[0]["max_iter"] = min(chunk, config.iters - done)
            loss = optimizer.step(closure)
            step_iters = state.get("n_iter", 0) - done
            bar.update(max(step_iters, 0))
            bar.set_postfix(loss=f"{loss.item():.4g}")
            if step_iters < optimizer.param_groups[0]["max_iter"]:
                break  # converged: L-BFGS stopped before its budget
            done += step_iters


def fit_smpl(
    joints: np.ndarray, model, config: FitConfig | None = None, *, gender: str = "neutral"
) -> tuple[SmplParams, FitReport]:
    """Fit SMPL to ``joints (T, 22, 3)`` (metres, y up, 20 fps); see the module doc for the loss.

    ``model``: a ``smplx.SMPL`` (``model_files.build_smpl``); the fit runs on ``config.device`` (default:
    cuda when available). Returns the parameters (y up, ``extra`` holds the fitted joints and errors)
    and a ``FitReport``.
    """
    config = config or FitConfig()
    targets_np = _check_targets(joints)
    device = pick_device(config.device)
    model = model.to(device)
    started = time.perf_counter()
    n = len(targets_np)
    # float64: the residuals reach fractions of a millimetre, below what float32 L-BFGS line searches resolve.
    dtype = torch.float64
    skeleton = Skeleton.from_model(model, dtype)
    targets = torch.as_tensor(targets_np, dtype=dtype, device=device)

    if config.fit_shape:
        betas = betas_from_lengths(skeleton, targets, config.w_betas)
    else:
        betas = torch.zeros(skeleton.j_shapedirs.shape[-1], dtype=dtype, device=device)
    local, transl = analytic_pose(targets_np, skeleton.rest(betas).cpu().numpy())
    poses = torch.as_tensor(_matrix_to_rotvec(local).reshape(n, -1), dtype=dtype, device=device)
    trans = torch.as_tensor(transl, dtype=dtype, device=device)
    with torch.no_grad():
        init_error = (skeleton.posed(poses, trans, betas)[:, :N_JOINTS] - targets).norm(dim=-1).mean().item()

    poses.requires_grad_(True)
    trans.requires_grad_(True)
    variables = [poses, trans]
    if config.fit_shape:
        betas.requires_grad_(True)
        variables.append(betas)
    loss_fn = _FitLoss(skeleton, targets, targets_np, config, poses, trans, betas)
    if config.iters > 0:
        _minimise(variables, loss_fn, config)

    with torch.no_grad():
        fitted = skeleton.posed(poses, trans, betas)[:, :N_JOINTS]
        errors = (fitted - targets).norm(dim=-1)
    report = FitReport(
        n_frames=n,
        init_error_mm=1000 * init_error,
        mean_error_mm=1000 * errors.mean().item(),
        max_error_mm=1000 * errors.max().item(),
        seconds=time.perf_counter() - started,
        device=str(device),
        iters=config.iters,
    )
    logger.info("SMPL fit: %s", report.summary())
    params = SmplParams(
        poses=poses.detach().cpu().numpy(),
        trans=trans.detach().cpu().numpy(),
        betas=betas.detach().cpu().numpy(),
        gender=gender,
        extra={
            "fitted_joints": fitted.cpu().numpy().astype(np.float32),
            "fit_error_mm": np.float32(report.mean_error_mm),
        },
    )
    return params, report
