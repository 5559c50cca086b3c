"""The ``mics`` command line: one clear line per error, ``--verbose`` for the traceback.

Usage errors (a missing argument, an unknown option or command, a value of the wrong
type, a path that does not exist) are left to Typer's standalone mode, which prints the
short usage message and exits 2. Typer ships its own copy of Click, so catching
``click.ClickException`` here would never match: the standalone mode is the one place
that knows its own exception classes.
"""

from __future__ import annotations

import sys

from mics.cli.app import app
from mics.cli.common import state
from mics.errors import MicsError

__all__ = ["app", "main"]


def main() -> None:
    try:
        app(
            prog_name="mics"
        )  # standalone mode: usage errors print usage and exit 2, Ctrl-C exits 1
    except MicsError as error:
        if state.verbose:
            raise
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
