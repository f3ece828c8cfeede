"""Read and write HumanML3D-format motion folders.

A folder holds ``new_joint_vecs/<id>.npy`` (T,263) features, optional ``new_joints/<id>.npy``
(T,22,3) joints, ``texts/<id>.txt`` captions and ``<split>.txt`` id lists. Each caption line is
``caption#word/POS word/POS ...#start#end`` with start/end in seconds; ``0#0`` means the whole clip,
anything else names a crop that becomes its own clip (id ``f"{id}@{start:.1f}-{end:.1f}"``), the
way the original T2M loaders turn sub-captions into extra training samples.

Why our own reader: the original loaders ``continue`` past bad files and short clips without a
word. Here every skipped clip, crop or caption line is counted in a :class:`ReadReport` with its
reason (``strict=False``), or the first problem raises a :class:`UserError` naming the file
(``strict=True``). Two deliberate differences from T2M's loader: crops of the same (start, end) are
merged into one clip with several captions (T2M adds one sample per caption), and the length rule is
applied to each produced clip separately (T2M drops a whole file, crops included, when the full clip is
out of range).

The length rule is the protocol's: a clip (or crop) of ``40 <= T < 200`` frames is kept and cut to its
first 196 frames (``max_motion_length``); shorter or longer ones are skipped and counted. The reference
loaders cut 197-199-frame clips to 196 through their random ``unit_length`` crop at every draw; the first
196 frames here keep every read deterministic.

Writes are atomic (:mod:`motion_r1_verl.runtime.files`) so an interrupted writer never leaves a half file.

Usage::

    clips, report = load_split("data/hml", "train")
    print(report.summary())
    write_clip("out", "000001", features, [Caption.from_text("a person walks forward")])
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from motion_r1_verl.errors import UserError
from motion_r1_verl.motion.core.constants import FEATURE_DIM, FPS, LENGTH_LIMIT, MAX_FRAMES, MIN_FRAMES, N_JOINTS
from motion_r1_verl.motion.core.lexicon import lemmatize
from motion_r1_verl.runtime.files import load_npy, save_npy_atomic, write_text_atomic

logger = logging.getLogger(__name__)

FEATURES_DIR = "new_joint_vecs"
JOINTS_DIR = "new_joints"
TEXTS_DIR = "texts"
SPLITS = ("train", "val", "test", "test_heldout")

# An id becomes a file name and a line in a split file: keep it to a safe alphabet.
_ID_RE = re.compile(r"^[A-Za-z0-9_.@-]+$")


# --------------------------------------------------------------------------------------------
# Data types
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Caption:
    """One caption line. ``start``/``end`` in seconds; both 0.0 means the whole clip."""

    text: str
    tokens: tuple[str, ...]
    start: float = 0.0
    end: float = 0.0

    @classmethod
    def from_text(cls, text: str, start: float = 0.0, end: float = 0.0) -> Caption:
        """A caption whose ``word/POS`` tokens come from :func:`tag_caption`."""
        return cls(text=text, tokens=tag_caption(text), start=start, end=end)

    @property
    def is_whole(self) -> bool:
        return self.start == 0.0 and self.end == 0.0

    def to_line(self) -> str:
        """The ``caption#tokens#start#end`` line (no newline)."""
        return f"{self.text}#{' '.join(self.tokens)}#{float(self.start)!r}#{float(self.end)!r}"


@dataclass
class MotionClip:
    """One training sample: features (T,263) float32 and the captions that describe exactly it."""

    id: str
    features: np.ndarray
    captions: list[Caption]

    @property
    def n_frames(self) -> int:
        return int(self.features.shape[0])


# The skip reason of a clip (or crop) outside the kept frame range.
LENGTH_REASON = "length out of range"


@dataclass
class ReadReport:
    """What a read kept and what it skipped.

    ``n_read``: clips returned (crops count as clips). ``skipped``: key -> reason for every clip,
    crop (key ``id@start-end``) or caption line (key ``id:line<N>``) that was left out.
    """

    n_read: int = 0
    skipped: dict[str, str] = field(default_factory=dict)

    def skip(self, key: str, reason: str) -> None:
        self.skipped[key] = reason

    def summary(self) -> str:
        if not self.skipped:
            return f"read {self.n_read} clips, skipped none"
        counts: dict[str, int] = {}
        for reason in self.skipped.values():
            kind = _reason_kind(reason)
            counts[kind] = counts.get(kind, 0) + 1
        parts = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items(), key=lambda kv: -kv[1]))
        # Name the first clip a user must fix (lengths outside the protocol's range are skipped by design).
        bad = next(((k, r) for k, r in self.skipped.items() if _reason_kind(r) != LENGTH_REASON), None)
        first = f"; first: {bad[0]}: {bad[1]}" if bad else ""
        return f"read {self.n_read} clips, skipped {len(self.skipped)} ({parts}){first}"


def _reason_kind(reason: str) -> str:
    """The short category of a reason (the text before the first ':'), for summaries."""
    return reason.split(":", 1)[0].strip()


# --------------------------------------------------------------------------------------------
# A tiny rule-based word/POS tagger
# --------------------------------------------------------------------------------------------
# HumanML3D tags with spaCy (lemma/UPOS). We only need the same shape and plausible tags for new
# captions (synthetic data, imports); the T2M evaluator maps unknown tags to OTHER anyway.

_CLOSED_CLASS: dict[str, str] = {}
for _pos, _words in {
    "DET": "a an the this that these those his her their its my your our each every some any another both all",
    "ADP": "with to in on at from by of over under into onto around across through behind toward towards "
    "along up down off out about above below between after before during like near past upon",
    "PRON": "he she it they him them i you we someone something person's himself herself themselves one",
    "CCONJ": "and or but then while",
    "SCONJ": "as if because until",
    "AUX": "is are was were be been being has have had do does did can will would should could",
    "PART": "not to",
    "ADV": "forward forwards backward backwards slowly quickly fast again back around twice once "
    "repeatedly briefly sideways together away then also very slightly still upward downward "
    "counterclockwise clockwise high low",
    "ADJ": "left right other small big large few several quick slow fast circular straight",
    "NUM": "one two three four five six seven eight nine ten",
}.items():
    for _w in _words.split():
        _CLOSED_CLASS.setdefault(_w, _pos)

_AUX_LEMMAS = {"is": "be", "are": "be", "was": "be", "were": "be", "been": "be", "being": "be"}
_AUX_LEMMAS |= {"has": "have", "had": "have", "does": "do", "did": "do"}


def tag_caption(text: str) -> tuple[str, ...]:
    """Lowercase ``lemma/POS`` tokens for a caption, punctuation dropped (like HumanML3D's texts).

    >>> tag_caption("A man walks forward and waves his right hand.")
    ('a/DET', 'man/NOUN', 'walk/VERB', 'forward/ADV', 'and/CCONJ', 'wave/VERB', 'his/DET', 'right/ADJ', 'hand/NOUN')
    """
    tokens = []
    for raw in re.findall(r"[A-Za-z0-9']+", text.lower()):
        word = raw.strip("'")
        if not word:
            continue
        if word in _CLOSED_CLASS:
            tokens.append(f"{_AUX_LEMMAS.get(word, word)}/{_CLOSED_CLASS[word]}")
            continue
        if word.isdigit():
            tokens.append(f"{word}/NUM")
            continue
        lemma, is_verb = lemmatize(word)
        if is_verb:
            pos = "VERB"
        elif word.endswith("ly") and len(word) > 4:
            pos = "ADV"
        else:
            pos = "NOUN"
            if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
                lemma = word[:-1]  # plural noun -> singular (hands -> hand)
        tokens.append(f"{lemma}/{pos}")
    return tuple(tokens)


# --------------------------------------------------------------------------------------------
# Parsing and validation (shared by the reader and ``motion-r1 data check``)
# --------------------------------------------------------------------------------------------


def parse_caption_line(line: str) -> Caption:
    """Parse one ``caption#tokens#start#end`` line; raise ``ValueError`` saying what is wrong.

    NaN start/end count as 0.0, as in the original T2M loaders (a few HumanML3D lines carry "nan").
    """
    parts = line.split("#")
    if len(parts) != 4:
        raise ValueError(f"expected 4 '#'-separated fields 'caption#tokens#start#end', got {len(parts)}")
    text, token_field, start_s, end_s = (p.strip() for p in parts)
    if not text:
        raise ValueError("empty caption text")
    tokens = tuple(token_field.split()) if token_field else ()
    for tok in tokens:
        word, slash, pos = tok.rpartition("/")
        if not slash or not word or not pos:
            raise ValueError(f"token {tok!r} is not 'word/POS'")
    try:
        start, end = float(start_s), float(end_s)
    except ValueError:
        raise ValueError(f"start/end {start_s!r}/{end_s!r} are not numbers (seconds)") from None
    start = 0.0 if math.isnan(start) else start
    end = 0.0 if math.isnan(end) else end
    if math.isinf(start) or math.isinf(end) or start < 0 or end < 0:
        raise ValueError(f"start/end {start_s}/{end_s} must be finite and >= 0 seconds")
    if not (start == 0.0 and end == 0.0) and end <= start:
        raise ValueError(f"crop end {end:g}s is not after start {start:g}s")
    return Caption(text=text, tokens=tokens, start=start, end=end)


def read_caption_file(path: Path) -> tuple[list[Caption], list[tuple[int, str]]]:
    """Captions of one texts file plus ``(line_number, reason)`` for every bad line.

    Raise ``ValueError`` (reason only) for problems with the file as a whole (missing, not UTF-8,
    no lines).
    """
    if not path.is_file():
        raise ValueError("missing caption file")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"not UTF-8 text (bad byte at offset {err.start})") from None
    captions: list[Caption] = []
    bad: list[tuple[int, str]] = []
    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue  # blank lines (e.g. a trailing newline) carry no caption
        try:
            captions.append(parse_caption_line(line))
        except ValueError as err:
            bad.append((number, str(err)))
    if not captions and not bad:
        raise ValueError("no caption lines")
    return captions, bad


def check_motion_array(array: np.ndarray, kind: str) -> np.ndarray:
    """Validate a features (``kind="features"``, (T,263)) or joints (``"joints"``, (T,22,3)) array.

    Return it as float32; raise ``ValueError`` (reason only, the caller names the file) for bad
    shape, dtype or values.
    """
    expected = (FEATURE_DIM,) if kind == "features" else (N_JOINTS, 3)
    shape_text = "(T, 263)" if kind == "features" else "(T, 22, 3)"
    if array.ndim != 1 + len(expected) or tuple(array.shape[1:]) != expected:
        raise ValueError(f"shape {tuple(array.shape)}, expected {kind} {shape_text}")
    if array.shape[0] == 0:
        raise ValueError(f"0 frames, expected {kind} {shape_text} with T > 0")
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise ValueError(f"dtype {array.dtype}, expected float32 {kind}")
    array = np.asarray(array, dtype=np.float32)
    finite = np.isfinite(array)
    if not finite.all():
        bad_frames = np.unique(np.nonzero(~finite.reshape(array.shape[0], -1))[0])
        kinds = "NaN" if np.isnan(array).any() else "inf"
        raise ValueError(f"{kinds} values in {len(bad_frames)} frame(s) (first at frame {int(bad_frames[0])})")
    return array


def is_plain_id(clip_id: str) -> bool:
    """Whether ``clip_id`` names a file inside the dataset's folders (no path separators, not . or ..)."""
    return bool(clip_id) and clip_id not in (".", "..") and not any(c in clip_id for c in "/\\\0")


def read_split_ids(root: str | os.PathLike, split: str) -> list[str]:
    """Ids listed in ``root/<split>.txt`` (blank lines ignored, order kept); every id must be a plain file
    name, so no split file can make a reader open a file outside the dataset folder."""
    path = Path(root) / f"{split}.txt"
    if path.exists() and not path.is_file():
        raise UserError(f"split file {path} is not a regular file (expected one id per line)")
    if not path.is_file():
        raise UserError(f"split file {path} not found (expected one id per line)")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise UserError(f"split file {path} is not UTF-8 text (byte {err.start})") from None
    except OSError as err:
        raise UserError(f"split file {path}: cannot read ({err.strerror or err})") from None
    ids = []
    for number, line in enumerate(text.splitlines(), start=1):
        clip_id = line.strip()
        if not clip_id:
            continue
        if not is_plain_id(clip_id):
            raise UserError(f"split file {path}:{number}: id {clip_id!r} is not a plain file name (no '/', '\\', '..')")
        ids.append(clip_id)
    return ids


# --------------------------------------------------------------------------------------------
# Reader
# --------------------------------------------------------------------------------------------


def crop_id(clip_id: str, start: float, end: float) -> str:
    return f"{clip_id}@{start:.1f}-{end:.1f}"


def iter_clips(
    root: str | os.PathLike,
    ids: Iterable[str],
    report: ReadReport,
    *,
    min_frames: int = MIN_FRAMES,
    length_limit: int | None = LENGTH_LIMIT,
    crop_frames: int | None = MAX_FRAMES,
    expand_crops: bool = True,
    strict: bool = False,
) -> Iterator[MotionClip]:
    """Yield the clips (and crops) of ``ids`` under ``root``, recording every skip in ``report``.

    A clip of ``min_frames <= T < length_limit`` frames is kept and cut to its first ``crop_frames``
    (``None``: no upper bound, no cut); the defaults are the HumanML3D protocol's 40, 200 and 196.
    ``expand_crops=False`` ignores crop captions (they are neither yielded nor reported) and keeps
    only whole-clip captions. With ``strict=True`` a bad file raises ``UserError`` instead of being
    skipped; clips out of the length range are skipped (and reported) either way.
    """
    kept_range = f"{min_frames}..{length_limit - 1}" if length_limit is not None else f">= {min_frames}"
    root = Path(root)

    def problem(key: str, reason: str) -> None:
        if strict:
            raise UserError(reason)
        report.skip(key, reason)

    for clip_id in ids:
        feature_path = root / FEATURES_DIR / f"{clip_id}.npy"
        text_path = root / TEXTS_DIR / f"{clip_id}.txt"
        try:
            features = check_motion_array(load_npy(feature_path), "features")
        except ValueError as err:
            problem(clip_id, f"bad features: {feature_path}: {err}")
            continue
        try:
            captions, bad_lines = read_caption_file(text_path)
        except ValueError as err:
            problem(clip_id, f"bad captions: {text_path}: {err}")
            continue
        for number, reason in bad_lines:
            problem(f"{clip_id}:line{number}", f"bad caption line: {text_path} line {number}: {reason}")

        # Group captions by span: the whole clip, then each distinct crop in file order.
        groups: dict[tuple[float, float], list[Caption]] = {}
        for caption in captions:
            if caption.is_whole or expand_crops:
                groups.setdefault((caption.start, caption.end), []).append(caption)
        if not groups:
            problem(clip_id, f"no usable captions: {text_path} has only crop captions and expand_crops=False")
            continue
        n_frames = features.shape[0]
        for (start, end), group in groups.items():
            if (start, end) == (0.0, 0.0):
                out_id, clip_features = clip_id, features
            else:
                out_id = crop_id(clip_id, start, end)
                first, last = int(start * FPS), int(end * FPS)
                if first >= n_frames:
                    report.skip(out_id, f"crop outside clip: starts at frame {first}, clip has {n_frames} frames")
                    continue
                clip_features = features[first:last]
            length = clip_features.shape[0]
            if length < min_frames or (length_limit is not None and length >= length_limit):
                report.skip(out_id, f"{LENGTH_REASON}: {length} frames, kept {kept_range}")
                continue
            if crop_frames is not None:
                clip_features = clip_features[:crop_frames]
            report.n_read += 1
            yield MotionClip(id=out_id, features=clip_features, captions=list(group))


def load_split(
    root: str | os.PathLike,
    split: str,
    *,
    min_frames: int = MIN_FRAMES,
    length_limit: int | None = LENGTH_LIMIT,
    crop_frames: int | None = MAX_FRAMES,
    expand_crops: bool = True,
    strict: bool = False,
) -> tuple[list[MotionClip], ReadReport]:
    """All clips of ``root/<split>.txt`` plus a report of what was skipped and why (the length rule of
    :func:`iter_clips`)."""
    if not Path(root).is_dir():
        raise UserError(f"motion folder {root} not found")
    ids = read_split_ids(root, split)
    report = ReadReport()
    clips = list(
        iter_clips(
            root,
            ids,
            report,
            min_frames=min_frames,
            length_limit=length_limit,
            crop_frames=crop_frames,
            expand_crops=expand_crops,
            strict=strict,
        )
    )
    if report.skipped:
        logger.warning("%s/%s.txt: %s", root, split, report.summary())
    return clips, report


def load_clip(root: str | os.PathLike, clip_id: str) -> MotionClip:
    """One clip (or caption crop ``id@start-end``) of ``root`` by id, read as :func:`load_split` reads it
    (the same length rule and cut). A missing, unreadable or out-of-range clip raises ``UserError``."""
    base = clip_id.partition("@")[0]
    if not is_plain_id(base):
        raise UserError(f"clip id {clip_id!r} is not a plain file name")
    report = ReadReport()
    for clip in iter_clips(root, [base], report):
        if clip.id == clip_id:
            return clip
    reason = report.skipped.get(clip_id) or report.skipped.get(base) or "no such clip or caption crop"
    raise UserError(f"{Path(root) / FEATURES_DIR / (base + '.npy')}: clip {clip_id!r} not readable: {reason}")


# --------------------------------------------------------------------------------------------
# Writer
# --------------------------------------------------------------------------------------------


def _check_id(clip_id: str) -> None:
    if not _ID_RE.match(clip_id):
        raise UserError(f"clip id {clip_id!r} must be non-empty and use only letters, digits and _ . @ -")


def _check_caption(caption: Caption, clip_id: str) -> None:
    if not caption.text.strip() or any(c in caption.text for c in "#\n\r"):
        raise UserError(f"clip {clip_id}: caption {caption.text!r} must be non-empty, without '#' or newlines")
    for tok in caption.tokens:
        word, slash, pos = tok.rpartition("/")
        if not slash or not word or not pos or any(c in tok for c in "# \n\r"):
            raise UserError(f"clip {clip_id}: token {tok!r} is not 'word/POS'")
    # Round-trip through the parser so the writer can never produce a line the reader rejects.
    try:
        parse_caption_line(caption.to_line())
    except ValueError as err:
        raise UserError(f"clip {clip_id}: caption {caption.text!r}: {err}") from None


def write_clip(
    root: str | os.PathLike,
    clip_id: str,
    features: np.ndarray,
    captions: list[Caption],
    joints: np.ndarray | None = None,
) -> None:
    """Write one clip: features, captions and (optionally) joints, each file atomically.

    Captions without tokens get them from :func:`tag_caption`.
    """
    _check_id(clip_id)
    root = Path(root)
    try:
        features = check_motion_array(np.asarray(features), "features")
    except ValueError as err:
        raise UserError(f"clip {clip_id} features: {err}") from None
    if joints is not None:
        try:
            joints = check_motion_array(np.asarray(joints), "joints")
        except ValueError as err:
            raise UserError(f"clip {clip_id} joints: {err}") from None
        if joints.shape[0] != features.shape[0]:
            raise UserError(
                f"clip {clip_id}: joints have {joints.shape[0]} frames, features {features.shape[0]} (must match)"
            )
    if not captions:
        raise UserError(f"clip {clip_id}: at least one caption is required")
    lines = []
    for caption in captions:
        if not caption.tokens:
            caption = Caption(caption.text, tag_caption(caption.text), caption.start, caption.end)
        _check_caption(caption, clip_id)
        lines.append(caption.to_line())
    save_npy_atomic(root / FEATURES_DIR / f"{clip_id}.npy", features)
    if joints is not None:
        save_npy_atomic(root / JOINTS_DIR / f"{clip_id}.npy", joints)
    write_text_atomic(root / TEXTS_DIR / f"{clip_id}.txt", "\n".join(lines) + "\n")


def write_split(root: str | os.PathLike, split: str, ids: list[str]) -> None:
    """Write ``root/<split>.txt`` (one id per line) atomically."""
    if not re.match(r"^[A-Za-z0-9_-]+$", split):
        raise UserError(f"split name {split!r} must use only letters, digits, _ and -")
    for clip_id in ids:
        _check_id(clip_id)
    write_text_atomic(Path(root) / f"{split}.txt", "".join(f"{i}\n" for i in ids))
