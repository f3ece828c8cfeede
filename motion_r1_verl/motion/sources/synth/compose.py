"""Sample a plan (1-4 sub-actions) and chain its primitives into one clip.

The plan grammar keeps compositions physically sensible: ``stand_up`` only when seated (a clip whose
first action is ``stand_up`` starts seated), while seated only arm actions or ``stand_up`` follow,
and the same action never repeats back to back. Some action pairs are held out: clips containing one
go to ``test_heldout`` only, and no other clip contains them, so a model is tested on combinations it
never saw together.

Segments start exactly where the previous one left the body (``BodyState``) and every primitive
starts and ends at rest, so position and velocity are continuous; the upper-body channels are then
smoothed over the whole clip to round off the joins. Clips get a short idle lead-in and tail; a short
plan's tail is extended to a length drawn from ``SHORT_CLIP_FRAMES`` (never below ``MIN_FRAMES``); a plan
that comes out longer than ``MAX_FRAMES`` is redrawn.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.ndimage import gaussian_filter1d

from motion_r1_verl.motion.core.constants import MAX_FRAMES, MIN_FRAMES
from motion_r1_verl.motion.sources.synth.primitives import (
    PRIMITIVES,
    SEAT_BACK,
    Body,
    Ctx,
    Step,
    base_track,
    side_indices,
    stance_ankles,
)
from motion_r1_verl.motion.sources.synth.rig import limit_pelvis_height
from motion_r1_verl.motion.sources.synth.track import BodyState, Track, blend_wrists, keyframes

ACTIONS: tuple[str, ...] = tuple(PRIMITIVES)
# Relative frequency of each action in a plan.
ACTION_WEIGHTS: dict[str, float] = {a: 1.0 for a in ACTIONS} | {"stand": 0.5, "sit_down": 0.7, "stand_up": 0.7}
SEATED_OK = ("stand_up", "wave", "raise_arm", "clap")
# Length a short plan is padded to (uniform, frames). Real HumanML3D clips have a smooth length
# distribution: only 0.4 % are 40-43 frames (index.csv). Padding every short plan to exactly MIN_FRAMES
# put 9 % of the synthetic clips there, a spike on the dataset's minimum length that a sampled model's
# length estimate crosses whenever it is one code short.
SHORT_CLIP_FRAMES: tuple[int, int] = (MIN_FRAMES + 8, MIN_FRAMES + 32)
# Pairs never seen together in a train/val/test clip (unordered).
HELDOUT_PAIRS: tuple[tuple[str, str], ...] = (
    ("jump", "wave"),
    ("kick", "spin"),
    ("squat", "clap"),
    ("bow", "run"),
    ("punch", "turn"),
    ("sit_down", "raise_arm"),
)
N_ACTIONS_P = {1: 0.2, 2: 0.35, 3: 0.3, 4: 0.15}
# An arm action right after one of these may be done during it ("walks forward while waving").
OVERLAY_BASES = ("walk", "turn", "stand", "run")
OVERLAY_ARMS = ("wave", "raise_arm", "clap")
OVERLAY_P = 0.4
OVERLAY_RAMP = 8  # frames to blend the arm action in and out of the base motion's arms


def pairs_of(actions: list[str]) -> set[tuple[str, str]]:
    """Unordered action pairs that occur together in one clip."""
    return {tuple(sorted((a, b))) for i, a in enumerate(actions) for b in actions[i + 1 :] if a != b}


HELDOUT_SET = {tuple(sorted(p)) for p in HELDOUT_PAIRS}


def is_valid(actions: list[str]) -> bool:
    """The plan grammar (module doc)."""
    seated = bool(actions) and actions[0] == "stand_up"
    for i, action in enumerate(actions):
        if i and action == actions[i - 1]:
            return False
        if seated and action not in SEATED_OK:
            return False
        if action == "stand_up":
            if not seated:
                return False
            seated = False
        elif action == "sit_down":
            seated = True
    return True


def _choice(rng: np.random.Generator, options: list, weights: list[float] | None = None):
    p = None if weights is None else np.asarray(weights, dtype=np.float64) / np.sum(weights)
    return options[int(rng.choice(len(options), p=p))]


def sample_step(action: str, rng: np.random.Generator) -> Step:
    """Draw the parameters of one sub-action."""
    if action == "walk":
        direction = _choice(rng, ["forward", "backward", "left", "right"], [0.55, 0.2, 0.125, 0.125])
        count = int(rng.integers(2, 7)) if direction in ("forward", "backward") else int(rng.integers(1, 5))
        return Step(action, direction=direction, count=count, speed=_choice(rng, ["slow", "normal", "fast"], [1, 2, 1]))
    if action == "run":
        return Step(action, direction="forward", count=int(rng.integers(3, 9)), speed=_choice(rng, ["normal", "fast"]))
    if action == "turn":
        angle = _choice(rng, [45, 90, 135, 180], [0.2, 0.4, 0.15, 0.25])
        return Step(action, direction=_choice(rng, ["left", "right"]), angle=angle)
    if action == "spin":
        return Step(action, direction=_choice(rng, ["left", "right"]), angle=_choice(rng, [360, 720], [0.8, 0.2]))
    if action == "jump":
        direction = _choice(rng, ["in_place", "forward"])
        return Step(action, direction=direction, count=int(rng.integers(1, 4 if direction == "in_place" else 3)))
    if action == "squat":
        return Step(action, count=_choice(rng, [1, 2, 3], [0.5, 0.3, 0.2]))
    if action == "wave":
        return Step(
            action, side=_choice(rng, ["left", "right", "both"], [0.45, 0.45, 0.1]), count=int(rng.integers(2, 5))
        )
    if action == "raise_arm":
        return Step(action, side=_choice(rng, ["left", "right", "both"], [0.35, 0.35, 0.3]))
    if action == "kick":
        return Step(action, side=_choice(rng, ["left", "right"]))
    if action == "punch":
        return Step(action, side=_choice(rng, ["left", "right"]), count=int(rng.integers(1, 4)))
    if action == "clap":
        return Step(action, count=int(rng.integers(2, 6)))
    if action in ("sit_down", "stand_up", "bow", "stand"):
        return Step(action)
    raise ValueError(f"unknown action {action!r}; expected one of {ACTIONS}")


def sample_actions(rng: np.random.Generator, heldout: bool) -> list[str]:
    """An action sequence obeying the grammar; with ``heldout`` it contains a held-out pair, else none."""
    names = list(ACTIONS)
    weights = [ACTION_WEIGHTS[a] for a in names]
    for _ in range(1000):
        n = _choice(rng, list(N_ACTIONS_P), list(N_ACTIONS_P.values()))
        if heldout:
            n = max(n, 2)
        actions = [_choice(rng, names, weights) for _ in range(n)]
        if heldout:
            pair = list(HELDOUT_PAIRS[int(rng.integers(len(HELDOUT_PAIRS)))])
            rng.shuffle(pair)
            at = int(rng.integers(n - 1))
            actions[at : at + 2] = pair
        pairs = pairs_of(actions)
        if is_valid(actions) and bool(pairs & HELDOUT_SET) == heldout:
            return actions
    raise RuntimeError("could not sample a valid plan in 1000 tries (grammar too strict?)")


def initial_state(body: Body, seated: bool) -> BodyState:
    """The body at the origin facing +z, standing (or seated with the feet ahead of the pelvis)."""
    root = np.array([0.0, body.seat_height if seated else body.stand_height, 0.0])
    return BodyState(
        root=root,
        yaw=0.0,
        ankle=stance_ankles(root, 0.0, forward=SEAT_BACK if seated else 0.0),
        foot_yaw=np.zeros(2),
        seated=seated,
    )


@dataclass
class ComposedClip:
    track: Track  # n_frames + 1 frames (features need one extra position frame)
    steps: list[dict]  # plans.jsonl steps with start/end frames
    n_frames: int  # feature frames (MIN_FRAMES..MAX_FRAMES)


def _overlay(ctx: Ctx, base: Track, step: Step, seated: bool) -> tuple[Step, int, int] | None:
    """Put arm action ``step`` into the middle of segment ``base`` (in place); returns the step (its
    count may shrink to fit), its first frame in ``base`` and its length, or None if it cannot fit."""
    count = step.count
    while True:
        state = BodyState(base.root[0], float(base.yaw[0]), base.ankle[0], base.foot_yaw[0], seated)
        arm, _ = PRIMITIVES[step.action](ctx, state, step)
        room = len(base) - len(arm) - 4
        if room >= 0:
            break
        if count is None or count <= 1:
            return None
        count -= 1
        step = replace(step, count=count)
    offset = 2 + int(ctx.rng.integers(room + 1))
    m = len(arm)
    weight = keyframes(m, [0, OVERLAY_RAMP, m - 1 - OVERLAY_RAMP, m - 1], [0, 1, 1, 0], 1.0)
    sides = [0, 1] if step.action == "clap" else side_indices(step.side)
    window = slice(offset, offset + m)
    for side in sides:
        base.wrist[window, side] = blend_wrists(base.wrist[window, side], arm.wrist[:, side], weight)
    return step, offset, m


def _build(
    ctx: Ctx, steps: list[Step], overlay: list[bool]
) -> tuple[Track, list[Step], list[tuple[int, int]], list[bool]]:
    """Chain the primitives; returns the track, the steps as performed, their frame spans and which
    steps ended up done during the previous one."""
    state = initial_state(ctx.body, seated=steps[0].action == "stand_up")
    lead = ctx.frames(0, 6)
    segments = [base_track(ctx, state, lead)] if lead else []
    spans, offset, done, performed = [], lead, [], []
    for i, step in enumerate(steps):
        if overlay[i] and done and not done[-1]:
            fitted = _overlay(ctx, segments[-1], step, state.seated)
            if fitted is not None:
                step, at, length = fitted
                start = spans[-1][0] + at
                spans.append((start, start + length))
                performed.append(step)
                done.append(True)
                continue
        segment, state = PRIMITIVES[step.action](ctx, state, step)
        segments.append(segment)
        spans.append((offset, offset + len(segment)))
        performed.append(step)
        done.append(False)
        offset += len(segment)
    tail = max(ctx.frames(2, 8), ctx.frames(*SHORT_CLIP_FRAMES) + 1 - offset)
    segments.append(base_track(ctx, state, tail))
    return Track.concat(segments), performed, spans, done


def _smooth(track: Track) -> None:
    """Round off the joins between segments (upper body and pelvis height only: the feet and the
    pelvis's horizontal path are tied to each other and stay exact)."""
    track.spine = gaussian_filter1d(track.spine, 1.2, axis=0, mode="nearest")
    track.head = gaussian_filter1d(track.head, 1.2, axis=0, mode="nearest")
    track.wrist = gaussian_filter1d(track.wrist, 1.0, axis=0, mode="nearest")
    track.root[:, 1] = gaussian_filter1d(track.root[:, 1], 1.0, mode="nearest")


def _overlay_flags(actions: list[str], rng: np.random.Generator) -> list[bool]:
    flags = [False] * len(actions)
    for i in range(1, len(actions)):
        if actions[i] in OVERLAY_ARMS and actions[i - 1] in OVERLAY_BASES and not flags[i - 1]:
            flags[i] = bool(rng.random() < OVERLAY_P)
    return flags


def compose(rng: np.random.Generator, heldout: bool, max_tries: int = 20) -> ComposedClip:
    """Sample a plan for one clip and build its motion track (``heldout``: see ``sample_actions``)."""
    body = Body.sample(rng)
    ctx = Ctx(rng, body)
    actions = sample_actions(rng, heldout)
    overlay = _overlay_flags(actions, rng)
    for attempt in range(max_tries):
        steps = [sample_step(a, rng) for a in actions]
        track, steps, spans, done = _build(ctx, steps, overlay)
        if len(track) <= MAX_FRAMES + 1:
            break
        if attempt >= max_tries // 2 and len(actions) > 1 and not heldout and is_valid(actions[:-1]):
            actions, overlay = actions[:-1], overlay[:-1]
    else:
        raise RuntimeError(f"plan {actions} never fitted in {MAX_FRAMES} frames")
    _smooth(track)
    limit_pelvis_height(track)
    plan = []
    for step, (a, b), with_previous in zip(steps, spans, done, strict=True):
        entry = step.to_dict() | {"start": int(a), "end": int(b)}
        if with_previous:
            entry["timing"] = "with_previous"
        plan.append(entry)
    return ComposedClip(track=track, steps=plan, n_frames=len(track) - 1)
