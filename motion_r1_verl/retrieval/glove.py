"""Word vectors and POS one-hots for the Guo et al. (2022) text encoder, loaded safely.

The official evaluator reads ``our_vab_data.npy`` (N, 300) GloVe vectors, ``our_vab_words.pkl`` (list of N
words) and ``our_vab_idx.pkl`` (word -> row). The .pkl files are pickles, and a pickle can run code on load,
so they go through :class:`PlainDataUnpickler`, which refuses every global (class/function reference): only
plain lists, dicts, strings and numbers can come out. The result is then type-checked.

Caption tokens are HumanML3D's ``word/POS`` strings. As in the official ``WordVectorizer``, a word in one of
the "VIP" lists (directions, body parts, objects, actions, manners) gets that list's POS slot, an unknown word
becomes ``unk`` with POS ``OTHER``, and a caption becomes ``sos`` + at most 20 tokens + ``eos``, padded with
``unk`` to 22.

A judge trained on our own data (:mod:`motion_r1_verl.retrieval.guo_train`) has its own word vectors, saved
without pickle: ``word_vectors.npy`` (N, d) + ``word_vectors.json`` (the N words in row order), see
:meth:`WordVectors.save` / :meth:`WordVectors.load_saved`.
"""

from __future__ import annotations

import io
import json
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from motion_r1_verl.errors import UserError

# The 15 POS slots of the official evaluator, in its order (the one-hot layout of the checkpoint).
POS_ENUMERATOR: dict[str, int] = {
    "VERB": 0,
    "NOUN": 1,
    "DET": 2,
    "ADP": 3,
    "NUM": 4,
    "AUX": 5,
    "PRON": 6,
    "ADJ": 7,
    "ADV": 8,
    "Loc_VIP": 9,
    "Body_VIP": 10,
    "Obj_VIP": 11,
    "Act_VIP": 12,
    "Desc_VIP": 13,
    "OTHER": 14,
}
_LOC = ("left", "right", "clockwise", "counterclockwise", "anticlockwise", "forward", "back", "backward", "up",
        "down", "straight", "curve")  # fmt: skip
_BODY = ("arm", "chin", "foot", "feet", "face", "hand", "mouth", "leg", "waist", "eye", "knee", "shoulder", "thigh")
_OBJ = ("stair", "dumbbell", "chair", "window", "floor", "car", "ball", "handrail", "baseball", "basketball")
_ACT = ("walk", "run", "swing", "pick", "bring", "kick", "put", "squat", "throw", "hop", "dance", "jump", "turn",
        "stumble", "dance", "stop", "sit", "lift", "lower", "raise", "wash", "stand", "kneel", "stroll", "rub", "bend",
        "balance", "flap", "jog", "shuffle", "lean", "rotate", "spin", "spread", "climb")  # fmt: skip
_DESC = ("slowly", "carefully", "fast", "careful", "slow", "quickly", "happy", "angry", "sad", "happily", "angrily",
         "sadly")  # fmt: skip
# First matching list wins, in this order (the official dict's insertion order).
VIP_LISTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Loc_VIP", _LOC),
    ("Body_VIP", _BODY),
    ("Obj_VIP", _OBJ),
    ("Act_VIP", _ACT),
    ("Desc_VIP", _DESC),
)
MAX_TEXT_LEN = 20  # tokens kept from a caption (before sos/eos)
WORD_DIM = 300  # the official GloVe vectors' size
SPECIAL_WORDS = ("sos", "eos", "unk")
SAVED_VECTORS = "word_vectors.npy"
SAVED_WORDS = "word_vectors.json"


class PlainDataUnpickler(pickle.Unpickler):
    """Unpickler that refuses every global: lists/dicts/str/int/float only, no code execution."""

    def find_class(self, module: str, name: str):  # noqa: D401 - pickle API
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only plain data is allowed here")


def load_plain_pickle(path: Path) -> object:
    """Load a pickle of plain Python data through :class:`PlainDataUnpickler`."""
    try:
        return PlainDataUnpickler(io.BytesIO(path.read_bytes())).load()
    except (pickle.UnpicklingError, EOFError, ValueError) as err:
        raise UserError(f"{path}: not a plain-data pickle ({err})") from err


@dataclass
class WordVectors:
    """Word vector rows per word (GloVe or our own), and the official token -> (vector, POS one-hot) mapping."""

    vectors: np.ndarray  # (N, d) float32; d = 300 for GloVe
    word_to_row: dict[str, int]

    def __post_init__(self) -> None:
        for special in SPECIAL_WORDS:
            if special not in self.word_to_row:
                raise UserError(f"word list has no {special!r} entry (the evaluator needs sos/eos/unk)")
        if self.vectors.ndim != 2 or self.vectors.shape[1] < 1:
            raise UserError(f"word vectors must be (N, d), got {self.vectors.shape}")
        if max(self.word_to_row.values()) >= len(self.vectors) or min(self.word_to_row.values()) < 0:
            raise UserError(f"word index points outside the {len(self.vectors)} vectors")

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    @classmethod
    def load(cls, directory: str | Path, prefix: str = "our_vab") -> WordVectors:
        """Read ``<prefix>_data.npy``, ``<prefix>_words.pkl`` and ``<prefix>_idx.pkl`` from ``directory``."""
        directory = Path(directory)
        paths = {k: directory / f"{prefix}_{k}" for k in ("data.npy", "words.pkl", "idx.pkl")}
        absent = [str(p) for p in paths.values() if not p.is_file()]
        if absent:
            raise UserError(f"GloVe files missing: {', '.join(absent)} (the official evaluator's glove/ folder)")
        words = load_word_list(paths["words.pkl"])
        index = load_word_index(paths["idx.pkl"])
        try:
            vectors = np.load(paths["data.npy"], allow_pickle=False).astype(np.float32)
        except ValueError as err:
            raise UserError(f"{paths['data.npy']}: not a plain .npy array ({err})") from err
        unknown = [w for w in words if w not in index]
        if unknown:
            raise UserError(f"{paths['words.pkl']}: {len(unknown)} words have no index, e.g. {unknown[:3]}")
        if vectors.ndim != 2 or vectors.shape[1] != WORD_DIM:
            raise UserError(f"{paths['data.npy']}: GloVe vectors must be (N, {WORD_DIM}), got {vectors.shape}")
        return cls(vectors, {w: index[w] for w in words})

    def save(self, directory: str | Path) -> None:
        """``word_vectors.npy`` (N, d) float32 + ``word_vectors.json`` (the words in row order) into ``directory``.

        One row per word (rows of a GloVe table that no word points to are left out).
        """
        directory = Path(directory)
        by_row = sorted(self.word_to_row.items(), key=lambda kv: kv[1])
        rows = np.array([r for _, r in by_row])
        np.save(directory / SAVED_VECTORS, self.vectors[rows].astype(np.float32), allow_pickle=False)
        (directory / SAVED_WORDS).write_text(json.dumps({"words": [w for w, _ in by_row]}, indent=0))

    @classmethod
    def load_saved(cls, directory: str | Path) -> WordVectors:
        """Read what :meth:`save` wrote (``np.load(allow_pickle=False)`` and JSON only)."""
        directory = Path(directory)
        vec_path, words_path = directory / SAVED_VECTORS, directory / SAVED_WORDS
        absent = [str(p) for p in (vec_path, words_path) if not p.is_file()]
        if absent:
            raise UserError(f"word vectors missing: {', '.join(absent)}")
        try:
            vectors = np.load(vec_path, allow_pickle=False)
        except ValueError as err:
            raise UserError(f"{vec_path}: not a plain .npy array ({err})") from err
        try:
            words = json.loads(words_path.read_text(encoding="utf-8"))["words"]
        except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError) as err:
            raise UserError(f"{words_path}: expected {{'words': [...]}} ({err})") from err
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words) or len(set(words)) != len(words):
            raise UserError(f"{words_path}: 'words' must be a list of distinct strings")
        if vectors.ndim != 2 or len(vectors) != len(words) or not np.issubdtype(vectors.dtype, np.floating):
            raise UserError(f"{vec_path}: {vectors.shape} {vectors.dtype} array does not fit {len(words)} words")
        if not np.isfinite(vectors).all():
            raise UserError(f"{vec_path}: contains NaN or inf")
        return cls(vectors.astype(np.float32), {w: i for i, w in enumerate(words)})

    def pos_onehot(self, pos: str) -> np.ndarray:
        vec = np.zeros(len(POS_ENUMERATOR), np.float32)
        vec[POS_ENUMERATOR.get(pos, POS_ENUMERATOR["OTHER"])] = 1.0
        return vec

    def token(self, token: str) -> tuple[np.ndarray, np.ndarray]:
        """``"word/POS"`` -> (d-dim vector, 15-d POS one-hot), as the official WordVectorizer."""
        word, _, pos = token.partition("/")
        if word not in self.word_to_row:
            return self.vectors[self.word_to_row["unk"]], self.pos_onehot("OTHER")
        vip = next((name for name, words in VIP_LISTS if word in words), None)
        return self.vectors[self.word_to_row[word]], self.pos_onehot(vip or pos)

    def caption(self, tokens: tuple[str, ...] | list[str]) -> tuple[np.ndarray, np.ndarray, int]:
        """Tokens -> word vectors (22, d), POS one-hots (22, 15) and the real length (sos/eos included)."""
        kept = list(tokens)[:MAX_TEXT_LEN]
        seq = ["sos/OTHER", *kept, "eos/OTHER"]
        length = len(seq)
        seq += ["unk/OTHER"] * (MAX_TEXT_LEN + 2 - length)
        words, poses = zip(*(self.token(t) for t in seq), strict=True)
        return np.stack(words).astype(np.float32), np.stack(poses), length


def load_word_list(path: Path) -> list[str]:
    words = load_plain_pickle(path)
    if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
        raise UserError(f"{path}: expected a pickled list of words")
    return words


def load_word_index(path: Path) -> dict[str, int]:
    index = load_plain_pickle(path)
    if not isinstance(index, dict) or not all(isinstance(k, str) and isinstance(v, int) for k, v in index.items()):
        raise UserError(f"{path}: expected a pickled dict word -> int")
    return index
