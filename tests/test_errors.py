"""Errors in the caller's terms: the library names its field, the CLI says its flag."""

from motion_r1_verl.cli.main import cli_message
from motion_r1_verl.errors import UserError, field_error


def test_a_field_error_names_the_python_field():
    err = field_error("batch_size", "must be >= 1, got 0")
    assert str(err) == "batch_size must be >= 1, got 0" and err.field == "batch_size"
    assert str(field_error("resume", ": runs/vq was trained with another config")).startswith("resume: runs/vq")


def test_the_cli_speaks_its_own_flags():
    message = cli_message(field_error("batch_size", "must be >= 1, got 0"), "generate")
    assert message == "--batch-size must be >= 1, got 0"
    assert cli_message(field_error("n_clips", "must be >= 400"), "quickstart") == "--clips must be >= 400"
    assert cli_message(field_error("model_dir", "x: folder not found"), "generate") == "--model x: folder not found"
    assert cli_message(field_error("data_dir", "x is not a folder"), "llm") == "--data x is not a folder"
    # a message about a file, not a field, is left as it is
    assert cli_message(UserError("codes.jsonl:3: not JSON"), "vq") == "codes.jsonl:3: not JSON"


def test_arguments_a_message_mentions_are_spoken_as_flags():
    """A library remedy names Python arguments (Python and Hydra callers read those); the CLI speaks its flags,
    and leaves paths that merely contain the same word alone."""
    from motion_r1_verl.errors import UserError

    err = UserError(
        "runs/out_dir already holds a checkpoint: pass resume=True to continue it, or another out_dir.",
        mentions=("resume", "out_dir"),
    )
    assert str(err).count("resume=True") == 1  # what a Python caller reads
    assert (
        cli_message(err, "vq")
        == "runs/out_dir already holds a checkpoint: pass --resume to continue it, or another --out."
    )
    err = UserError("x: pass codec=CKPT (or merge it)", mentions=("codec",))
    assert cli_message(err, "generate") == "x: pass --codec CKPT (or merge it)"
    err = UserError("give either val_ids or val_fraction, not both", mentions=("val_ids", "val_fraction"))
    assert cli_message(err, "dataset") == "give either --val-split or --val-fraction, not both"
