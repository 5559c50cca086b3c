"""``mics epcis capture|hash``, ``mics trace upstream|downstream``, ``mics keys create``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from mics.cli.common import console, database, settings
from mics.cli.trace_view import Labels, print_trace
from mics.errors import NotFound
from mics.registry import get_partner
from mics.registry.api_keys import create_key, revoke_key
from mics.trace import capture, documents, genealogy, json_text, lookup
from mics.trace.event_hash import document_hashes
from mics.trace.query import Viewer

epcis_app = typer.Typer(help="GS1 EPCIS 2.0 repository.", no_args_is_help=True)
trace_app = typer.Typer(
    help="Genealogy: what things were made from, what was made from them.", no_args_is_help=True
)
keys_app = typer.Typer(help="Partner API keys.", no_args_is_help=True)

FileArg = Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)]


@epcis_app.command("capture")
def capture_files(
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, readable=True)],
    partner: Annotated[
        str | None, typer.Option(help="capturing partner id (default: this instance's operator)")
    ] = None,
    proceed: Annotated[
        bool, typer.Option(help="store the valid events of a document that has invalid ones")
    ] = False,
) -> None:
    """Capture EPCIS 2.0 documents (JSON-LD or XML), each all or nothing."""
    largest = max(file.stat().st_size for file in files)
    if largest >= capture.LARGE_DOCUMENT_BYTES:
        capture.start_workers(largest)  # they start while the database opens, the file is read
    db = database()
    who = partner or settings().operator_partner
    get_partner(db, who)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        for file in files:
            task = progress.add_task(file.name, total=None)

            def advance(count: int, task: TaskID = task) -> None:
                progress.advance(task, count)

            with file.open("rb") as stream:
                result = capture.capture_stream(
                    db,
                    stream,
                    documents.binding_for(None, file.name),
                    who,
                    behaviour="proceed" if proceed else "rollback",
                    progress=advance,
                )
            progress.update(
                task,
                total=result.captured + result.duplicates + len(result.problems),
                completed=result.captured + result.duplicates + len(result.problems),
            )
            console.print(
                f"{file.name}: captured {result.captured}, duplicates "
                f"{result.duplicates}, rejected {len(result.problems)} "
                f"(capture {result.capture_id})"
            )
            for warning in result.warning_list():  # captured, but worth a look (clock skew)
                where = f"{warning['pointer']}: " if warning["pointer"] else ""
                console.print(
                    f"{file.name}: warning: {where}{warning['warning']}",
                    highlight=False,
                    soft_wrap=True,
                )


@epcis_app.command("hash")
def hash_file(file: FileArg) -> None:
    """Print the CBV 2.0 event hash of every event, in document order."""
    data = file.read_bytes()
    if documents.binding_for(None, file.name) == "xml":
        from mics.trace.xml_binding import parse_xml

        document = parse_xml(data)
    else:
        document = json_text.load(data)  # refused as capture refuses it: depth, keys, UTF-8
    for digest in document_hashes(document):
        sys.stdout.write(digest + "\n")


def _trace(epc: str, direction: str, as_json: bool, wide: bool) -> None:
    db = database()
    root, extra = lookup.resolve(db, epc)
    answer = genealogy.trace(db, root, direction, Viewer(partner=None), extra)  # type: ignore[arg-type]
    if not answer.events:
        raise NotFound(
            f"no event names {root}"
            + (f" or its lot {extra[0]}" if extra else "")
            + "; check the identifier (`mics registry list items` shows the items)",
            field="EPC",
            value=epc,
        )
    if as_json:
        sys.stdout.write(json.dumps(answer.as_json(), indent=1) + "\n")
        return
    print_trace(console, answer.as_json(), Labels(db, wide=wide))


AsJson = Annotated[bool, typer.Option("--json", help="the whole answer as JSON")]
Wide = Annotated[bool, typer.Option("--wide", help="full identifiers beside the names")]


@trace_app.command("upstream")
def upstream(epc: str, as_json: AsJson = False, wide: Wide = False) -> None:
    """Everything EPC was made from and where it has been."""
    _trace(epc, "upstream", as_json, wide)


@trace_app.command("downstream")
def downstream(epc: str, as_json: AsJson = False, wide: Wide = False) -> None:
    """Everything made from EPC (the recall question)."""
    _trace(epc, "downstream", as_json, wide)


@keys_app.command("create")
def key_create(
    partner: str,
    role: Annotated[
        str, typer.Option(help="partner, operator, legitimate_interest, authority, witness")
    ] = "partner",
    label: str = "",
) -> None:
    """Create an API key for a partner and print it (the only time it is shown)."""
    sys.stdout.write(create_key(database(), partner, role, label) + "\n")


@keys_app.command("revoke")
def key_revoke(
    prefix: Annotated[str, typer.Argument(help="the key's prefix (mics_<prefix>_...) or the key")],
) -> None:
    """Revoke an API key: requests carrying it are refused from now on (401)."""
    partner = revoke_key(database(), prefix)
    console.print(f"revoked: an API key of partner {partner}", highlight=False)
