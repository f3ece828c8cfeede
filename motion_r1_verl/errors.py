"""The project's error type for bad user input.

The CLI turns a ``UserError`` into a one-line message and exit code 2; anything else is a bug
and keeps its traceback.

Library code speaks its callers' terms: a bad argument or config field is named by its Python name
(``field_error("batch_size", "must be >= 1, got 0")`` -> ``"batch_size must be >= 1, got 0"``) and carries
``field``, so the CLI can show its own flag instead (``--batch-size must be >= 1, got 0``). A remedy names
other arguments the same way and lists them in ``mentions`` (``"pass resume=True to continue it"``, which the
CLI speaks as ``"pass --resume to continue it"``).
"""

from __future__ import annotations


class UserError(ValueError):
    """Bad input from the user (a path, a file's content, a flag). The message names the file or
    field and says what was expected; ``field`` is the argument or config field it is about, if one."""

    def __init__(self, message: str, *, field: str | None = None, mentions: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.field = field
        self.mentions = mentions
        """Other arguments the message names by their Python names (``name=True``, ``name=value`` or ``name``)."""


def field_error(field: str, problem: str) -> UserError:
    """A bad value of argument/field ``field``: the message starts with the field's name."""
    joiner = "" if problem.startswith(":") else " "
    return UserError(f"{field}{joiner}{problem}", field=field)
