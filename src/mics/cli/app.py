"""Typer commands: ``serve``, ``demo``, ``db upgrade``, ``registry import|export|list``."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from rich.progress import Progress
from rich.table import Table

from mics import registry
from mics.cli import custody as custody_cli
from mics.cli import factory as factory_cli
from mics.cli import footprint as footprint_cli
from mics.cli import kickoff as kickoff_cli
from mics.cli import ledger as ledger_cli
from mics.cli import match as match_cli
from mics.cli import passport as passport_cli
from mics.cli import passport_tags as passport_tags_cli
from mics.cli import trace as trace_cli
from mics.cli.common import console, database, new_database, settings, state
from mics.config import DEFAULT_HOST, DEFAULT_PORT, Settings, local_base_url
from mics.db import POOL_SIZE_VAR, Database, pool_size
from mics.errors import InvalidInput
from mics.ledger.store.signing_key import load_or_create_signer
from mics.passport import tags
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
app.add_typer(factory_cli.factory_app, name="factory")
app.add_typer(custody_cli.custody_app, name="custody")
app.add_typer(ledger_cli.ledger_app, name="ledger")
app.add_typer(passport_tags_cli.tag_app, name="tag")
app.add_typer(passport_cli.passport_app, name="passport")
app.add_typer(match_cli.match_app, name="match")
app.add_typer(kickoff_cli.kickoff_app, name="kickoff")
passport_cli.passport_app.command("labels")(passport_tags_cli.labels)


@app.callback()
def _options(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="show tracebacks")] = False,
) -> None:
    state.verbose = verbose


MAX_WORKERS = 64


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = DEFAULT_HOST,
    port: Annotated[int, typer.Option(help="port to listen on")] = DEFAULT_PORT,
    workers: Annotated[
        int, typer.Option(help="server processes sharing the port (uvicorn workers)")
    ] = 1,
) -> None:
    """Serve the REST API and the web UI.

    Links in passports, QR codes and scan URLs use MICS_BASE_URL; unset, they use the
    address served here (set it behind a proxy or for phones on the network).
    ``--workers N`` runs N processes on one database (PostgreSQL, or one SQLite file
    on this host); several ``mics serve`` on several hosts may share one PostgreSQL."""
    import threading

    import uvicorn

    from mics.trace.subscriptions import run_deliveries
    from mics.trace.webhook_tokens import load_or_create_token_seal

    if not 1 <= workers <= MAX_WORKERS:
        raise InvalidInput(
            f"{workers} is not a worker count (expected 1 to {MAX_WORKERS} processes)",
            field="--workers",
            value=workers,
            expected=f"a whole number from 1 to {MAX_WORKERS}",
        )
    config = Settings.from_env(served_at=local_base_url(host, port))
    db = database()  # refuse, in one line, a folder with no migrated database
    check_connections(db, workers)
    # The keys every worker reads, made once here before any of them starts.
    load_or_create_signer(config.home, config.instance)
    tags.load_or_create_master_key(config.home, config.instance)
    seal = load_or_create_token_seal(config.home)
    config.remember_served_at()  # what the workers' own settings read as their address
    # Whom X-Forwarded-For may name the client for (scan rate limits): uvicorn's own
    # middleware reads it, only on connections from these addresses (none: off).
    proxies = config.trusted_proxies
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "proxy_headers": bool(proxies),
        "forwarded_allow_ips": proxies or None,
    }
    # Webhooks go out from this process, one round at a time among all processes
    # serving the database (mics.storage.locks): the workers only answer requests.
    stop = threading.Event()
    deliveries = threading.Thread(target=run_deliveries, args=(db, stop, seal), daemon=True)
    try:
        if workers == 1:
            from mics.api import create_app

            app_ = create_app(config, db)
            deliveries.start()
            uvicorn.run(app_, **options)
        else:
            deliveries.start()
            # Each worker process builds its own app (its own pools, caches, publisher).
            uvicorn.run("mics.api:create_app", factory=True, workers=workers, **options)
    finally:
        stop.set()


def check_connections(db: Database, workers: int) -> None:
    """Refuse, in one line, more PostgreSQL connections than the server accepts."""
    if db.engine.dialect.name != "postgresql":
        return
    with db.engine.connect() as connection:
        limit = int(connection.exec_driver_sql("SHOW max_connections").scalar() or 0)
        reserved = int(
            connection.exec_driver_sql("SHOW superuser_reserved_connections").scalar() or 0
        )
    size = pool_size()
    room = limit - reserved
    if workers * size > room:
        most = max(1, room // size)
        raise InvalidInput(
            f"{workers} workers x {size} connections ({POOL_SIZE_VAR}) = {workers * size} "
            f"exceed the {room} PostgreSQL accepts (max_connections {limit}, {reserved} "
            f"reserved): use at most {most} workers or a lower {POOL_SIZE_VAR}",
            field="--workers",
            value=workers,
            expected=f"at most {most} workers, or a lower {POOL_SIZE_VAR}",
        )


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="the address `mics serve` will listen on")] = (
        DEFAULT_HOST
    ),
    port: Annotated[int, typer.Option(help="the port `mics serve` will listen on")] = DEFAULT_PORT,
) -> None:
    """Load the demo data (idempotent: a second run adds nothing), then say where to start."""
    from mics.demo import load_demo, start_here

    db = new_database()
    db.upgrade()
    _instance_keys()
    with Progress(console=console, transient=True) as progress:
        counts = load_demo(db, progress)
    console.print("demo data loaded: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    config = Settings.from_env(served_at=local_base_url(host, port))
    console.print(start_here(db, config), highlight=False, soft_wrap=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database schema, and this instance's keys under MICS_HOME."""
    from mics.trace import subscriptions
    from mics.trace.webhook_tokens import load_or_create_token_seal

    db = new_database()
    db.upgrade()
    ensure_instance(db, settings().operator_partner)
    _instance_keys()
    if subscriptions.clear_tokens(db):  # stored before migration 0006, whose key is not in the db
        subscriptions.seal_clear_tokens(db, load_or_create_token_seal(settings().home))
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


IDENTIFIERS = {"gtin", "serial", "lot"}
# The columns of `mics registry list KIND` that fit a terminal; --json has them all.
TABLE_COLUMNS = {
    "partners": ["id", "name", "kind", "city", "sectors", "spokes"],
    "projects": ["id", "title", "spoke", "partners"],
    "materials": ["id", "name", "category", "recycled_share", "bio_based_share", "country"],
    "products": ["id", "name", "gtin", "sector", "brand"],
    "items": ["id", "product", "serial", "lot", "created_at"],
}


@registry_app.command("list")
def registry_list(
    kind: Annotated[
        str, typer.Argument(help="sectors, spokes, partners, projects, materials, products, items")
    ],
    limit: int = 50,
    offset: int = 0,
    as_json: Annotated[bool, typer.Option("--json", help="every field, as JSON")] = False,
) -> None:
    """Show a table of one kind (the main columns; --json for every field)."""
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
    rows = [r.model_dump() for r in listers[kind]()]
    if as_json:
        sys.stdout.write(json.dumps({kind: rows}, ensure_ascii=False, indent=1, default=str) + "\n")
        return
    columns = TABLE_COLUMNS.get(kind) or list(rows[0] if rows else ["(none)"])
    table = Table(title=kind)
    for position, column in enumerate(columns):
        if position == 0 or column in IDENTIFIERS:  # in full: other commands take them
            longest = max((len(str(row[column])) for row in rows), default=0)
            table.add_column(column, no_wrap=True, min_width=longest)
        else:
            table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            *(
                ", ".join(map(str, row[c])) if isinstance(row[c], list) else str(row[c])
                for c in columns
            )
        )
    console.print(table)


def _instance_keys() -> None:
    """The log's signing key and the tag master key: made here, by the commands that
    own them, never as a side effect of a command that reads."""
    config = settings()
    load_or_create_signer(config.home, config.instance)
    tags.load_or_create_master_key(config.home, config.instance)


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
