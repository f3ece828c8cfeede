"""``when_imported`` runs a callback after a module's body and before importers bind its names."""

import sys

from motion_r1_verl.verl_plugin.import_hooks import when_imported


def _write_module(tmp_path, name: str) -> None:
    (tmp_path / f"{name}.py").write_text("FLAG = True\ndef f():\n    return 'original'\n")


def test_callback_runs_before_from_import_binds(tmp_path, monkeypatch):
    _write_module(tmp_path, "hooked_mod_a")
    monkeypatch.syspath_prepend(str(tmp_path))
    seen = []

    def patch(module):
        seen.append(module.FLAG)
        module.f = lambda: "patched"

    when_imported("hooked_mod_a", patch)
    from hooked_mod_a import f  # noqa: PLC0415

    assert seen == [True]  # module body had run
    assert f() == "patched"  # and the importer got the patched name
    sys.modules.pop("hooked_mod_a")


def test_already_imported_module_is_patched_at_once(tmp_path, monkeypatch):
    _write_module(tmp_path, "hooked_mod_b")
    monkeypatch.syspath_prepend(str(tmp_path))
    import hooked_mod_b  # noqa: PLC0415

    when_imported("hooked_mod_b", lambda m: setattr(m, "FLAG", False))
    assert hooked_mod_b.FLAG is False
    sys.modules.pop("hooked_mod_b")
