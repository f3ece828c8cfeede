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


# The format verdict and motion codes of one response (one scan; never raises): the protocol's scanner.
check_format = scan_response


def format_reward(text: object, codebook_size: int, **limits) -> float:
    """1.0 if ``text`` is exactly the required template (see :func:`check_format`; ``with_output``,
    ``min_codes``, ``max_codes`` as there), else 0.0."""
    return 1.0 if check_format(text, codebook_size, **limits).format_ok else 0.0
