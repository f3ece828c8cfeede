"""``--help`` works for every verb registered in ``motion-r1`` (walks the argparse tree, so verbs
added later are covered without editing this file), and every verb documents its flags and an example."""

import argparse

import pytest

from motion_r1_verl.cli.main import build_parser, main


def _verbs(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append(((*path, name), sub))
                found.extend(_verbs(sub, (*path, name)))
    return found


VERBS = _verbs(build_parser())


def test_top_level_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    assert "usage: motion-r1" in capsys.readouterr().out


@pytest.mark.parametrize("path", [p for p, _ in VERBS], ids=[" ".join(p) for p, _ in VERBS])
def test_every_verb_has_help(path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([*path, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: motion-r1 {' '.join(path)}")


def _is_leaf(parser: argparse.ArgumentParser) -> bool:
    return not any(isinstance(a, argparse._SubParsersAction) for a in parser._actions)


@pytest.mark.parametrize(
    "path", [p for p, sub in VERBS if _is_leaf(sub)], ids=[" ".join(p) for p, sub in VERBS if _is_leaf(sub)]
)
def test_every_leaf_verb_documents_flags_and_an_example(path):
    sub = dict(VERBS)[path]
    undocumented = [a.dest for a in sub._actions if not a.help and not isinstance(a, argparse._HelpAction)]
    assert not undocumented, f"flags without help text: {undocumented}"
    text = f"{sub.description or ''}\n{sub.epilog or ''}"
    assert "motion-r1 " in text, "description or epilog should show an example command"
