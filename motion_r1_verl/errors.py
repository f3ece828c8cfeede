"""The project's error type for bad user input.

The CLI turns a ``UserError`` into a one-line message and exit code 2; anything else is a bug
and keeps its traceback.
"""


class UserError(ValueError):
    """Bad input from the user (a path, a file's content, a flag). The message names the file or
    field and says what was expected."""
