"""The parametrised motion primitives: one function per action of the plans.jsonl vocabulary.

Each primitive takes the body's current state and one ``Step`` (action + side/direction/count/speed/
angle) and returns a ``Track`` segment that starts exactly at that state, plus the state it ends in.
Every segment starts and ends at rest in the neutral pose of its state (standing, or seated after
``sit_down``), so segments chain without jumps; ``compose.py`` adds the cross-fades.

How feet stay planted: legs are driven by ankle targets. A ``Footstep`` lifts one foot at ``lift``,
swings it along an arc and puts it down at ``land``; outside its swings a foot's target does not move
at all, and the pelvis is lowered wherever a leg could not reach (``rig.limit_pelvis_height``). The
pelvis path of locomotion is derived from the footprints (it passes between the feet at each
landing), so the body travels exactly as far as the feet do.

Timing and amplitude of every primitive are drawn from ``ctx.rng`` (step period and length, squat
depth, bow angle, kick height, wave speed...), so no two clips of the same plan are identical.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from motion_r1_verl.motion.sources.synth.rig import ANKLE_HEIGHT, FLAT_FOOT_PITCH, FOOT, LEG_REACH, hip_positions
from motion_r1_verl.motion.sources.synth.track import (
    LEFT,
    RIGHT,
    SIDE_SIGN,
    BodyState,
    Track,
    blend_wrists,
    keyframes,
    smoothstep,
    to_world,
)

STANCE_HALF_WIDTH = 0.09  # ankle distance from the body's midline when standing (m)
SEAT_BACK = 0.40  # seated pelvis behind the ankles (m)


@dataclass(frozen=True)
class Step:
    """One sub-action as in plans.jsonl (without start/end, which composition assigns); the contract and its
    vocabulary are written in ``motion_r1_verl.cot.steps``."""

    action: str
    side: str | None = None  # left | right | both
    direction: str | None = None  # forward | backward | left | right | in_place
    count: int | None = None
    speed: str | None = None  # slow | normal | fast
    angle: int | None = None  # degrees, turn/spin

    def to_dict(self) -> dict:
        return {
            "action": self.action,
            "side": self.side,
            "direction": self.direction,
            "count": self.count,
            "speed": self.speed,
            "angle": self.angle,
        }


@dataclass(frozen=True)
class Body:
    """Per-clip body constants (drawn once per clip for a little variety between 'people')."""

    stand_height: float  # pelvis height standing (m)
    seat_height: float  # pelvis height seated (m)
    hang: np.ndarray  # (2, 3) wrist relative to shoulder with the arms relaxed (heading frame)
    on_thighs: np.ndarray  # (2, 3) wrist relative to shoulder with the hands on the thighs (seated)

    @staticmethod
    def sample(rng: np.random.Generator) -> Body:
        sign = SIDE_SIGN[:, None]
        hang = np.array([0.05, -0.49, 0.04]) + rng.uniform(-0.015, 0.015, 3)
        thighs = np.array([-0.09, -0.40, 0.22]) + rng.uniform(-0.02, 0.02, 3)
        return Body(
            stand_height=float(rng.uniform(0.933, 0.942)),
            seat_height=float(rng.uniform(0.53, 0.57)),
            hang=np.stack((hang, hang)) * np.concatenate((sign, np.ones((2, 2))), 1),
            on_thighs=np.stack((thighs, thighs)) * np.concatenate((sign, np.ones((2, 2))), 1),
        )


@dataclass
class Ctx:
    rng: np.random.Generator
    body: Body

    def u(self, low: float, high: float) -> float:
        return float(self.rng.uniform(low, high))

    def frames(self, low: float, high: float) -> int:
        return int(round(self.rng.uniform(low, high)))


@dataclass(frozen=True)
class Footstep:
    foot: int  # LEFT or RIGHT
    lift: float  # frame the foot leaves the floor
    land: float  # frame it is down again
    target: np.ndarray  # (3,) ankle target at landing
    yaw: float  # foot heading at landing
    height: float  # swing apex above the straight line between the footprints (m)
    heel: float = 0.0  # frames before ``lift`` over which the heel rises while the toe stays put
    toe_pitch: float = 0.0  # extra toe-down pitch (rad) reached at toe-off


def side_indices(side: str | None) -> list[int]:
    return {"left": [LEFT], "right": [RIGHT], "both": [LEFT, RIGHT]}[side or "both"]


def neutral_wrists(ctx: Ctx, seated: bool) -> np.ndarray:
    return ctx.body.on_thighs if seated else ctx.body.hang


def neutral_spine(seated: bool) -> np.ndarray:
    return np.array([0.12 if seated else 0.03, 0.0, 0.0])


def base_track(ctx: Ctx, state: BodyState, n: int) -> Track:
    """``n`` frames of the state's neutral pose, everything at rest."""
    return Track(
        root=np.tile(state.root, (n, 1)),
        yaw=np.full(n, state.yaw),
        spine=np.tile(neutral_spine(state.seated), (n, 1)),
        head=np.zeros(n),
        ankle=np.tile(state.ankle, (n, 1, 1)),
        foot_yaw=np.tile(state.foot_yaw, (n, 1)),
        foot_pitch=np.zeros((n, 2)),
        wrist=np.tile(neutral_wrists(ctx, state.seated), (n, 1, 1)),
        contact=np.ones((n, 2), dtype=bool),
    )


def foot_vector(foot: int, yaw: np.ndarray | float, extra_pitch: np.ndarray | float) -> np.ndarray:
    """Ankle -> toe vector (..., 3) of a foot with heading ``yaw`` and toe-down pitch on top of flat."""
    pitch = FLAT_FOOT_PITCH[foot] + np.asarray(extra_pitch, dtype=np.float64)
    yaw = np.asarray(yaw, dtype=np.float64)
    return FOOT[foot] * np.stack((np.sin(yaw) * np.cos(pitch), -np.sin(pitch), np.cos(yaw) * np.cos(pitch)), -1)


def apply_footsteps(track: Track, state: BodyState, steps: list[Footstep]) -> None:
    """Write ankle targets, foot headings/pitches and contacts for ``steps`` into ``track`` (in place).

    Before a lift the heel may rise with the toe fixed (toe-off), which lets the trailing leg reach
    further back without the pelvis dropping; the swing then starts from the raised ankle.
    """
    t = np.arange(len(track), dtype=np.float64)
    for foot in (LEFT, RIGHT):
        pos, yaw = state.ankle[foot].copy(), state.foot_yaw[foot]
        ankle = np.tile(pos, (len(t), 1))
        foot_yaw = np.full(len(t), yaw)
        pitch = np.zeros(len(t))
        contact = np.ones(len(t), dtype=bool)
        for step in sorted((s for s in steps if s.foot == foot), key=lambda s: s.lift):
            start, start_pitch = pos, 0.0
            if step.heel > 0 and step.toe_pitch > 0:
                r = smoothstep((t - (step.lift - step.heel)) / step.heel)
                rising = (r > 0) & (t <= step.lift)
                toe = pos + foot_vector(foot, yaw, 0.0)
                pitch[rising] = step.toe_pitch * r[rising]
                ankle[rising] = toe - foot_vector(foot, yaw, pitch[rising])
                start_pitch = step.toe_pitch
                start = toe - foot_vector(foot, yaw, start_pitch)
            s = (t - step.lift) / (step.land - step.lift)
            during = (s > 0) & (s < 1)
            # The first and last 12% of a swing lift and lower the foot almost vertically.
            h = smoothstep((s[during] - 0.12) / 0.76)[:, None]
            ankle[during] = start + (step.target - start) * h
            ankle[during, 1] += step.height * np.sin(np.pi * s[during])
            foot_yaw[during] = yaw + (step.yaw - yaw) * h[:, 0]
            pitch[during] = start_pitch * (1 - smoothstep(s[during] / 0.5))
            contact[during] = False
            after = s >= 1
            ankle[after], foot_yaw[after], pitch[after] = step.target, step.yaw, 0.0
            pos, yaw = step.target.copy(), step.yaw
        track.ankle[:, foot], track.foot_yaw[:, foot], track.contact[:, foot] = ankle, foot_yaw, contact
        track.foot_pitch[:, foot] = pitch


def end_state(track: Track, seated: bool = False) -> BodyState:
    return BodyState.from_track_end(track, seated)


def stance_ankles(root: np.ndarray, yaw: float, forward: float = 0.0) -> np.ndarray:
    """(2, 3) ankle targets of a neutral stance under a pelvis at ``root`` (``forward`` m ahead)."""
    local = np.array([[STANCE_HALF_WIDTH, 0.0, forward], [-STANCE_HALF_WIDTH, 0.0, forward]])
    ankles = root + to_world(yaw, local)
    ankles[:, 1] = ANKLE_HEIGHT
    return ankles


def swing_arm(base: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rotate wrist offsets ``base`` (3,) about the shoulder's left-right axis; ``angle`` (T,) > 0 is forward."""
    c, s = np.cos(angle), np.sin(angle)
    return np.stack((np.full_like(angle, base[0]), c * base[1] - s * base[2], -s * base[1] + c * base[2]), -1)


# ------------------------------------------------------------------------------------------ locomotion
def _locomote(
    ctx: Ctx,
    state: BodyState,
    n_steps: int,
    period: float,
    length: float,
    swing: float,
    lift: float,
    direction: np.ndarray,
    lead: float,
    *,
    running: bool,
) -> Track:
    """Forward/backward walking or running: ``n_steps`` alternating steps along ``direction`` plus a
    closing step that brings the trailing foot beside the leading one."""
    first = int(ctx.rng.integers(2))
    t0 = ctx.u(3, 6)
    centre = state.root.copy()
    centre[1] = 0.0
    lateral = to_world(state.yaw, np.array([[STANCE_HALF_WIDTH, 0, 0], [-STANCE_HALF_WIDTH, 0, 0]]))
    steps, root_t, root_v = [], [0.0, t0], [0.0, 0.0]
    along = 0.0
    for k in range(n_steps + 1):
        foot = (first + k) % 2
        closing = k == n_steps
        if not closing:
            along += length * (0.6 if running and k == 0 else 1.0)
        lift_t = t0 + k * period
        duration = swing * (0.75 if closing or (running and k == 0) else 1.0)
        if running and closing:
            duration = period * 1.1
        target = centre + lateral[foot] + direction * along
        target[1] = ANKLE_HEIGHT
        heel = 0.0 if k == 0 else 0.35 * period
        toe = ctx.u(0.5, 0.7) if running else ctx.u(0.45, 0.65)
        steps.append(
            Footstep(foot, lift_t, lift_t + duration, target, state.yaw, lift * (0.6 if closing else 1.0), heel, toe)
        )
        root_t.append(lift_t + duration)
        root_v.append(along if closing else along - lead)
    n = int(np.ceil(root_t[-1] + period * 0.6 + ctx.u(2, 5)))
    root_t.append(n - 1.0)
    root_v.append(along)
    track = base_track(ctx, state, n)
    apply_footsteps(track, state, steps)
    progress = keyframes(n, root_t, root_v, sigma=period * 0.3)
    t = np.arange(n, dtype=np.float64)
    # Sway towards the stance foot; pelvis height: dips in running stance, peaks in walking mid-stance.
    sway = np.zeros(n)
    bob = np.zeros(n)
    arm = np.zeros(n)
    arm_t, arm_v = [0.0, t0], [0.0, 0.0]
    for step in steps[:-1]:
        s = np.clip((t - step.lift) / (step.land - step.lift), 0, 1)
        sway += -SIDE_SIGN[step.foot] * np.sin(np.pi * s) * (0.012 if running else 0.022)
        bob += np.sin(np.pi * s) * (0.0 if running else 1.0)
        arm_t.append(step.land)
        arm_v.append(1.0 if step.foot == RIGHT else -1.0)  # left arm forward as the right foot lands
    arm_t += [steps[-1].land, n - 1.0]
    arm_v += [0.0, 0.0]
    arm = keyframes(n, arm_t, arm_v, sigma=period * 0.25)
    envelope = keyframes(n, [0, t0, t0 + period, steps[-1].lift, steps[-1].land + 2, n - 1], [0, 0, 1, 1, 0, 0], 1.5)
    height = ctx.body.stand_height
    if running:
        stance_mid = np.array([s.land + 0.3 * period for s in steps[:-1]])
        phase = np.cos(2 * np.pi * (t[:, None] - stance_mid[None]) / period).max(axis=1)
        root_y = height - envelope * (0.05 + 0.025 * (1 + phase) / 2)
    else:
        root_y = height - envelope * 0.025 + np.minimum(bob, 1.0) * 0.018 * envelope
    left_unit = lateral[LEFT] / STANCE_HALF_WIDTH
    track.root = centre + progress[:, None] * direction + sway[:, None] * left_unit
    track.root[:, 1] = root_y
    # Arms swing against the legs; running arms are bent at the elbow.
    amplitude = ctx.u(0.55, 0.75) if running else ctx.u(0.25, 0.4) * (1.3 if period < 9.5 else 1.0)
    for side in (LEFT, RIGHT):
        base = ctx.body.hang[side] if not running else np.array([0.03 * SIDE_SIGN[side], -0.26, 0.2])
        angle = arm * amplitude * (1 if side == LEFT else -1)
        if running:
            track.wrist[:, side] = blend_wrists(ctx.body.hang[side][None], swing_arm(base, angle), envelope)
        else:
            track.wrist[:, side] = swing_arm(base, angle)
    lean = 0.15 if running else (0.07 if period < 9.5 else 0.03)
    track.spine[:, 0] += envelope * lean * float(np.sign(direction @ to_world(state.yaw, np.array([0, 0, 1.0]))))
    track.spine[:, 2] = -0.25 * arm * amplitude
    return track


def _sidestep(ctx: Ctx, state: BodyState, step: Step) -> Track:
    lead = LEFT if step.direction == "left" else RIGHT
    trail = 1 - lead
    sub = {"slow": (11, 13), "normal": (8, 10), "fast": (6, 7)}[step.speed or "normal"]
    period = ctx.u(*sub)
    width = ctx.u(0.26, 0.38)
    direction = to_world(state.yaw, np.array([SIDE_SIGN[lead], 0.0, 0.0]))
    t0 = ctx.u(3, 6)
    feet = stance_ankles(state.root, state.yaw)
    steps, root_t, root_v = [], [0.0, t0], [0.0, 0.0]
    for k in range(step.count or 2):
        for j, foot in enumerate((lead, trail)):
            lift_t = t0 + (2 * k + j) * period
            target = feet[foot] + direction * width * (k + 1)
            steps.append(Footstep(foot, lift_t, lift_t + 0.75 * period, target, state.yaw, ctx.u(0.04, 0.07)))
            root_t.append(lift_t + 0.75 * period)
            root_v.append(width * (k + 0.5 * (j + 1)))
    n = int(np.ceil(root_t[-1] + ctx.u(5, 9)))
    root_t.append(n - 1.0)
    root_v.append(root_v[-1])
    track = base_track(ctx, state, n)
    apply_footsteps(track, state, steps)
    progress = keyframes(n, root_t, root_v, sigma=period * 0.35)
    track.root = state.root + progress[:, None] * direction
    envelope = keyframes(n, [0, t0, t0 + period, root_t[-2], n - 1], [0, 0, 1, 1, 0], 1.5)
    track.root[:, 1] = ctx.body.stand_height - 0.02 * envelope
    outward = np.array([[0.07, 0.02, 0.0], [-0.07, 0.02, 0.0]])
    track.wrist += envelope[:, None, None] * outward
    return track


def walk(ctx: Ctx, state: BodyState, step: Step) -> tuple[Track, BodyState]:
    if step.direction in ("left", "right"):
        track = _sidestep(ctx, state, step)
        return track, end_state(track)
    period = ctx.u(*{"slow": (13, 16), "normal": (10, 12), "fast": (7.5, 9)}[step.speed or "normal"])
    length = ctx.u(*{"slow": (0.38, 0.48), "normal": (0.52, 0.62), "fast": (0.6, 0.68)}[step.speed or "normal"])
    sign = 1.0
    if step.direction == "backward":
        length, period, sign = length * 0.7, period * 1.1, -1.0
    direction = to_world(state.yaw, np.array([0.0, 0.0, sign]))
    track = _locomote(
        ctx,
        state,
        step.count or 4,
        period,
        length,
        0.78 * period,
        ctx.u(0.05, 0.08),
        direction,
        0.5 * length,
        running=False,
    )
    return track, end_state(track)


def run(ctx: Ctx, state: BodyState, step: Step) -> tuple[Track, BodyState]:
    fast = step.speed == "fast"
    period = ctx.u(5, 6) if fast else ctx.u(6, 7)
    length = ctx.u(0.85, 0.95) if fast else ctx.u(0.7, 0.85)
    direction = to_world(state.yaw, np.array([0.0, 0.0, 1.0]))
    track = _locomote(
        ctx, state, step.count or 6, period, length, 1.35 * period, ctx.u(0.14, 0.22), direction, 0.2, running=True
    )
    return track, end_state(track)


def _turn_in_place(ctx: Ctx, state: BodyState, degrees: float, to_left: bool, period: float, arms_out: float) -> Track:
    delta = np.radians(degrees) * (1 if to_left else -1)
    # Turns step 45 degrees or less at a time, spins 60: bigger steps would cross the legs.
    n_steps = 2 + int(degrees // 60) if degrees < 300 else 1 + int(round(degrees / 60))
    first = LEFT if to_left else RIGHT
    t0 = ctx.u(3, 6)
    root = state.root.copy()
    steps = []
    for k in range(n_steps):
        yaw_k = state.yaw + delta * min(1.0, (k + 1) / (n_steps - 1))
        foot = (first + k) % 2
        lift_t = t0 + k * period
        target = stance_ankles(root, yaw_k)[foot]
        steps.append(Footstep(foot, lift_t, lift_t + 0.72 * period, target, yaw_k, ctx.u(0.035, 0.06)))
    n = int(np.ceil(steps[-1].land + ctx.u(4, 8)))
    track = base_track(ctx, state, n)
    apply_footsteps(track, state, steps)
    # The pelvis turns while the feet step; it has finished once the last-but-one foot is down.
    track.yaw = keyframes(
        n, [0, t0 - 1, steps[-2].land + 1, n - 1], [state.yaw] * 2 + [state.yaw + delta] * 2, period * 0.4
    )
    track.yaw[-1] = state.yaw + delta
    envelope = keyframes(n, [0, t0, steps[0].land, steps[-2].land, n - 1], [0, 0, 1, 1, 0], 1.5)
    # The torso leads into the turn; the arms drift out a little when spinning.
    track.spine[:, 2] = envelope * 0.12 * np.sign(delta)
    track.root[:, 1] = ctx.body.stand_height - 0.02 * envelope
    track.wrist += envelope[:, None, None] * np.array([[arms_out, 0.03, 0.0], [-arms_out, 0.03, 0.0]])
    return track


def turn(ctx: Ctx, state: BodyState, step: Step) -> tuple[Track, BodyState]:
    track = _turn_in_place(ctx, state, float(step.angle or 90), step.direction == "left", ctx.u(8, 11), 0.0)
    return track, end_state(track)


def spin(ctx: Ctx, state: BodyState, step: Step) -> tuple[Track, BodyState]:
    track = _turn_in_place(ctx, state, float(step.angle or 360), step.direction == "left", ctx.u(4.5, 5.5), 0.12)
    return track, end_state(track)


# -------------------------------------------------------------------------------------- whole body
def jump(ctx: Ctx, state: BodyState, step: Step) -> tuple[Track, BodyState]:
    forward = step.direction == "forward"
    fwd = to_world(state.yaw, np.array([0.0, 0.0, 1.0]))
    stand = ctx.body.stand_height
    segments = []
    for _ in range(step.count or 1):
        crouch, push, flight, land, recover = ctx.frames(7, 10), 3, ctx.frames(6, 8), 3, ctx.frames(7, 10)
        depth = ctx.u(0.12, 0.2)
        distance = ctx.u(0.4, 0.8) if forward else 0.0
        # Two still frames at each end, so the linear+smoothed curves below start and end at rest.
        t_off = 2 + crouch + push
        t_land = t_off + flight
        n = t_land + land + recover + 2
        track = base_track(ctx, state, n)
        target = state.ankle + fwd * distance
        apex = 9.81 * (flight / 20.0) ** 2 / 8
        apply_footsteps(
            track, state, [Footstep(f, t_off, t_land, target[f], state.foot_yaw[f], apex + 0.06) for f in (0, 1)]
        )
        times = [0, 2, 2 + crouch, t_off, t_land, t_land + land, n - 3, n - 1]
        track.root[:, 1] = keyframes(
            n, times, [stand, stand, stand - depth, stand + 0.02, stand + 0.02, stand - 0.7 * depth, stand, stand], 1.0
        )
        t = np.arange(n, dtype=np.float64)
        s = (t - t_off) / flight
        air = (s > 0) & (s < 1)
        track.root[air, 1] = stand + 0.02 + 4 * apex * s[air] * (1 - s[air])
        progress = (
            keyframes(n, [0, t_off - 2, t_off, t_land, t_land + 3, n - 1], [0, 0, 0.1, 0.9, 1, 1], 0.8) * distance
        )
        track.root[:, [0, 2]] = state.root[[0, 2]] + progress[:, None] * fwd[[0, 2]]
        arm = keyframes(n, times, [0, 0, -0.8, 1.2 if not forward else 1.6, 0.6, -0.2, 0, 0], 1.0)
        for side in (LEFT, RIGHT):
            track.wrist[:, side] = swing_arm(ctx.body.hang[side], arm)
        track.spine[:, 0] = keyframes(n, times, [0.03, 0.03, 0.35, 0.0, 0.05, 0.3, 0.03, 0.03], 1.0)
        segments.append(track)
        state = end_state(track)
    track = Track.concat(segments)
    return track, end_state(track)


def squat(ctx: Ctx, state: BodyState, step: Step) -> tuple[Track, BodyState]:
    arms_forward = ctx.rng.random() < 0.5
    back = -to_world(state.yaw, np.array([0.0, 0.0, 1.0]))
    segments = []
    for _ in range(step.count or 1):
        down, hold, up = ctx.frames(12, 16), ctx.frames(2, 6), ctx.frames(12, 16)
        n = down + hold + up + 2
        track = base_track(ctx, state, n)
        times = [0, down, down + hold, n - 1]
        w = keyframes(n, times, [0, 1, 1, 0], eased=True)
        depth, shift = ctx.u(0.30, 0.40), ctx.u(0.08, 0.14)
        track.root = state.root + w[:, None] * back * shift
        track.root[:, 1] = state.root[1] - w * depth
        track.spine[:, 0] = 0.03 + w * ctx.u(0.35, 0.55)
        if arms_forward:
            reach = np.array([[-0.03, -0.05, 0.48], [0.03, -0.05, 0.48]])
            track.wrist = blend_wrists(track.wrist, reach[None], w)
        segments.append(track)
    track = Track.concat(segments)
    return track, end_state(track)


def sit_down(ctx: Ctx, state: BodyState, step: Step) -> tuple[Track, BodyState]:
    n = ctx.frames(30, 40)
    track = base_track(ctx, state, n)
    back = -to_world(state.yaw, np.array([0.0, 0.0, 1.0]))
    feet_mid = state.ankle.mean(axis=0)
    seat = feet_mid + back * SEAT_BACK
    seat[1] = ctx.body.seat_height
    start = state.root
    w = smoothstep(np.linspace(0, 1, n))[:, None]
    # Hips go back first, then down (the body folds over the feet to keep its balance).
    back_w = keyframes(n, [0, 0.55 * n, n - 1], [0, 0.85, 1], 1.0, eased=True)[:, None]
    track.root = start + (seat - start) * np.concatenate((back_w, w, back_w), 1)
    track.spine[:, 0] = keyframes(n, [0, 0.5 * n, n - 1], [0.03, ctx.u(0.4, 0.6), 0.12], eased=True)
    track.wrist = blend_wrists(ctx.body.hang[None], ctx.body.on_thighs[None], w[:, 0])
    return track, end_state(track, seated=True)


def stand_up(ctx: Ctx, state: BodyState, step: Step) -> tuple[Track, BodyState]:
    n = ctx.frames(28, 38)
    track = base_track(ctx, state, n)
    stand = state.ankle.mean(axis=0)
    stand[1] = ctx.body.stand_height
    start = state.root
    w = smoothstep(np.linspace(0, 1, n))[:, None]
    # Lean forward over the feet first, then rise.
    fwd_w = keyframes(n, [0, 0.45 * n, n - 1], [0, 0.8, 1], 1.0, eased=True)[:, None]
    up_w = keyframes(n, [0, 0.3 * n, n - 1], [0, 0.05, 1], 1.0, eased=True)[:, None]
    track.root = start + (stand - start) * np.concatenate((fwd_w, up_w, fwd_w), 1)
    track.spine[:, 0] = keyframes(n, [0, 0.35 * n, n - 1], [0.12, ctx.u(0.5, 0.7), 0.03], eased=True)
    track.wrist = blend_wrists(ctx.body.on_thighs[None], ctx.body.hang[None], w[:, 0])
    return track, end_state(track)


def bow(ctx: Ctx, state: BodyState, step: Step) -> tuple[Track, BodyState]:
    down, hold, up = ctx.frames(12, 18), ctx.frames(4, 12), ctx.frames(12, 18)
    n = down + hold + up + 2
    track = base_track(ctx, state, n)
    w = keyframes(n, [0, down, down + hold, n - 1], [0, 1, 1, 0], eased=True)
    track.spine[:, 0] += w * ctx.u(0.5, 1.0)
    track.head = w * 0.2
    back = -to_world(state.yaw, np.array([0.0, 0.0, 1.0]))
    track.root = state.root + w[:, None] * back * ctx.u(0.03, 0.08)
    track.root[:, 1] = state.root[1] - 0.02 * w
    return track, end_state(track)


def stand(ctx: Ctx, state: BodyState, step: Step) -> tuple[Track, BodyState]:
    n = ctx.frames(20, 50)
    track = base_track(ctx, state, n)
    t = np.arange(n, dtype=np.float64)
    w = np.sin(np.pi * t / (n - 1))
    left = to_world(state.yaw, np.array([1.0, 0.0, 0.0]))
    track.root = state.root + (w * ctx.u(-0.015, 0.015))[:, None] * left
    track.spine[:, 0] += 0.01 * w * np.sin(2 * np.pi * t / ctx.u(25, 40))
    return track, end_state(track)


def kick(ctx: Ctx, state: BodyState, step: Step) -> tuple[Track, BodyState]:
    foot = side_indices(step.side)[0]
    support = 1 - foot
    shift, wind, strike, hold, back, settle = (
        ctx.frames(6, 9),
        4,
        ctx.frames(4, 5),
        ctx.frames(1, 2),
        ctx.frames(7, 9),
        ctx.frames(6, 8),
    )
    times = np.cumsum([0, shift, wind, strike, hold, back, settle]).astype(float)
    n = int(times[-1]) + 1
    track = base_track(ctx, state, n)
    fwd = to_world(state.yaw, np.array([0.0, 0.0, 1.0]))
    start = state.ankle[foot]
    # The kicking leg ends almost straight, 15-50 degrees below horizontal.
    hip = hip_positions(state.root[None], np.array([state.yaw]))[0, foot]
    below = np.radians(ctx.u(15, 50))
    tip = hip + 0.98 * LEG_REACH[foot] * (np.cos(below) * fwd - np.sin(below) * np.array([0.0, 1.0, 0.0]))
    wound = start - fwd * 0.15
    wound[1] = start[1] + 0.12
    key_t = [times[1], times[2], times[3], times[4], times[5]]
    lifted = keyframes(n, key_t, [start, wound, tip, tip, start], eased=True)
    t = np.arange(n)
    up = (t > times[1]) & (t < times[5])
    track.ankle[up, foot] = lifted[up]
    track.contact[up, foot] = False
    w = keyframes(n, list(times[[0, 1, 5, 6]]), [0, 1, 1, 0], eased=True)
    toward = state.ankle[support] - state.root
    toward[1] = 0
    track.root = state.root + w[:, None] * toward * 0.6
    track.root[:, 1] = state.root[1] - 0.02 * w
    kick_w = keyframes(n, list(times[[0, 2, 3, 4, 5]]), [0, 0.2, 1, 1, 0], eased=True)
    track.foot_pitch[:, foot] = 0.5 * kick_w
    track.spine[:, 0] -= 0.12 * kick_w
    track.wrist[:, support] = swing_arm(ctx.body.hang[support], 0.5 * kick_w)
    track.wrist[:, foot] = swing_arm(ctx.body.hang[foot], -0.35 * kick_w) + w[:, None] * np.array(
        [0.06 * SIDE_SIGN[foot], 0.03, 0]
    )
    return track, end_state(track)


# -------------------------------------------------------------------------------------------- arms
def _arm_blend(track: Track, sides: list[int], pose: np.ndarray, weight: np.ndarray) -> None:
    for side in sides:
        track.wrist[:, side] = blend_wrists(track.wrist[:, side], pose[..., side, :], weight)


def wave(ctx: Ctx, state: BodyState, step: Step) -> tuple[Track, BodyState]:
    sides = side_indices(step.side)
    rise, cycle, count = ctx.frames(8, 12), ctx.u(7, 10), step.count or 3
    n = int(rise + cycle * count + rise + 2)
    track = base_track(ctx, state, n)
    t = np.arange(n, dtype=np.float64)
    up = np.array([[0.24, 0.27, 0.12], [-0.24, 0.27, 0.12]]) + ctx.rng.uniform(-0.03, 0.03, 3)
    amplitude = ctx.u(0.08, 0.13)
    s = np.clip((t - rise) / (cycle * count), 0, 1)
    sway = amplitude * np.sin(2 * np.pi * count * s)
    pose = np.broadcast_to(up, (n, 2, 3)).copy()
    pose[:, :, 0] += sway[:, None]
    w = keyframes(n, [0, rise, n - 1 - rise, n - 1], [0, 1, 1, 0], eased=True)
    _arm_blend(track, sides, pose, w)
    return track, end_state(track, state.seated)


def raise_arm(ctx: Ctx, state: BodyState, step: Step) -> tuple[Track, BodyState]:
    sides = side_indices(step.side)
    rise, hold, lower = ctx.frames(10, 14), ctx.frames(8, 20), ctx.frames(10, 14)
    n = rise + hold + lower + 2
    track = base_track(ctx, state, n)
    if ctx.rng.random() < 0.6:  # straight up
        pose = np.array([[0.1, 0.5, 0.06], [-0.1, 0.5, 0.06]])
    else:  # forward and up
        pose = np.array([[0.04, 0.33, 0.37], [-0.04, 0.33, 0.37]])
    w = keyframes(n, [0, rise, rise + hold, n - 1], [0, 1, 1, 0], eased=True)
    _arm_blend(track, sides, np.broadcast_to(pose, (n, 2, 3)), w)
    return track, end_state(track, state.seated)


def punch(ctx: Ctx, state: BodyState, step: Step) -> tuple[Track, BodyState]:
    side = side_indices(step.side)[0]
    guard_t = ctx.frames(6, 9)
    guard = np.array([[-0.06, 0.02, 0.24], [0.06, 0.02, 0.24]])
    hit = np.array([[-0.12, 0.03, 0.50], [0.12, 0.03, 0.50]])
    times, values = [0.0, float(guard_t)], [0.0, 0.0]
    t_now = float(guard_t)
    for _ in range(step.count or 1):
        ext, hold, ret, gap = 3, ctx.frames(1, 2), ctx.frames(4, 5), ctx.frames(2, 4)
        times += [t_now + ext, t_now + ext + hold, t_now + ext + hold + ret]
        values += [1.0, 1.0, 0.0]
        t_now += ext + hold + ret + gap
    n = int(t_now + guard_t + 1)
    times.append(n - 1.0)
    values.append(0.0)
    track = base_track(ctx, state, n)
    strike = keyframes(n, times, values, eased=True)
    g = keyframes(n, [0, guard_t, n - 1 - guard_t, n - 1], [0, 1, 1, 0], eased=True)
    pose = np.broadcast_to(guard, (n, 2, 3)).copy()
    pose[:, side] += strike[:, None] * (hit[side] - guard[side])
    _arm_blend(track, [LEFT, RIGHT], pose, g)
    # The punching shoulder drives forward: right punch twists the torso to the left.
    track.spine[:, 2] = strike * 0.3 * (1 if side == RIGHT else -1)
    track.spine[:, 0] += 0.05 * g
    return track, end_state(track, state.seated)


def clap(ctx: Ctx, state: BodyState, step: Step) -> tuple[Track, BodyState]:
    rise, cycle, count = ctx.frames(7, 10), ctx.u(5, 8), step.count or 3
    n = int(rise + cycle * count + rise + 2)
    track = base_track(ctx, state, n)
    t = np.arange(n, dtype=np.float64)
    together = np.array([[-0.19, -0.12, 0.33], [0.19, -0.12, 0.33]]) + np.array([0, ctx.u(-0.04, 0.08), 0])
    apart = together + np.array([[0.15, 0.0, 0.0], [-0.15, 0.0, 0.0]])
    s = np.clip((t - rise) / (cycle * count), 0, 1)
    closing = 0.5 * (1 - np.cos(2 * np.pi * count * s))  # 0 apart -> 1 together, count times
    pose = apart + closing[:, None, None] * (together - apart)
    w = keyframes(n, [0, rise, n - 1 - rise, n - 1], [0, 1, 1, 0], eased=True)
    _arm_blend(track, [LEFT, RIGHT], pose, w)
    return track, end_state(track, state.seated)


PRIMITIVES: dict[str, Callable[[Ctx, BodyState, Step], tuple[Track, BodyState]]] = {
    "walk": walk,
    "run": run,
    "turn": turn,
    "jump": jump,
    "squat": squat,
    "sit_down": sit_down,
    "stand_up": stand_up,
    "wave": wave,
    "raise_arm": raise_arm,
    "kick": kick,
    "punch": punch,
    "bow": bow,
    "spin": spin,
    "clap": clap,
    "stand": stand,
}
