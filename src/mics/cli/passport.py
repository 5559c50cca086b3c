"""``mics passport``: export and verify signed passports, print packaging secrets.

- ``export ITEM`` prints the item's passport as a signed UNTP DPP credential,
  in RFC 8785 canonical JSON on one line (so that any changed byte shows);
- ``verify FILE`` checks it offline - structure or the UNTP JSON schema, the
  issuer's eddsa-jcs-2022 signature, every event's log inclusion proof against
  its signed checkpoint - and exits 0 only when everything checks;
- ``secrets PRODUCT`` prints the packaging secrets of items that have none
  (each is shown once; only its hash is kept);
- ``warm`` writes the passport snapshot of every tagged item (``--all``: every item)
  whose snapshot is missing or stale, so that no item's first scan assembles its
  passport (``mics.passport.prebuild``); run again, it writes nothing.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from mics.cli.common import console, database, err_console, settings
from mics.errors import InvalidInput, VerificationError
from mics.ledger.store.signing_key import load_signer
from mics.passport.credential import verify_credential
from mics.passport.data_integrity import jcs
from mics.passport.languages import LANGUAGES, language_code
from mics.passport.ownership import issue_secrets

passport_app = typer.Typer(help="Product passports: export, verify, secrets.", no_args_is_help=True)
SCHEMA = ("standards", "untp", "data-models", "untp-dpp", "artefacts", "untp-dpp-schema.json")


@passport_app.command("export")
def export(
    item: Annotated[str, typer.Argument(help="a Digital Link URI or GTIN/serial")],
    tier: Annotated[str, typer.Option(help="public, legitimate_interest or authority")] = "public",
) -> None:
    """Print the item's passport as a signed verifiable credential (canonical JSON).

    The cited events and their log proofs come with ``--tier authority`` only."""
    # imported here: issuing reads the footprint, whose LCA engine (bw2calc, SciPy,
    # pandas) would slow the start of every other command by seconds
    from mics.passport.issue import issue_credential, parse_item

    gtin, serial, lot = parse_item(item)
    config = settings()
    signer = load_signer(config.home, config.instance)
    credential = issue_credential(
        database(), config, gtin, serial, lot, tier=tier, log_signer=signer
    )
    sys.stdout.buffer.write(jcs(credential) + b"\n")
    sys.stdout.flush()


def _schema_path(given: Path | None) -> Path | None:
    """``--schema``, else the copy in ``$MICS_SHARED`` (the team's public test data)."""
    if given is not None:
        return given
    root = os.environ.get("MICS_SHARED")
    if root and Path(root, *SCHEMA).is_file():
        return Path(root, *SCHEMA).resolve()
    return None


@passport_app.command("verify")
def verify(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    issuer_key: Annotated[
        str | None, typer.Option(help="pin the issuer's key (Multikey z6Mk...)")
    ] = None,
    log_key: Annotated[str | None, typer.Option(help="pin the log's note verifier key")] = None,
    schema: Annotated[
        Path | None, typer.Option(help="the UNTP DPP JSON schema (default: from ../shared)")
    ] = None,
    allow_reformatted: Annotated[
        bool, typer.Option(help="accept JSON that is not in the exported canonical form")
    ] = False,
    strict: Annotated[
        bool, typer.Option(help="fail (exit 1) when the UNTP JSON schema check cannot run")
    ] = False,
) -> None:
    """Check an exported passport offline; exit 0 only when every check that ran passes.

    The UNTP DPP JSON schema is GPL-3.0, so MICS does not ship it: give it with
    --schema (or keep ../shared beside the checkout). Without it only MICS's
    structural rules run, the report says so ("schema_checked": false), and --strict
    makes that a failure."""
    raw = file.read_bytes()
    try:
        credential: Any = json.loads(raw)
    except ValueError as error:
        raise VerificationError(
            f"expected a JSON credential, got unreadable bytes: {error}"
        ) from None
    if not allow_reformatted and raw.removesuffix(b"\n") != jcs(credential):
        raise VerificationError(
            "expected the credential in its exported canonical form (RFC 8785), got other "
            "bytes: it was edited or re-serialised (use --allow-reformatted for the latter)"
        )
    path = _schema_path(schema)
    if path is None and strict:
        raise VerificationError(
            "expected the UNTP DPP JSON schema for --strict, found none: pass "
            "--schema untp-dpp-schema.json (from github.com/uncefact/spec-untp)"
        )
    loaded = json.loads(path.read_text("utf-8")) if path is not None else None
    if loaded is not None and not isinstance(loaded, dict):
        raise InvalidInput("not a JSON schema", field="--schema", value=str(path))
    result = verify_credential(credential, issuer_key=issuer_key, log_key=log_key, schema=loaded)
    console.print_json(
        data={
            "verified": True,
            "issuer": result.issuer,
            "issuer_key": result.key,
            "events_proven": result.events,
            "checkpoint_size": result.checkpoint_size,
            "schema_checked": path is not None,
            "checked_against": result.schema + (f" ({path})" if path else ""),
        }
    )
    if path is None:
        err_console.print(
            "note: the UNTP JSON schema check did not run (no schema found; pass --schema, "
            "or --strict to make this a failure): only MICS's structural rules were checked",
            highlight=False,
        )


@passport_app.command("secrets")
def secrets(
    product: Annotated[str, typer.Argument(help="product id or GTIN")],
    reissue: Annotated[
        bool, typer.Option(help="new secrets also for items that have one but were never claimed")
    ] = False,
) -> None:
    """Print new packaging secrets (serial and secret), each shown only this once."""
    issued = issue_secrets(database(), product, reissue=reissue)
    if not issued:
        console.print("no item needed a new secret (use --reissue for unclaimed items)")
    for entry in issued:
        sys.stdout.write(f"{entry.serial}\t{entry.secret}\n")


@passport_app.command("warm")
def warm_snapshots(
    gtin: Annotated[
        str | None, typer.Option(help="only the items of this product (its GTIN)")
    ] = None,
    every: Annotated[
        bool, typer.Option("--all", help="every item, not only those with an NFC tag")
    ] = False,
    lang: Annotated[
        list[str] | None,
        typer.Option(
            help=f"a passport language ({', '.join(LANGUAGES)}; default: all), again for more"
        ),
    ] = None,
    batch: Annotated[
        int | None,
        typer.Option(min=1, max=10_000, help="items a transaction (default: 100)"),
    ] = None,
) -> None:
    """Assemble passports before anyone scans: write the snapshot of every tagged item
    whose snapshot is missing or stale (for the public tier, each language, MICS_BASE_URL).

    A scan then reads the stored snapshot instead of assembling the passport (genealogy,
    chain of custody, custody claims). Run it after a bulk import, a product edit, or
    with the server's prebuilder off (MICS_PASSPORT_PREBUILD=0); run again, it writes
    nothing. The snapshots are for the address in MICS_BASE_URL: use the server's."""
    # Imported here: the passport's assembly loads the footprint engine (bw2calc, SciPy),
    # which no other command should pay for at start.
    from mics.passport.prebuild import BATCH, product_gtin, warm

    config = settings()
    db = database()
    product = None if gtin is None else product_gtin(db, gtin)  # bad input: before any work
    languages = [language_code(code) for code in lang or LANGUAGES]
    with Progress(
        TextColumn("passport snapshots"),
        BarColumn(),
        MofNCompleteColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    ) as progress:
        task = progress.add_task("warm", total=None)
        done = warm(
            db,
            config.base_url,
            gtin=product,
            every=every,
            languages=languages,
            batch=batch or BATCH,
            progress=lambda n, total: progress.update(task, completed=n, total=total),
        )
    for failure in done.failures:
        typer.echo(f"failed: {failure}", err=True)
    typer.echo(f"passport warm ({config.base_url}): {done.summary()}")
    if done.failed:
        raise typer.Exit(1)
