"""``mics match "idea"``: the partners for a project idea, with the reasons of each match.

mics match "gioielli in oro recuperato dai rifiuti elettronici"
mics match "robot arms for craft workshops" --sector fashion --spoke 8 --json
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup

from mics.cli.common import console, database


class IdeaFirst(TyperGroup):
    """``mics match IDEA`` runs the ``idea`` command: a first word that is not a subcommand
    (``consortium``) is the idea itself."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["idea", *args]
        return list(super().parse_args(ctx, args))


match_app = typer.Typer(
    cls=IdeaFirst,
    help='Partners for a project idea: mics match "idea text" [--sector S] [--spoke N] [--json]',
    no_args_is_help=True,
)


def highlight(text: str, words: list[str]) -> str:
    """``text`` as rich markup with ``words`` in bold."""
    out, lowered = escape(text), {w.lower() for w in words}
    for word in sorted(lowered, key=len, reverse=True):
        out = _bold(out, word)
    return out


def _bold(markup: str, word: str) -> str:
    import re

    return re.sub(
        rf"(?<![\w\[]){re.escape(word)}(?!\w)", lambda m: f"[b]{m.group()}[/b]", markup, flags=re.I
    )


@match_app.command("idea", hidden=True)
def idea(
    text: Annotated[str, typer.Argument(help="the idea, in Italian or English")],
    sector: Annotated[str | None, typer.Option(help="a sector id, e.g. fashion")] = None,
    spoke: Annotated[int | None, typer.Option(help="a spoke number, 1-8")] = None,
    kind: Annotated[
        str | None, typer.Option(help="university, research_centre, public_body or enterprise")
    ] = None,
    limit: Annotated[int, typer.Option(help="how many partners")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help='[{"partner", "score", "reasons"}]')] = (
        False
    ),
) -> None:
    """The partners best placed for the idea, best first, with the evidence that matched."""
    from mics.partnership import Query, match
    from mics.partnership.schemas import MatchOut

    found = [
        MatchOut.of(m) for m in match(database(), Query(text, sector, spoke, kind), limit=limit)
    ]
    if as_json:
        rows = [m.model_dump() for m in found]
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=1) + "\n")
        return
    table = Table(title=f"partners for: {text}", show_lines=True)
    table.add_column("#", justify="right")
    table.add_column("partner", no_wrap=True)
    table.add_column("score", justify="right")
    table.add_column("reasons", overflow="fold")
    for n, m in enumerate(found, 1):
        lines = []
        for r in m.reasons:
            if r.kind == "evidence":
                lines.append(
                    f"{highlight(r.text, r.matched)} [dim]({r.source}, {r.similarity})[/dim]"
                )
            else:
                lines.append(("[green]" if r.fit else "[yellow]") + escape(r.text) + "[/]")
        table.add_row(str(n), m.partner, f"{m.score:.4f}", "\n".join(lines))
    console.print(table)


@match_app.command("consortium")
def consortium(
    text: Annotated[str, typer.Argument(help="the idea, in Italian or English")],
    sector: Annotated[
        list[str] | None, typer.Option(help="a sector it must span (repeatable)")
    ] = None,
    need: Annotated[
        list[str] | None, typer.Option(help="a competence it needs (repeatable)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """A consortium of 3-7 partners for the idea: what each brings, what is missing."""
    from mics.partnership.schemas import ConsortiumOut
    from mics.partnership.service import consortium as build

    found = ConsortiumOut.of(build(database(), text, sectors=sector, needs=need))
    if as_json:
        sys.stdout.write(json.dumps(found.model_dump(), ensure_ascii=False, indent=1) + "\n")
        return
    table = Table(title=f"consortium for: {text}", show_lines=True)
    table.add_column("partner", no_wrap=True)
    table.add_column("kind")
    table.add_column("brings", overflow="fold")
    for m in found.members:
        brings = [f"{escape(b.need)}: {escape(b.phrase)} [dim]({b.source})[/dim]" for b in m.brings]
        table.add_row(m.partner, m.kind, "\n".join(brings) or "[dim](completes the mix)[/dim]")
    console.print(table)
    console.print("needs: " + "; ".join(found.needs), highlight=False)
    console.print("sectors: " + (", ".join(found.sectors) or "(none named)"), highlight=False)
    for line in found.missing or ["nothing: every need, the research/industry mix, every sector"]:
        console.print(
            f"[yellow]missing:[/] {escape(line)}" if found.missing else f"missing: {line}"
        )
