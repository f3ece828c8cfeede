"""Finding, checking and loading the SMPL model file, without chumpy and without trusting the pickle.

What: ``find_model_file`` turns the user's ``--smpl-model DIR`` into the ``.pkl`` smplx would read
(``DIR/smpl/SMPL_NEUTRAL.pkl``, also accepting ``DIR/SMPL_NEUTRAL.pkl`` or the file itself) and says,
in one line, exactly which file is missing and where to get it. ``load_model_arrays`` reads that file
with a restricted unpickler and checks every key smplx needs; ``build_smpl`` hands the arrays to
``smplx.SMPL`` as its ``data_struct``; ``convert_model_file`` writes a plain-numpy copy.

Why: the SMPL files are licensed (https://smpl.is.tue.mpg.de), so we cannot ship or download them. The
official pickles reference ``chumpy`` objects and chumpy does not import on numpy 2, so smplx's own
``pickle.load`` fails on them. Unpickling runs arbitrary code, so instead of installing chumpy we allow
only numpy/scipy array classes and turn each chumpy ``Ch`` into its value array (its pickled state keeps
the value under ``x``).
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from motion_r1_verl.errors import UserError, field_error
from motion_r1_verl.runtime.files import atomic_write

SMPL_URL = "https://smpl.is.tue.mpg.de"
GENDERS = ("neutral", "male", "female")
N_SMPL_JOINTS = 24
N_SMPL_VERTICES = 6890  # smplx picks extra joints (nose, toes, ...) by vertex id, so the topology is fixed
N_POSE_BASIS = 9 * (N_SMPL_JOINTS - 1)  # pose blend shapes: one per rotation-matrix entry of each non-root joint
# The SMPL kinematic tree (parents of joints 0..23); the first 22 are HumanML3D's skeleton.
SMPL_PARENTS = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21)
ROOT_PARENT = 4294967295  # how SMPL files write the root's parent (uint32 -1)
REQUIRED_KEYS = ("v_template", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table", "f")


def model_file_name(gender: str) -> str:
    """``SMPL_NEUTRAL.pkl`` etc.: the name smplx looks for."""
    if gender not in GENDERS:
        raise UserError(f"gender {gender!r}: expected one of {', '.join(GENDERS)}")
    return f"SMPL_{gender.upper()}.pkl"


def _where_to_get(name: str = "SMPL_NEUTRAL.pkl") -> str:
    gender = name[5:-4].lower() if name.startswith("SMPL_") else "neutral"
    return (
        f"download SMPL (version 1.1.0 for Python) from {SMPL_URL} (free registration), "
        f"and save its {gender} model as <DIR>/smpl/{name if name.startswith('SMPL_') else 'SMPL_NEUTRAL.pkl'}"
    )


def find_model_file(model_dir: str | os.PathLike, gender: str = "neutral") -> Path:
    """The SMPL ``.pkl`` for ``gender`` in ``model_dir``; one-line ``UserError`` naming the expected file.

    Accepts the folder smplx wants (``DIR`` holding ``smpl/SMPL_NEUTRAL.pkl``), the ``smpl`` folder
    itself, or the ``.pkl`` file.
    """
    name = model_file_name(gender)
    path = Path(model_dir)
    if path.is_file():
        if path.suffix.lower() != ".pkl":
            raise field_error("model_dir", f"{path}: expected the folder holding smpl/{name} (or that .pkl file)")
        return path
    if not path.is_dir():
        raise UserError(
            f"--smpl-model {path}: folder not found; expected {path / 'smpl' / name}: {_where_to_get(name)}"
        )
    for candidate in (path / "smpl" / name, path / name):
        if candidate.is_file():
            return candidate
    found = sorted(p.name for p in (*path.glob("*.pkl"), *path.glob("smpl/*.pkl")))
    hint = f" (found {', '.join(found)}: rename the {gender} one to {name})" if found else ""
    raise UserError(f"SMPL model file {path / 'smpl' / name} not found{hint}; {_where_to_get(name)}")


# --------------------------------------------------------------------------------------------
# Restricted unpickling
# --------------------------------------------------------------------------------------------


class _ChumpyValue:
    """Stands in for any chumpy class while unpickling; keeps the pickled state (value under ``x``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.state: dict = {}

    def __setstate__(self, state: Any) -> None:
        self.state = state if isinstance(state, dict) else {"x": state}


_ALLOWED = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("copy_reg", "_reconstructor"),
    ("copyreg", "_reconstructor"),
    ("__builtin__", "object"),
    ("builtins", "object"),
    ("_codecs", "encode"),  # how protocol-2 pickles written by Python 3 store bytes (array buffers)
    # Plain containers inside chumpy objects' state (e.g. their _dirty_vars set).
    ("__builtin__", "set"),
    ("builtins", "set"),
    ("__builtin__", "frozenset"),
    ("builtins", "frozenset"),
}
_SPARSE = {"csc_matrix", "csr_matrix", "coo_matrix"}
# The largest dense matrix a sparse entry may expand to (SMPL's J_regressor is 24 x 6890).
MAX_SPARSE_CELLS = 10_000_000


class _SparseValue:
    """Stands in for a scipy sparse matrix while unpickling: keeps the pickled state, never builds scipy's
    object (whose methods index memory with the pickled arrays unchecked). :meth:`dense` validates every
    index against the shape before writing a cell."""

    format = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.state: dict = {}

    def __setstate__(self, state: Any) -> None:
        self.state = state if isinstance(state, dict) else {}

    def dense(self, key: str, path: Path) -> np.ndarray:
        def bad(what: str) -> UserError:
            return UserError(f"SMPL model file {path}: {key} is a malformed {self.format} sparse matrix ({what})")

        state = getattr(self, "state", {})
        shape = state.get("_shape", state.get("shape"))
        if not (
            isinstance(shape, tuple)
            and len(shape) == 2
            and all(isinstance(n, int | np.integer) and not isinstance(n, bool) and n >= 0 for n in shape)
        ):
            raise bad(f"shape {shape!r}, expected two non-negative integers")
        rows, cols = int(shape[0]), int(shape[1])
        if rows * cols > MAX_SPARSE_CELLS:
            raise bad(f"shape {rows} x {cols} exceeds {MAX_SPARSE_CELLS} cells")

        def array(name: str, integer: bool) -> np.ndarray:
            value = state.get(name)
            if not isinstance(value, np.ndarray) or value.ndim != 1:
                raise bad(f"{name} is not a 1-d array")
            if integer and value.dtype.kind not in "iu":
                raise bad(f"{name} has dtype {value.dtype}, expected integers")
            if not integer and value.dtype.kind not in "iuf":
                raise bad(f"{name} has dtype {value.dtype}, expected numbers")
            return value.astype(np.int64) if integer else value.astype(np.float64)

        data = array("data", integer=False)
        if self.format == "coo":
            coords = state.get("coords")  # scipy >= 1.13 keeps a tuple of index arrays; older ones row/col
            if isinstance(coords, tuple) and len(coords) == 2:
                state = {**state, "row": coords[0], "col": coords[1]}
            row, col = array("row", integer=True), array("col", integer=True)
        else:
            indices, indptr = array("indices", integer=True), array("indptr", integer=True)
            major = cols if self.format == "csc" else rows
            if len(indptr) != major + 1 or indptr[0] != 0 or np.any(np.diff(indptr) < 0):
                raise bad(f"indptr must rise from 0 in {major + 1} entries")
            if indptr[-1] != len(indices):
                raise bad("indptr does not end at the number of indices")
            starts = np.repeat(np.arange(major), np.diff(indptr))
            row, col = (indices, starts) if self.format == "csc" else (starts, indices)
        if not len(row) == len(col) == len(data):
            raise bad("index and data arrays differ in length")
        if len(row) and (row.min() < 0 or row.max() >= rows or col.min() < 0 or col.max() >= cols):
            raise bad(f"an index lies outside the {rows} x {cols} shape")
        out = np.zeros((rows, cols), dtype=np.float64)
        np.add.at(out, (row, col), data)  # duplicate entries add up, as in scipy
        return out


# Pickles rebuild objects with object.__new__ (no __init__), so the format is a class attribute.
_SPARSE_STANDINS = {name: type(f"_Sparse_{name}", (_SparseValue,), {"format": name[:3]}) for name in sorted(_SPARSE)}


class _RestrictedUnpickler(pickle.Unpickler):
    """Only numpy arrays, stand-ins for chumpy values and scipy sparse matrices; anything else is refused."""

    def find_class(self, module: str, name: str) -> Any:
        if module.split(".")[0] == "chumpy":
            return _ChumpyValue
        if (module, name) in _ALLOWED:
            # Pickles from numpy 1.x name numpy.core, a deprecated alias of numpy._core in numpy 2.
            renamed = {
                "copy_reg": "copyreg",
                "__builtin__": "builtins",
                "numpy.core.multiarray": "numpy._core.multiarray",
            }
            return super().find_class(renamed.get(module, module), name)
        if module.startswith("scipy.sparse") and name in _SPARSE:
            return _SPARSE_STANDINS[name]
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} (only numpy/scipy arrays are allowed)")


def _plain(key: str, value: Any, path: Path) -> Any:
    """Chumpy stand-ins -> numpy arrays; scipy sparse -> dense float arrays; other values unchanged."""
    if isinstance(value, _ChumpyValue):
        if "x" not in value.state:
            raise UserError(f"SMPL model file {path}: key {key!r} is a chumpy expression without a stored value")
        return np.asarray(value.state["x"])
    if isinstance(value, _SparseValue):
        return value.dense(key, path)
    return value


def read_model_pickle(path: str | os.PathLike) -> dict[str, Any]:
    """All entries of a SMPL ``.pkl`` as plain numpy values (restricted unpickler; chumpy not needed)."""
    path = Path(path)
    try:
        data = _RestrictedUnpickler(io.BytesIO(path.read_bytes()), encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError) as err:
        raise UserError(
            f"SMPL model file {path} is not a readable SMPL pickle ({err}); {_where_to_get(path.name)}"
        ) from None
    if not isinstance(data, dict):
        raise UserError(f"SMPL model file {path}: expected a pickled dict of arrays, got {type(data).__name__}")
    return {key: _plain(key, value, path) for key, value in data.items()}


def check_model_arrays(data: dict[str, Any], path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The keys smplx needs, as arrays with checked shapes; ``UserError`` naming the first bad key."""
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise UserError(f"SMPL model file {path}: missing keys {', '.join(missing)} (is it a SMPL body model?)")
    arrays = {k: np.asarray(data[k]) for k in REQUIRED_KEYS}
    n_vertices = arrays["v_template"].shape[0]
    expected = {
        "v_template": (N_SMPL_VERTICES, 3),
        "shapedirs": (N_SMPL_VERTICES, 3, None),
        "posedirs": (N_SMPL_VERTICES, 3, N_POSE_BASIS),
        "J_regressor": (N_SMPL_JOINTS, N_SMPL_VERTICES),
        "weights": (N_SMPL_VERTICES, N_SMPL_JOINTS),
        "kintree_table": (2, N_SMPL_JOINTS),
        "f": (None, 3),
    }
    for key, shape in expected.items():
        got = arrays[key].shape
        if len(got) != len(shape) or any(s is not None and g != s for g, s in zip(got, shape, strict=False)):
            want = "(" + ", ".join("N" if s is None else str(s) for s in shape) + ")"
            raise UserError(
                f"SMPL model file {path}: {key} has shape {got}, expected {want} "
                f"(a SMPL body model has {N_SMPL_VERTICES} vertices and {N_SMPL_JOINTS} joints; "
                f"this one has {n_vertices} vertices)"
            )
    parents = arrays["kintree_table"][0].astype(np.int64)
    parents = np.where(parents >= N_SMPL_JOINTS, -1, parents)
    if tuple(int(p) for p in parents) != SMPL_PARENTS:
        raise UserError(f"SMPL model file {path}: kintree_table is not the SMPL body tree (parents {parents.tolist()})")
    faces = arrays["f"]
    if faces.min() < 0 or faces.max() >= n_vertices:
        raise UserError(f"SMPL model file {path}: face indices outside 0..{n_vertices - 1}")
    for key in ("v_template", "shapedirs", "posedirs", "J_regressor", "weights"):
        if not np.isfinite(arrays[key]).all():
            raise UserError(f"SMPL model file {path}: {key} contains NaN or inf")
    return arrays


def load_model_arrays(model_dir: str | os.PathLike, gender: str = "neutral") -> tuple[Path, dict[str, np.ndarray]]:
    """Locate, read and check the SMPL model: (file path, arrays smplx needs)."""
    path = find_model_file(model_dir, gender)
    return path, check_model_arrays(read_model_pickle(path), path)


def build_smpl(model_dir: str | os.PathLike, gender: str = "neutral", *, num_betas: int = 10, device: Any = "cpu"):
    """A ``smplx.SMPL`` body model (batch size 1, float32) on ``device`` from the checked arrays.

    The arrays go in as smplx's ``data_struct``, so smplx never unpickles the file itself.
    """
    import smplx
    from smplx.utils import Struct

    path, arrays = load_model_arrays(model_dir, gender)
    num_betas = min(num_betas, arrays["shapedirs"].shape[-1])
    # smplx prints a warning to stdout for every model with 10 betas (SMPL 1.1.0 has 10); keep stdout ours.
    with contextlib.redirect_stdout(io.StringIO()):
        model = smplx.SMPL(
            model_path=str(path), data_struct=Struct(**arrays), gender=gender, num_betas=num_betas, create_transl=False
        )
    return model.to(device)


def convert_model_file(src: str | os.PathLike, dst: str | os.PathLike) -> Path:
    """Write a chumpy-free copy of a SMPL ``.pkl`` (plain numpy arrays, dense ``J_regressor``) to ``dst``.

    The copy loads with a plain ``pickle.load`` (as smplx does), so other smplx-based tools can use it.
    """
    src, dst = Path(src), Path(dst)
    if not src.is_file():
        raise UserError(f"SMPL model file {src} not found; {_where_to_get(src.name)}")
    data = read_model_pickle(src)
    check_model_arrays(data, src)
    plain = {k: (np.asarray(v) if isinstance(v, np.ndarray) else v) for k, v in data.items()}
    return atomic_write(dst, lambda tmp: tmp.write_bytes(pickle.dumps(plain, protocol=4)))
