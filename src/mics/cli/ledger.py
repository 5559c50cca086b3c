"""``mics ledger``: offline proof checks, the audit, witnesses.

- ``verify-event`` / ``verify-consistency``: no database, no network; exit 0
  only when every check passes, else one line saying what failed;
- ``proof EVENT_ID``: the same proof JSON as ``GET /epcis/events/{id}/proof``;
- ``audit``: rebuild the log from the stored events (non-zero exit on tampering);
- ``witness-key``, ``add-witness``, ``witness``: run a c2sp.org/tlog-witness.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from mics.cli.common import console, database, settings
from mics.errors import InvalidInput, NotFound
from mics.ledger.note import ALG_COSIGNATURE_V1, Signer, Verifier
from mics.ledger.offline import verify_checkpoints
from mics.ledger.store import cosignatures
from mics.ledger.store.signing_key import load_signer
from mics.secret_file import create_once
from mics.trace import proofs, query
from mics.trace.audit import audit
from mics.trace.offline import verify_event

ledger_app = typer.Typer(help="Transparency log: proofs, audit, witnesses.", no_args_is_help=True)

FileArg = Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)]
KeyOption = Annotated[
    str, typer.Option("--key", help="the log's note verifier key, or a file holding it")
]
WitnessOption = Annotated[
    list[str] | None,
    typer.Option("--witness", help="a trusted witness vkey or file (repeat for several)"),
]
QuorumOption = Annotated[
    int | None,
    typer.Option("--quorum", help="cosignatures needed (default: every --witness given)"),
]


def _text(value: str) -> str:
    """A key or note given inline or as a file name."""
    path = Path(value)
    if len(value) < 4096 and path.is_file():
        return path.read_text("utf-8")
    return value


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidInput(
            f"{path} is not JSON: {error}", field=str(path), expected="a UTF-8 JSON file"
        ) from None


def _witnesses(values: list[str] | None, quorum: int | None) -> tuple[list[Verifier], int]:
    keys = [Verifier.parse(_text(v).strip()) for v in values or []]
    return keys, len(keys) if quorum is None else quorum


@ledger_app.command("verify-event")
def verify_event_command(
    event: FileArg,
    proof: FileArg,
    key: KeyOption,
    checkpoint: Annotated[
        Path | None, typer.Option(help="checkpoint note file (default: the proof's)")
    ] = None,
    witness: WitnessOption = None,
    quorum: QuorumOption = None,
) -> None:
    """Check offline that EVENT.json is in the log at the signed checkpoint."""
    witnesses, needed = _witnesses(witness, quorum)
    note = checkpoint.read_text("utf-8") if checkpoint is not None else None
    proven = verify_event(_json(event), _json(proof), _text(key).strip(), note, witnesses, needed)
    cp = proven.checkpoint
    console.print(
        f"ok: event {proven.event_hash} is leaf {proven.leaf_index} of {cp.size} in {cp.origin}"
        f" (recorded {proven.leaf.record_time.isoformat()} by {proven.leaf.partner}; "
        f"{len(proven.cosignatures)} witness cosignatures)",
        highlight=False,
        soft_wrap=True,
    )


@ledger_app.command("verify-consistency")
def verify_consistency_command(
    proof: FileArg,
    old: Annotated[Path, typer.Option("--old", exists=True, help="older checkpoint note")],
    new: Annotated[Path, typer.Option("--new", exists=True, help="newer checkpoint note")],
    key: KeyOption,
    witness: WitnessOption = None,
    quorum: QuorumOption = None,
) -> None:
    """Check offline that checkpoint NEW extends checkpoint OLD."""
    witnesses, needed = _witnesses(witness, quorum)
    first, second, cosigned = verify_checkpoints(
        _json(proof),
        old.read_text("utf-8"),
        new.read_text("utf-8"),
        _text(key).strip(),
        witnesses,
        needed,
    )
    console.print(
        f"ok: {second.origin} size {second.size} extends size {first.size} "
        f"({len(cosigned)} witness cosignatures)",
        highlight=False,
        soft_wrap=True,
    )


@ledger_app.command("proof")
def proof_command(event_id: str) -> None:
    """Print the inclusion proof JSON of a stored event (as the API serves it)."""
    config = settings()
    db = database()
    row = query.get_event(db, event_id, query.Viewer(partner=None))
    if row is None:
        raise NotFound(f"no event {event_id!r}", field="EVENT_ID", value=event_id)
    signer = load_signer(config.home, config.instance)
    proof = proofs.event_proof(db, signer, config.instance, row)
    sys.stdout.write(json.dumps(proof, indent=1) + "\n")


@ledger_app.command("audit")
def audit_command(
    key: Annotated[
        str | None, typer.Option("--key", help="log verifier (default: this instance's key)")
    ] = None,
) -> None:
    """Rebuild every leaf and the tree from the events; exit 1 naming the first tampering."""
    config = settings()
    verifier = (
        Verifier.parse(_text(key).strip())
        if key
        else load_signer(config.home, config.instance).verifier
    )
    report = audit(database(), verifier).raise_for_tamper()
    console.print(
        f"ok: {report.events} events match {report.tree_size} leaves and "
        f"{report.checkpoints} signed checkpoints",
        highlight=False,
    )


@ledger_app.command("witness-key")
def witness_key_command(
    name: Annotated[str, typer.Argument(help="witness key name, e.g. witness.example/w1")],
    key_file: Annotated[Path, typer.Option("--key-file", help="where to write the private key")],
) -> None:
    """Create a witness (cosignature/v1) key; print its verifier key."""
    signer = Signer.generate(name, ALG_COSIGNATURE_V1)
    if not create_once(key_file, signer.skey + "\n"):  # mode 0600, never over a key
        raise InvalidInput(
            f"{key_file} exists", field="--key-file", value=str(key_file), expected="a new file"
        )
    print(signer.verifier.vkey)


@ledger_app.command("add-witness")
def add_witness_command(partner: str, vkey: str) -> None:
    """Register PARTNER's witness verifier key in this log's database."""
    found = cosignatures.register_witness(database(), partner, _text(vkey).strip())
    console.print(f"witness {found.partner}: {found.vkey}", highlight=False)


@ledger_app.command("witness")
def witness_command(
    log_url: Annotated[str, typer.Option("--log", help="the log's base URL")],
    key_file: Annotated[Path, typer.Option("--key-file", exists=True, dir_okay=False)],
    state_file: Annotated[Path, typer.Option("--state-file")] = Path("witness-state.json"),
    once: Annotated[bool, typer.Option("--once", help="one round, then exit")] = False,
    log_key: Annotated[str | None, typer.Option(help="the log's vkey (else pinned)")] = None,
    api_key: Annotated[
        str | None, typer.Option(envvar="MICS_API_KEY", help="this witness's API key")
    ] = None,
    interval: Annotated[float, typer.Option(help="seconds between rounds")] = 10.0,
) -> None:
    """Witness a MICS log: check each checkpoint extends the last cosigned, cosign, send."""
    import httpx

    from mics.ledger.witness_client import witness_once

    cosigner = Signer.parse(key_file.read_text("ascii").strip())
    pinned = _text(log_key).strip() if log_key else None

    async def run() -> None:
        async with httpx.AsyncClient(base_url=log_url.rstrip("/"), timeout=30) as client:
            while True:
                done = await witness_once(client, cosigner, state_file, api_key, pinned)
                if done.line is None:
                    console.print(f"{done.origin}: size {done.size} already cosigned")
                else:
                    console.print(f"{done.origin}: cosigned size {done.size} (was {done.old_size})")
                if once:
                    return
                await asyncio.sleep(interval)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
