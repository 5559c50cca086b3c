"""Typer commands: ``serve``, ``demo``, ``db upgrade``, ``registry import|export|list``."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated

import typer
from pydantic import BaseModel
from rich.progress import Progress
from rich.table import Table

from mics import registry
from mics.cli import footprint as footprint_cli
from mics.cli import ledger as ledger_cli
from mics.cli import passport as passport_cli
from mics.cli import passport_tags as passport_tags_cli
from mics.cli import trace as trace_cli
from mics.cli.common import console, database, settings, state
from mics.errors import InvalidInput
from mics.registry.demo import ensure_instance

app = typer.Typer(
    help="MICS - Made in Italy Circolare e Sostenibile",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
registry_app = typer.Typer(help="Partners, projects, materials, products.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(registry_app, name="registry")
app.add_typer(trace_cli.epcis_app, name="epcis")
app.add_typer(trace_cli.trace_app, name="trace")
app.add_typer(trace_cli.keys_app, name="keys")
app.command("footprint")(footprint_cli.footprint)
app.add_typer(ledger_cli.ledger_app, name="ledger")
app.add_typer(passport_tags_cli.tag_app, name="tag")
app.add_typer(passport_cli.passport_app, name="passport")
passport_cli.passport_app.command("labels")(passport_tags_cli.labels)


@app.callback()
def _options(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="show tracebacks")] = False,
) -> None:
    state.verbose = verbose


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the REST API and the web UI."""
    import threading

    import uvicorn

    from mics.api import create_app
    from mics.trace.subscriptions import run_deliveries

    app_ = create_app()
    stop = threading.Event()
    worker = threading.Thread(target=run_deliveries, args=(app_.state.db, stop), daemon=True)
    worker.start()
    # Whom X-Forwarded-For may name the client for (scan rate limits): uvicorn's own
    # middleware reads it, only on connections from these addresses (none: off).
    proxies = app_.state.settings.trusted_proxies
    try:
        uvicorn.run(
            app_,
            host=host,
            port=port,
            proxy_headers=bool(proxies),
            forwarded_allow_ips=proxies or None,
        )
    finally:
        stop.set()


@app.command()
def demo() -> None:
    """Load the demo data (idempotent: a second run adds nothing), then exit."""
    from mics.demo import load_demo

    db = database()
    db.upgrade()
    with Progress(console=console, transient=True) as progress:
        counts = load_demo(db, progress)
    console.print("demo data loaded: " + ", ".join(f"{v} {k}" for k, v in counts.items()))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database schema."""
    db = database()
    db.upgrade()
    ensure_instance(db, settings().operator_partner)
    console.print(f"database at head: {db.engine.url.render_as_string(hide_password=True)}")


@registry_app.command("import")
def registry_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    kind: Annotated[
        str | None, typer.Option(help="for CSV: partners, projects, materials or products")
    ] = None,
) -> None:
    """Import a JSON or CSV file, all or nothing."""
    text = _read_text(file)
    if file.suffix.lower() == ".csv":
        data = registry.parse_csv(text, kind)
    else:
        data = registry.parse_json(text, str(file))
    total = sum(len(v) for v in data.values())
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"importing {file.name}", total=total)
        counts = registry.load(database(), data, lambda n: progress.advance(task, n))
    console.print("imported " + ", ".join(f"{v} {k}" for k, v in counts.items() if v))


@registry_app.command("export")
def registry_export(
    kind: Annotated[str, typer.Option("--kind", help="partners, projects, materials, products")],
    format: Annotated[str, typer.Option("--format", help="json or csv")] = "json",
) -> None:
    """Print every record of a kind as JSON or CSV."""
    records = registry.export(database(), kind)
    if format == "csv":
        sys.stdout.write(registry.to_csv(kind, records))
    elif format == "json":
        sys.stdout.write(json.dumps({kind: records}, ensure_ascii=False, indent=1) + "\n")
    else:
        raise InvalidInput("unknown format", field="--format", value=format, expected="json or csv")


@registry_app.command("list")
def registry_list(
    kind: Annotated[
        str, typer.Argument(help="sectors, spokes, partners, projects, materials, products, items")
    ],
    limit: int = 50,
    offset: int = 0,
) -> None:
    """Show a table of one kind."""
    db = database()
    listers: dict[str, Callable[[], Sequence[BaseModel]]] = {
        "partners": lambda: registry.list_partners(db, limit=limit, offset=offset).items,
        "projects": lambda: registry.list_projects(db, limit=limit, offset=offset).items,
        "materials": lambda: registry.list_materials(db, limit=limit, offset=offset).items,
        "products": lambda: registry.list_products(db, limit=limit, offset=offset).items,
        "items": lambda: registry.list_items(db, limit=limit, offset=offset).items,
        "sectors": lambda: registry.list_sectors(db),
        "spokes": lambda: registry.list_spokes(db),
    }
    if kind not in listers:
        raise InvalidInput(
            f"unknown kind {kind!r}",
            field="KIND",
            value=kind,
            expected="one of " + ", ".join(listers),
        )
    rows = [
        r.model_dump(
            exclude={
                "components",
                "description",
                "repair_notes",
                "end_of_life_notes",
                "competences",
                "summary",
            }
        )
        for r in listers[kind]()
    ]
    table = Table(title=kind)
    for column in rows[0] if rows else ["(none)"]:
        table.add_column(column)
    for row in rows:
        table.add_row(
            *(", ".join(map(str, v)) if isinstance(v, list) else str(v) for v in row.values())
        )
    console.print(table)


def _read_text(file: Path) -> str:
    try:
        return file.read_text("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidInput(
            "the file is not UTF-8 text",
            field="FILE",
            value=str(file),
            expected="a UTF-8 JSON or CSV file",
        ) from error
