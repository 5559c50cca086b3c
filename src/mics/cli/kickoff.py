"""``mics kickoff schedule FILE``: the kick-off's 1:1 meetings, and each partner's agenda.

mics kickoff schedule demo                 # the demo's kick-off file
mics kickoff schedule kickoff.json --out agendas/   # one .ics per partner
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from mics.cli.common import console, database
from mics.errors import InvalidInput

kickoff_app = typer.Typer(help="Kick-off 1:1 meetings.", no_args_is_help=True)


@kickoff_app.command("schedule")
def schedule(
    file: Annotated[str, typer.Argument(help="a kick-off JSON file, or 'demo' for the demo's")],
    out: Annotated[
        Path | None, typer.Option(help="folder for one iCalendar agenda per partner")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the schedule as JSON")] = False,
) -> None:
    """Place the requested meetings in slots and at tables (scipy.optimize.milp, HiGHS):
    no double booking, each partner's availability, the most valued meetings first."""
    from mics import registry
    from mics.partnership import ical
    from mics.partnership.service import demo_kickoff, kickoff

    raw = demo_kickoff() if file == "demo" else _read(Path(file))
    if out is not None:
        _agenda_folder(out)  # before the solver runs: a folder that cannot be made fails now
    db = database()
    plan = kickoff(db, raw)
    names = {p.id: p.name for p in registry.list_partners(db, limit=500).items}
    if out is not None:
        stamp = datetime.now(UTC)
        people = sorted({p for m in plan.meetings for p in (m.partner, m.presenter)})
        for partner in people:
            agenda = out / f"{partner}.ics"
            try:
                agenda.write_text(
                    ical.agenda(plan, partner, names, stamp), encoding="utf-8", newline=""
                )
            except OSError as error:
                raise _cannot_write(agenda, error) from None
    if as_json:
        body = {
            "meetings": [
                {
                    "partner": m.partner,
                    "presenter": m.presenter,
                    "idea": m.idea,
                    "value": m.value,
                    "start": m.start.isoformat(),
                    "end": m.end.isoformat(),
                    "table": m.table,
                }
                for m in plan.meetings
            ],
            "unscheduled": [
                {"partner": i.partner, "presenter": i.presenter, "idea": i.idea, "value": i.value}
                for i in plan.unscheduled
            ],
        }
        sys.stdout.write(json.dumps(body, ensure_ascii=False, indent=1) + "\n")
        return
    table = Table(title=f"{plan.plan.event}, {plan.plan.day}")
    for column in ("time", "table", "partner", "meets", "idea", "value"):
        table.add_column(column, overflow="fold")
    for m in plan.meetings:
        table.add_row(
            f"{m.start:%H:%M}-{m.end:%H:%M}",
            str(m.table),
            m.partner,
            m.presenter,
            m.idea,
            str(m.value),
        )
    console.print(table)
    console.print(
        f"{len(plan.meetings)} meetings placed, {len(plan.unscheduled)} not placed"
        + (f"; agendas in {out}/" if out is not None else ""),
        highlight=False,
    )
    for i in plan.unscheduled:
        console.print(f"not placed: {i.partner} - {i.presenter} (value {i.value})", highlight=False)


def _agenda_folder(out: Path) -> None:
    """Make the folder ``--out`` names (and its parents), or say in one line why not."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise _cannot_write(out, error) from None


def _cannot_write(path: Path, error: OSError) -> InvalidInput:
    return InvalidInput(
        f"cannot write the agendas there: {error.strerror or error}",
        field="--out",
        value=str(path),
        expected="a folder you may write in (made if missing)",
    )


def _read(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidInput(
            f"cannot read a kick-off file: {error}",
            field="FILE",
            value=str(path),
            expected="a UTF-8 JSON kick-off file, or 'demo'",
        ) from error
    if not isinstance(data, dict):
        raise InvalidInput(
            "a kick-off file is a JSON object", field="FILE", value=str(path), expected="{...}"
        )
    return data
