"""Locating, checking and loading SMPL model files: exact one-line errors, chumpy-free and restricted loading."""

import pickle
import sys
import types

import numpy as np
import pytest
from smpl_standin import build_standin_arrays, write_standin_model

from motion_r1_verl.cli.main import main
from motion_r1_verl.errors import UserError
from motion_r1_verl.motion.outputs.smpl.model_files import (
    SMPL_URL,
    build_smpl,
    convert_model_file,
    find_model_file,
    load_model_arrays,
    read_model_pickle,
)


def test_missing_folder_names_the_file_and_where_to_get_it(tmp_path):
    with pytest.raises(UserError) as err:
        find_model_file(tmp_path / "nowhere")
    message = str(err.value)
    assert str(tmp_path / "nowhere" / "smpl" / "SMPL_NEUTRAL.pkl") in message
    assert SMPL_URL in message and "\n" not in message


def test_folder_without_the_file_hints_at_renaming(tmp_path):
    (tmp_path / "smpl").mkdir()
    (tmp_path / "smpl" / "basicmodel_neutral_lbs_10_207_0_v1.1.0.pkl").write_bytes(b"x")
    with pytest.raises(UserError, match=r"smpl/SMPL_NEUTRAL\.pkl not found \(found basicmodel_neutral.*rename"):
        find_model_file(tmp_path)
    with pytest.raises(UserError, match=r"SMPL_FEMALE\.pkl not found"):
        find_model_file(tmp_path, "female")


def test_accepts_the_folder_the_smpl_subfolder_or_the_file(smpl_dir):
    expected = smpl_dir / "smpl" / "SMPL_NEUTRAL.pkl"
    assert find_model_file(smpl_dir) == expected
    assert find_model_file(smpl_dir / "smpl") == expected
    assert find_model_file(expected) == expected


def test_wrong_vertex_count_is_reported_with_the_key(tmp_path):
    arrays = build_standin_arrays()
    arrays["v_template"] = arrays["v_template"][:100]
    write_standin_model(tmp_path, arrays=arrays)
    with pytest.raises(UserError, match=r"v_template has shape \(100, 3\), expected \(6890, 3\)"):
        load_model_arrays(tmp_path)


def test_missing_keys_are_listed(tmp_path):
    arrays = build_standin_arrays()
    del arrays["posedirs"], arrays["weights"]
    write_standin_model(tmp_path, arrays=arrays)
    with pytest.raises(UserError, match="missing keys posedirs, weights"):
        load_model_arrays(tmp_path)


def test_wrong_kinematic_tree_is_refused(tmp_path):
    arrays = build_standin_arrays()
    arrays["kintree_table"] = arrays["kintree_table"].copy()
    arrays["kintree_table"][0, 5] = 1  # right knee hung off the left hip
    write_standin_model(tmp_path, arrays=arrays)
    with pytest.raises(UserError, match="kintree_table is not the SMPL body tree"):
        load_model_arrays(tmp_path)


class _Exploit:
    def __reduce__(self):
        return (print, ("pickled code ran",))


def test_pickles_with_other_classes_are_refused_without_running_them(tmp_path, capsys):
    path = tmp_path / "smpl" / "SMPL_NEUTRAL.pkl"
    path.parent.mkdir()
    path.write_bytes(pickle.dumps({"v_template": _Exploit()}))
    with pytest.raises(UserError, match=r"refusing to load builtins\.print"):
        read_model_pickle(path)
    assert "pickled code ran" not in capsys.readouterr().out


def _chumpy_pickle(arrays: dict) -> bytes:
    """A pickle shaped like the official SMPL files: arrays wrapped in chumpy.ch.Ch, J_regressor scipy sparse."""
    import scipy.sparse

    ch_module = types.ModuleType("chumpy.ch")

    class Ch:  # what chumpy's Ch pickles as: its __dict__ minus caches, value under "x"
        def __init__(self, x):
            self.x, self._dirty_vars = x, set()

        def __getstate__(self):
            return dict(self.__dict__)

    Ch.__module__, Ch.__qualname__ = "chumpy.ch", "Ch"
    ch_module.Ch = Ch
    saved = {name: sys.modules.get(name) for name in ("chumpy", "chumpy.ch")}
    sys.modules["chumpy"], sys.modules["chumpy.ch"] = types.ModuleType("chumpy"), ch_module
    try:
        wrapped = {
            k: (Ch(v) if k in ("v_template", "shapedirs", "posedirs", "weights") else v) for k, v in arrays.items()
        }
        wrapped["J_regressor"] = scipy.sparse.csc_matrix(arrays["J_regressor"])
        wrapped["bs_style"] = "lbs"
        return pickle.dumps(wrapped, protocol=2)
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def test_chumpy_files_load_without_chumpy_and_convert_for_smplx(tmp_path):
    import smplx
    import torch

    arrays = build_standin_arrays()
    original = tmp_path / "download" / "basicmodel_neutral.pkl"
    original.parent.mkdir()
    original.write_bytes(_chumpy_pickle(arrays))
    assert "chumpy" not in sys.modules
    with pytest.raises(ModuleNotFoundError, match="chumpy"):  # what smplx's plain pickle.load runs into
        pickle.loads(original.read_bytes())

    _, loaded = load_model_arrays(original)
    np.testing.assert_array_equal(loaded["v_template"], arrays["v_template"])
    np.testing.assert_allclose(loaded["J_regressor"], arrays["J_regressor"])

    assert main(["export", "smpl-convert", str(original), str(tmp_path / "models" / "smpl" / "SMPL_NEUTRAL.pkl")]) == 0
    # smplx's own loader (plain pickle.load) reads the converted file.
    model = smplx.create(str(tmp_path / "models"), model_type="smpl", gender="neutral")
    rest = model(betas=torch.zeros(1, 10)).joints[0, :24].detach().numpy()
    np.testing.assert_allclose(rest, arrays["J_regressor"] @ arrays["v_template"], atol=1e-5)
    assert convert_model_file(original, tmp_path / "again.pkl").is_file()


@pytest.mark.parametrize(
    ("corrupt", "expected"),
    [
        (lambda m: setattr(m, "indices", m.indices + 10**9), "outside"),
        (lambda m: setattr(m, "indptr", m.indptr[::-1].copy()), "indptr"),
        (lambda m: setattr(m, "data", m.data[:1].copy()), "differ in length|indptr"),
        (lambda m: setattr(m, "_shape", (10**6, 10**6)), "exceeds"),
        (lambda m: setattr(m, "indices", m.indices.astype(np.float64)), "dtype"),
    ],
    ids=["index-out-of-range", "falling-indptr", "short-data", "huge-shape", "float-indices"],
)
def test_hostile_sparse_matrices_are_refused_before_any_cell_is_written(tmp_path, corrupt, expected):
    """A crafted J_regressor whose arrays point outside its shape would make scipy's own toarray() write
    out of bounds; the loader validates every index first and names the key."""
    import scipy.sparse

    arrays = build_standin_arrays()
    matrix = scipy.sparse.csc_matrix(arrays["J_regressor"])
    corrupt(matrix)  # scipy checks nothing on attribute assignment
    hostile = {**arrays, "J_regressor": matrix}
    path = tmp_path / "SMPL_NEUTRAL.pkl"
    path.write_bytes(pickle.dumps(hostile, protocol=2))
    with pytest.raises(UserError, match=f"J_regressor is a malformed csc sparse matrix.*({expected})"):
        load_model_arrays(path)


@pytest.mark.parametrize("fmt", ["csr", "coo"])
def test_other_sparse_formats_load_exactly(tmp_path, fmt):
    import scipy.sparse

    arrays = build_standin_arrays()
    matrix = getattr(scipy.sparse, f"{fmt}_matrix")(arrays["J_regressor"])
    path = tmp_path / "SMPL_NEUTRAL.pkl"
    path.write_bytes(pickle.dumps({**arrays, "J_regressor": matrix}, protocol=2))
    _, loaded = load_model_arrays(path)
    np.testing.assert_allclose(loaded["J_regressor"], arrays["J_regressor"])


def test_build_smpl_is_a_smplx_model_with_the_files_faces(smpl_dir):
    model = build_smpl(smpl_dir)
    arrays = build_standin_arrays()
    np.testing.assert_array_equal(model.faces, arrays["f"])
    assert model.num_betas == 10


@pytest.mark.parametrize(
    "argv_tail, expected",
    [
        # no such folder: the full expected path and where to download it
        (["--smpl-model", "{tmp}/missing"], "missing/smpl/SMPL_NEUTRAL.pkl: download SMPL (version 1.1.0"),
        # folder exists, gender file absent
        (["--smpl-model", "{tmp}", "--gender", "male"], "smpl/SMPL_MALE.pkl not found; download SMPL"),
        # a file that is not a .pkl
        (["--smpl-model", "{tmp}/motion.npy"], "expected the folder holding smpl/SMPL_NEUTRAL.pkl"),
    ],
    ids=["missing-folder", "missing-gender-file", "not-a-model"],
)
def test_cli_reports_model_problems_in_one_line(tmp_path, capsys, argv_tail, expected):
    np.save(tmp_path / "motion.npy", np.zeros((10, 22, 3), np.float32))
    argv = ["export", "smpl", str(tmp_path / "motion.npy"), "--out", str(tmp_path / "out.npz")]
    code = main(argv + [a.format(tmp=tmp_path) for a in argv_tail])
    err = capsys.readouterr().err
    assert code == 2
    assert expected in err
    assert err.startswith("motion-r1 export: error: ") and err.count("\n") == 1
    assert not (tmp_path / "out.npz").exists()
