"""The format reward: 1.0 when a response is exactly the Motion-R1 template, else 0.0.

The template and both readings of a response (strict verdict, tolerant motion span) are defined once,
in :mod:`motion_r1_verl.protocol.scanner`; this module is the reward's view of that scan.
:func:`check_format` returns the scan (a :class:`~motion_r1_verl.protocol.Response`) and never raises.

Example::

    >>> r = check_format("<think>walk</think><output>1. walk</output><Motion>" + "<Motion_3>" * 12 + "</Motion>",
    ...                  codebook_size=512)
    >>> (r.format_ok, r.parse_ok, len(r.codes), r.reason)
    (True, True, 12, 'ok')
"""

from __future__ import annotations

from motion_r1_verl.protocol import DEFAULT_MAX_CODES, DEFAULT_MIN_CODES, FORMAT_REASONS, Response, scan_response

# The reward's name for the scan it judges.
ParsedResponse = Response

__all__ = [
    "DEFAULT_MAX_CODES",
    "DEFAULT_MIN_CODES",
    "FORMAT_REASONS",
    "ParsedResponse",
    "check_format",
    "format_reward",
]


def check_format(
    text: object,
    codebook_size: int,
    *,
    with_output: bool = True,
    min_codes: int = DEFAULT_MIN_CODES,
    max_codes: int = DEFAULT_MAX_CODES,
) -> Response:
    """Format verdict and motion codes of one response (one scan); never raises."""
    return scan_response(text, codebook_size, with_output=with_output, min_codes=min_codes, max_codes=max_codes)


def format_reward(
    text: object,
    codebook_size: int,
    *,
    with_output: bool = True,
    min_codes: int = DEFAULT_MIN_CODES,
    max_codes: int = DEFAULT_MAX_CODES,
) -> float:
    """1.0 if ``text`` is exactly the required template (see :func:`check_format`), else 0.0."""
    parsed = check_format(text, codebook_size, with_output=with_output, min_codes=min_codes, max_codes=max_codes)
    return 1.0 if parsed.format_ok else 0.0
