"""The ``mics`` command line: one clear line per error, ``--verbose`` for the traceback."""

from __future__ import annotations

import sys

from mics.cli.app import app
from mics.cli.common import state
from mics.errors import MicsError

__all__ = ["app", "main"]


def main() -> None:
    try:
        app(standalone_mode=False)
    except MicsError as error:
        if state.verbose:
            raise
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
    except SystemExit:
        raise
    except Exception as error:  # click usage errors and friends
        import click

        if isinstance(error, click.exceptions.Abort):
            sys.exit(130)
        if isinstance(error, click.ClickException):
            error.show()
            sys.exit(error.exit_code)
        raise
