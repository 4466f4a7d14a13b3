"""Argument types of the command line: numbers spelled with ASCII digits only.

`one_line` escapes line breaks in a message that echoes input unquoted (argparse's).

Python's `int` and `float` accept any Unicode decimal digit (`int("٣") == 3`, `float("١٢")` == 12.0)
and surrounding whitespace; a command line that takes `٣` for 3 can run another experiment than the one
typed. These accept `[0-9]` only, and say what they expected in argparse's one-line error.
"""

from __future__ import annotations

import re

# every character that str.splitlines breaks a line at (a terminal breaks at some of them too)
_LINE_BREAKS = re.compile("[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def parse_integer(text: str) -> int | None:
    """The integer `text` spells in ASCII digits (an optional sign, then [0-9]+), else None."""
    return int(text) if _INTEGER.fullmatch(text) else None


def integer(text: str) -> int:
    """argparse type: a whole number in ASCII digits."""
    value = parse_integer(text)
    if value is None:
        raise ValueError(text)  # argparse: "invalid integer value: 'x'"
    return value


def number(text: str) -> float:
    """argparse type: a decimal number in ASCII digits (no nan or inf)."""
    if not _NUMBER.fullmatch(text):
        raise ValueError(text)  # argparse: "invalid number value: 'x'"
    return float(text)


def one_line(message: str) -> str:
    """`message` with its line breaks escaped (argparse echoes arguments unquoted: a newline in one could
    forge an output line)."""
    return _LINE_BREAKS.sub(lambda m: repr(m.group())[1:-1], message)
