"""The ``mics`` command line: one clear line per error, ``--verbose`` for the traceback.

An error MICS raises on purpose (``MicsError``) is printed here and only here, as one
line: the message (an ``InvalidInput`` starts with its field), then the value received
and what was expected when the error names them and its message does not already say
them (``one_line``). The areas' messages say what is wrong; this line adds the rest.

Usage errors (a missing argument, an unknown option or command, a value of the wrong
type, a path that does not exist) are left to Typer's standalone mode, which prints the
short usage message and exits 2. Typer ships its own copy of Click, so catching
``click.ClickException`` here would never match: the standalone mode is the one place
that knows its own exception classes.
"""

from __future__ import annotations

import sys
from typing import Any

from mics.cli.app import app
from mics.cli.common import state
from mics.errors import MicsError

__all__ = ["app", "main", "one_line"]

SHOWN = 120  # characters of a value received: enough to recognise it, never a whole file


def main() -> None:
    try:
        app(
            prog_name="mics"
        )  # standalone mode: usage errors print usage and exit 2, Ctrl-C exits 1
    except MicsError as error:
        if state.verbose:
            raise
        print(f"error: {one_line(error)}", file=sys.stderr)
        sys.exit(1)


def one_line(error: MicsError) -> str:
    """``error`` as one line: its message, then ``got <value>`` and ``expected <form>``.

    ``field: not a period (month must be in 1..12): got '2026-13'; expected 2026, ...``.
    The value and the expected form are added once, and only when the message lacks them.
    """
    line = " ".join(str(error).split())  # one line, whatever the message holds
    value, expected = error.context.get("value"), error.context.get("expected")
    parts = []
    if value is not None and value != "" and _text(value) not in line:
        parts.append(f"got {_shown(value)}")
    if expected and str(expected) not in line:
        parts.append(f"expected {expected}")
    return f"{line}: {'; '.join(parts)}" if parts else line


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _shown(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= SHOWN else text[: SHOWN - 3] + "..."
