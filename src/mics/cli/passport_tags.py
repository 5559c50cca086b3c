"""``mics tag register|simulate|verify-sun|read-point|publish|rejected``, ``mics passport labels``.

``labels`` joins the ``passport`` group of ``mics.cli.passport`` (wired in ``cli.app``).

ITEM is an item id, its Digital Link URI or ``GTIN/serial``. No command ever
prints a tag key: ``verify-sun`` prints the UID, the counter and the verdict.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from mics.cli.common import console, database, settings
from mics.db import Database
from mics.errors import InvalidInput, VerificationError
from mics.passport import labels as labels_mod
from mics.passport import rejected, tags, verdict_events
from mics.passport.authenticity import GeoPoint
from mics.passport.digital_link import DigitalLink, parse_digital_link
from mics.passport.sun import parse_sun_params, verify_sun
from mics.registry import find_item, get_product, list_items

tag_app = typer.Typer(
    help="NFC tags (NTAG 424 DNA, SUN): register, simulate, verify.", no_args_is_help=True
)

ItemArg = Annotated[str, typer.Argument(help="item id, Digital Link URI or GTIN/serial")]


def item_id_of(db: Database, ref: str) -> int:
    """The id of the item ``ref`` names: an id, a Digital Link URI or ``GTIN/serial``."""
    text = ref.strip()
    if text.isdigit() and len(text) < 8:
        return int(text)
    if "://" in text or text.startswith("/01/"):
        link = parse_digital_link(text)
        if link.serial is None:
            raise InvalidInput(
                f"{ref!r} names no serial",
                field="ITEM",
                value=ref,
                expected="/01/{gtin}/21/{serial}",
            )
        return find_item(db, link.gtin, link.serial).id
    gtin, _, serial = text.partition("/")
    if not serial:
        raise InvalidInput(
            f"{ref!r} is not an item reference",
            field="ITEM",
            value=ref,
            expected="an item id, a Digital Link URI or GTIN/serial",
        )
    return find_item(db, gtin, serial).id


@tag_app.command("register")
def register(
    item: ItemArg,
    uid: Annotated[str, typer.Option("--uid", help="the tag's 7-byte UID in hex")],
) -> None:
    """Bind an NFC tag to an item (its keys derive from the instance master key).

    The item's passport snapshot is written too (``mics passport warm``), so that its
    first scan does not assemble the passport."""
    config = settings()
    db = database()
    tags.load_master_key(config.home, config.instance)
    tag = tags.register_tag(db, item_id_of(db, item), uid)
    console.print_json(json.dumps(tag.as_json()))
    from mics.passport import prebuild  # loads the footprint engine: only when used

    done = prebuild.warm(db, config.base_url, item_ids=[tag.item_id])
    for failure in done.failures:  # the tag stays registered: its first scan assembles
        typer.echo(f"note: passport snapshot not written: {failure}", err=True)


@tag_app.command("simulate")
def simulate(
    item: ItemArg,
    counter: Annotated[
        int | None, typer.Option(help="SDMReadCtr to use (default: one above the last seen)")
    ] = None,
) -> None:
    """Print the scan URL the item's tag would write when tapped (a tag simulator)."""
    config = settings()
    db = database()
    master = tags.load_master_key(config.home, config.instance)
    url = tags.simulate_scan_url(db, master, item_id_of(db, item), config.base_url, counter=counter)
    typer.echo(url)


@tag_app.command("verify-sun")
def verify_sun_command(
    e: Annotated[str, typer.Option("--e", help="the e parameter: 16 bytes hex")],
    c: Annotated[str, typer.Option("--c", help="the c parameter: 8 bytes hex")],
    meta_key: Annotated[
        str | None, typer.Option(help="SDM meta-read key, hex (default: this instance's)")
    ] = None,
    file_key: Annotated[
        str | None, typer.Option(help="SDM file-read key, hex (default: diversified per tag)")
    ] = None,
) -> None:
    """Check one SUN message (AN12196); print JSON with uid, counter and verdict.

    Exits 0 when authentic, 1 when not.
    """
    e_bytes, c_bytes = parse_sun_params(e, c)
    config = settings()
    master = None
    if meta_key is None or file_key is None:
        master = tags.load_master_key(config.home, config.instance)
    meta = _key("--meta-key", meta_key) if meta_key is not None else None
    file = _key("--file-key", file_key) if file_key is not None else None
    out: dict[str, Any]
    try:
        if master is not None:
            reading = verify_sun(
                e_bytes,
                c_bytes,
                meta if meta is not None else master.meta_read_key,
                file if file is not None else master.file_read_key,
            )
        else:
            assert meta is not None
            assert file is not None
            reading = verify_sun(e_bytes, c_bytes, meta, file)
        out = {"uid": reading.uid.hex(), "counter": reading.counter, "verdict": "authentic"}
    except VerificationError as error:
        out = {"uid": None, "counter": None, "verdict": "not_authentic", "reason": error.message}
    typer.echo(json.dumps(out))
    if out["verdict"] != "authentic":
        raise SystemExit(1)  # typer.Exit would be swallowed by standalone_mode=False


@tag_app.command("read-point")
def read_point(
    point_id: Annotated[str, typer.Argument(help="an id such as shop-milano")],
    name: Annotated[str, typer.Option(help="what the place is")],
    lat: Annotated[float, typer.Option(help="latitude, decimal degrees")],
    lon: Annotated[float, typer.Option(help="longitude, decimal degrees")],
    gln: Annotated[str | None, typer.Option(help="its GLN, when it has one")] = None,
) -> None:
    """Register a read point (a place where tags are read) for the clone check."""
    tags.put_read_point(database(), point_id, name, GeoPoint(lat, lon), gln)
    console.print(f"read point {point_id} at {lat}, {lon}")


@tag_app.command("publish")
def publish() -> None:
    """Capture every unrecorded scan verdict as an EPCIS event (normally automatic)."""
    count = verdict_events.publish_all(database(), settings().operator_partner)
    console.print(f"{count} verdicts captured")


@tag_app.command("rejected")
def rejected_command(item: ItemArg) -> None:
    """Print the item's newest scans judged not authentic (kept apart from the log), as JSON."""
    db = database()
    found = rejected.rejected_scans(db, item_id_of(db, item))
    rows = [
        {
            "scanned_at": r.scanned_at.isoformat(),
            "reason": r.reason,
            "uid": r.uid,
            "counter": r.counter,
            "latitude": r.latitude,
            "longitude": r.longitude,
            "read_point": r.read_point_id,
        }
        for r in found
    ]
    typer.echo(json.dumps(rows, indent=2))


def labels(
    product: Annotated[str, typer.Argument(help="product id or GTIN")],
    lot: Annotated[str | None, typer.Option(help="only the items of this lot")] = None,
    out: Annotated[Path, typer.Option(help="SVG file; pages after the first get -2, -3...")] = Path(
        "labels.svg"
    ),
) -> None:
    """Write a printable A4 label sheet (SVG): QR code, name, GTIN, serial per item."""
    db = database()
    base_url = settings().base_url
    found = get_product(db, product)
    items = []
    offset = 0
    while True:
        page = list_items(db, product=found.id, lot=lot, limit=500, offset=offset)
        items.extend(page.items)
        offset += len(page.items)
        if not page.items or offset >= page.total:
            break
    if not items:
        raise InvalidInput(
            f"product {found.id} has no items" + (f" in lot {lot!r}" if lot else ""),
            field="lot" if lot else "PRODUCT",
            value=lot or product,
            expected="a product (and lot) with serialised items",
        )
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    sheet_labels = []
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("labels", total=len(items))
        for item in items:
            link = DigitalLink(gtin=item.gtin, serial=item.serial)
            sheet_labels.append(
                labels_mod.Label(link.uri(base_url), found.name, item.gtin, item.serial, item.lot)
            )
            progress.advance(task)
    written = []
    for number, page_svg in enumerate(labels_mod.label_sheets(sheet_labels), start=1):
        path = out if number == 1 else out.with_name(f"{out.stem}-{number}{out.suffix}")
        path.write_text(page_svg, "utf-8")
        written.append(str(path))
    console.print(f"{len(items)} labels on {len(written)} A4 page(s): {', '.join(written)}")


def _key(option: str, text: str) -> bytes:
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != 16:
        # Never echo a key, not even a malformed one.
        raise InvalidInput(
            "is not an AES-128 key", field=option, expected="32 hex digits (16 bytes)"
        )
    return key


__all__ = ["item_id_of", "labels", "tag_app"]
