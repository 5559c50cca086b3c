"""``mics passport``: export and verify signed passports, print packaging secrets.

- ``export ITEM`` prints the item's passport as a signed UNTP DPP credential,
  in RFC 8785 canonical JSON on one line (so that any changed byte shows);
- ``verify FILE`` checks it offline - structure or the UNTP JSON schema, the
  issuer's eddsa-jcs-2022 signature, every event's log inclusion proof against
  its signed checkpoint - and exits 0 only when everything checks;
- ``secrets PRODUCT`` prints the packaging secrets of items that have none
  (each is shown once; only its hash is kept).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from mics.cli.common import console, database, err_console, settings
from mics.errors import InvalidInput, VerificationError
from mics.ledger.store.signing_key import load_signer
from mics.passport.credential import verify_credential
from mics.passport.data_integrity import jcs
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
