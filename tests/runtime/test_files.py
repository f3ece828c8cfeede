"""The atomic writers on real files: round trips, one permission policy, nothing changed or left behind on failure."""

import io
import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from motion_r1_verl.runtime.files import (
    DIR_MODE,
    FILE_MODE,
    atomic_dir,
    atomic_write,
    load_npy,
    publish_file,
    recover_dir,
    save_npy_atomic,
    write_bytes_atomic,
    write_json_atomic,
    write_jsonl_atomic,
    write_text_atomic,
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


class Boom(Exception):
    pass


@pytest.fixture(autouse=True)
def strict_umask():
    """Under umask 077 a plain open() would give 0600: the policy must not depend on the caller's umask."""
    previous = os.umask(0o077)
    yield
    os.umask(previous)


def test_each_writer_round_trips_with_the_file_mode(tmp_path):
    array = np.arange(12, dtype=np.float32).reshape(3, 4)
    rows = [{"id": "a", "caption": "walks — forward"}, {"id": "b", "n": [1, 2]}]
    written = {
        "raw.bin": write_bytes_atomic(tmp_path / "raw.bin", b"\x00\x01\xff"),
        "text.txt": write_text_atomic(tmp_path / "text.txt", "line one\r\nünïcode\n"),
        "payload.json": write_json_atomic(tmp_path / "payload.json", {"a": 1, "b": [1.5, None]}),
        "rows.jsonl": write_jsonl_atomic(tmp_path / "rows.jsonl", iter(rows)),
        "array.npy": save_npy_atomic(tmp_path / "array.npy", array),
        "durable.txt": write_text_atomic(tmp_path / "durable.txt", "kept", durable=True),
    }
    assert written == {name: tmp_path / name for name in written}
    assert (tmp_path / "raw.bin").read_bytes() == b"\x00\x01\xff"
    assert (tmp_path / "text.txt").read_bytes() == "line one\r\nünïcode\n".encode()  # no newline translation
    assert (tmp_path / "payload.json").read_text() == '{\n  "a": 1,\n  "b": [\n    1.5,\n    null\n  ]\n}\n'
    lines = (tmp_path / "rows.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == rows and "—" in lines[0]  # non-ASCII kept as is
    loaded = np.load(tmp_path / "array.npy", allow_pickle=False)
    assert loaded.dtype == np.float32 and np.array_equal(loaded, array)
    assert (tmp_path / "durable.txt").read_text() == "kept"
    assert {name: mode(tmp_path / name) for name in written} == dict.fromkeys(written, FILE_MODE)
    assert entries(tmp_path) == sorted(written)  # no temp left behind


def test_parent_folders_are_created(tmp_path):
    target = write_text_atomic(tmp_path / "a" / "b" / "c.txt", "x")
    assert target.read_text() == "x"


def test_a_failing_writer_leaves_the_old_file_and_no_temp(tmp_path):
    target = tmp_path / "report.json"
    target.write_text("old")

    def half_then_fail(tmp: Path) -> None:
        tmp.write_text("half of the new cont")
        raise Boom

    with pytest.raises(Boom):
        atomic_write(target, half_then_fail)
    assert target.read_text() == "old"
    assert entries(tmp_path) == ["report.json"]


def test_an_interrupt_is_cleaned_up_and_propagates(tmp_path):
    def interrupted(tmp: Path) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(tmp_path / "new.txt", interrupted, durable=True)
    assert entries(tmp_path) == []


def test_a_failing_writer_creates_no_target(tmp_path):
    with pytest.raises(ValueError, match="allow_pickle"):
        save_npy_atomic(tmp_path / "a.npy", np.array([object()], dtype=object))  # pickles are refused
    assert entries(tmp_path) == []


def test_an_existing_target_is_replaced_in_one_rename(tmp_path):
    target = tmp_path / "Mean.npy"
    save_npy_atomic(target, np.zeros(3))
    os.chmod(target, 0o600)
    seen = []

    def write(tmp: Path) -> None:
        seen.append(np.load(target).tolist())  # the old file stays readable while the new one is written
        np.save(tmp, np.ones(3))

    atomic_write(target, write)
    assert seen == [[0.0, 0.0, 0.0]]
    assert np.load(target).tolist() == [1.0, 1.0, 1.0]
    assert mode(target) == FILE_MODE
    assert entries(tmp_path) == ["Mean.npy"]


def test_the_temp_is_hidden_beside_the_target_and_keeps_its_suffix(tmp_path):
    names = []

    def write(tmp: Path) -> None:
        names.append(tmp)
        np.save(tmp, np.arange(3))  # np.save appends .npy to a name without it: it must not here

    atomic_write(tmp_path / "clip.npy", write)
    (tmp,) = names
    assert tmp.parent == tmp_path and tmp.name.startswith(".clip.npy.") and tmp.suffix == ".npy"
    assert np.load(tmp_path / "clip.npy").tolist() == [0, 1, 2]
    assert entries(tmp_path) == ["clip.npy"]


def test_a_name_without_suffix_gets_a_temp_without_one(tmp_path):
    names = []
    atomic_write(tmp_path / "LICENSE", lambda tmp: names.append(tmp) or tmp.write_text("x"))
    prefix, random = names[0].name.rsplit(".", 1)
    assert prefix == f".LICENSE.tmp{os.getpid()}" and random.replace("_", "").isalnum()  # nothing appended
    assert (tmp_path / "LICENSE").read_text() == "x"


@pytest.mark.parametrize("durable", [False, True])
def test_publish_file_renames_a_finished_journal_over_the_target(tmp_path, durable):
    journal, target = tmp_path / "codes.jsonl.partial", tmp_path / "codes.jsonl"
    target.write_text("old\n")
    with journal.open("a") as handle:  # 0600 under the test's umask
        handle.write('{"id": "a"}\n')
    assert publish_file(journal, target, durable=durable) == target
    assert target.read_text() == '{"id": "a"}\n' and mode(target) == FILE_MODE
    assert entries(tmp_path) == ["codes.jsonl"]


def fill(folder: Path, tag: str) -> None:
    folder.mkdir(exist_ok=True)
    (folder / "config.json").write_text(json.dumps({"tag": tag}))
    (folder / "sub").mkdir()
    (folder / "sub" / "weights.bin").write_bytes(tag.encode())


@pytest.mark.parametrize("durable", [False, True])
def test_atomic_dir_writes_a_new_folder_with_the_modes(tmp_path, durable):
    target = tmp_path / "ckpt"
    with atomic_dir(target, durable=durable) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".ckpt.") and not target.exists()
        fill(tmp, "new")
    assert json.loads((target / "config.json").read_text()) == {"tag": "new"}
    assert entries(tmp_path) == ["ckpt"]
    assert [mode(p) for p in (target, target / "sub")] == [DIR_MODE, DIR_MODE]
    assert [mode(p) for p in (target / "config.json", target / "sub" / "weights.bin")] == [FILE_MODE, FILE_MODE]


def test_atomic_dir_replaces_an_existing_folder(tmp_path):
    target = tmp_path / "ckpt"
    with atomic_dir(target) as tmp:
        fill(tmp, "old")
    with atomic_dir(target) as tmp:
        assert (target / "sub" / "weights.bin").read_bytes() == b"old"  # readable until the swap
        (tmp / "only-new.txt").write_text("n")
    assert entries(target) == ["only-new.txt"]  # replaced, not merged
    assert entries(tmp_path) == ["ckpt"]  # the old folder is removed


def test_atomic_dir_moves_the_old_folder_to_the_given_aside_path(tmp_path):
    target, aside = tmp_path / "ckpt", tmp_path / "ckpt.old"
    fill(target, "old")
    renames = []
    real_replace = os.replace

    def spy(src, dst):
        renames.append((Path(src).name, Path(dst).name))
        real_replace(src, dst)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "replace", spy)
        with atomic_dir(target, aside=aside) as tmp:
            fill(tmp, "new")
    assert renames[0] == ("ckpt", "ckpt.old") and renames[1][1] == "ckpt"
    assert (target / "sub" / "weights.bin").read_bytes() == b"new"
    assert entries(tmp_path) == ["ckpt"]


def test_atomic_dir_cleans_up_on_failure_and_keeps_the_old_folder(tmp_path):
    target = tmp_path / "ckpt"
    with atomic_dir(target) as tmp:
        fill(tmp, "old")
    with pytest.raises(Boom), atomic_dir(target) as tmp:
        fill(tmp, "new")
        raise Boom
    assert (target / "sub" / "weights.bin").read_bytes() == b"old"
    assert entries(tmp_path) == ["ckpt"]


def test_atomic_dir_puts_the_old_folder_back_when_the_swap_fails(tmp_path):
    target = tmp_path / "ckpt"
    with atomic_dir(target) as tmp:
        fill(tmp, "old")
    real_replace = os.replace

    def second_rename_fails(src, dst):
        if Path(src).name.startswith(".ckpt.") and ".old-" not in Path(src).name and Path(dst) == target:
            raise OSError("disk gone")
        real_replace(src, dst)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "replace", second_rename_fails)
        with pytest.raises(OSError, match="disk gone"), atomic_dir(target) as tmp:
            fill(tmp, "new")
    assert (target / "sub" / "weights.bin").read_bytes() == b"old"
    assert entries(tmp_path) == ["ckpt"]


def test_the_file_writers_import_only_the_standard_library_numpy_and_errors():
    """files.py is light (no torch): every stage, CLI ``--help`` included, may write through it."""
    import ast
    import sys

    import motion_r1_verl.runtime.files as files

    found = set()
    for path in [Path(files.__file__)]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
    allowed = {"numpy", "motion_r1_verl.errors", "motion_r1_verl.runtime"}
    assert {m for m in found if m.split(".")[0] not in sys.stdlib_module_names and m not in allowed} == set()


def test_recover_dir_finishes_a_swap_cut_short(tmp_path):
    target, aside = tmp_path / "ckpt", tmp_path / "ckpt.old"
    fill(aside, "old")  # crashed between the renames: only the old folder, aside
    recover_dir(target, aside)
    assert (target / "sub" / "weights.bin").read_bytes() == b"old" and entries(tmp_path) == ["ckpt"]
    fill(aside, "older")  # crashed after both renames: the old folder is left over
    recover_dir(target, aside)
    assert (target / "sub" / "weights.bin").read_bytes() == b"old" and entries(tmp_path) == ["ckpt"]
    recover_dir(target, aside)  # nothing to do
    assert entries(tmp_path) == ["ckpt"]


def test_the_journal_keeps_complete_rows_and_drops_torn_or_invalid_ones(tmp_path):
    """One torn-line policy: a killed writer's last line, a corrupt line and a row the caller rejects go;
    every complete row before and after them stays, and appending continues after a clean line."""
    from motion_r1_verl.runtime.journal import Journal, read_journal

    path = tmp_path / "codes.jsonl.partial"
    path.write_bytes(b'{"id": "a", "codes": [1]}\nnot json\n{"id": "b"}\n{"id": "c", "codes": [2]}\n{"id": "d", "co')
    valid = lambda row: isinstance(row.get("codes"), list)  # noqa: E731
    rows = read_journal(path, valid)
    assert [r["id"] for r in rows] == ["a", "c"]
    with Journal(path, rows, durable=True) as journal:
        journal.append({"id": "e", "codes": [3]}, {"id": "f", "codes": [4]})
    assert [r["id"] for r in read_journal(path, valid)] == ["a", "c", "e", "f"]
    assert path.read_text().endswith('"codes": [4]}\n')
    assert read_journal(tmp_path / "missing.jsonl") == []


def _npy_header(shape, descr="<f4") -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (_npy_header((10**9, 263)) + bytes(4000), r"claims shape \(1000000000, 263\)"),  # would allocate ~1 TB
        (_npy_header((5, 263)) + bytes(100), "claims shape"),  # truncated
        (_npy_header((2,), descr="|O") + bytes(16), "Python objects"),
        (b"\x93NUMPY\x01\x00" + b"\xff" * 40, "not a readable .npy"),
        (b"", "empty file"),
    ],
    ids=["huge-claim", "truncated", "object", "garbled-header", "empty"],
)
def test_npy_reader_checks_the_header_against_the_file_before_reading(tmp_path, content, match):
    path = tmp_path / "clip.npy"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=match):
        load_npy(path)


def test_npy_reader_reads_plain_arrays(tmp_path):
    for array in (np.arange(12, dtype=np.float32).reshape(3, 4), np.array(2.5), np.zeros((0, 263))):
        np.save(tmp_path / "a.npy", array)
        np.testing.assert_array_equal(load_npy(tmp_path / "a.npy"), array)


def test_a_killed_writers_temp_file_is_removed_by_the_next_write_a_live_ones_is_kept(tmp_path):
    import subprocess
    import sys

    target = tmp_path / "codes.jsonl"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".codes.jsonl.tmp{int(dead.stdout)}.abc.jsonl"  # what a kill -9 mid-write leaves
    stale.write_bytes(bytes(1 << 20))
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]) as live_writer:
        live = tmp_path / f".codes.jsonl.tmp{live_writer.pid}.def.jsonl"
        live.write_text("in progress")
        write_text_atomic(target, "done\n")
        live_writer.kill()
    assert target.read_text() == "done\n"
    assert not stale.exists() and live.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([target.name, live.name])
