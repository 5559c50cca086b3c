"""Run a witness against a MICS log over HTTP: fetch, check, cosign, send back, remember.

One round (:func:`witness_once`) of the pull-style witness that ``mics ledger
witness`` runs:

1. ``GET /ledger/key``: the log's note verifier, pinned on first use (or given)
   and refused if it ever changes;
2. ``GET /ledger/checkpoint``: the latest signed checkpoint;
3. ``GET /ledger/proof/consistency?first=<last cosigned size>&second=<size>``;
4. :func:`mics.ledger.witness.add_checkpoint` with exactly the request a
   c2sp.org/tlog-witness ``add-checkpoint`` call carries (old size, proof, note);
5. the new state is saved *before* the cosignature leaves (tlog-witness: persist
   before responding), then ``POST /ledger/cosignatures`` with the witness's API key.

The HTTP client is injected (tests pass an ``httpx.AsyncClient`` over
``httpx.ASGITransport``). The state file is JSON: the pinned log key, the last
cosigned checkpoint (origin, size, root, note) and the last size sent.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from mics import secret_file
from mics.errors import Forbidden, InvalidInput, MicsError
from mics.ledger.note import Signer, Verifier, open_checkpoint
from mics.ledger.witness import WitnessState, add_checkpoint, format_request, parse_request


@dataclass(frozen=True)
class Round:
    """What one witness round did."""

    origin: str
    old_size: int
    size: int
    line: str | None  # None: nothing new to cosign


def load_state(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        state: dict[str, Any] = json.loads(path.read_text("utf-8"))
    except ValueError as error:
        raise InvalidInput(
            f"witness state {path} is not JSON: {error}",
            field="--state-file",
            value=str(path),
            expected="a file written by mics ledger witness (never edit it by hand)",
        ) from None
    return state


def save_state(path: Path, state: dict[str, Any]) -> None:
    """Write atomically: a crash leaves the old state or the new one, never half."""
    secret_file.replace(path, json.dumps(state, indent=1))


async def witness_once(
    client: httpx.AsyncClient,
    cosigner: Signer,
    state_file: Path,
    api_key: str | None = None,
    log_key: str | None = None,
    now: int | None = None,
) -> Round:
    """One round against the log behind ``client`` (its ``base_url`` is the log URL)."""
    state = load_state(state_file)
    served = (await _get(client, "/ledger/key")).strip()
    pinned = state.get("log_key") or log_key or served
    if log_key is not None and log_key != pinned:
        raise Forbidden(f"--log-key {log_key} differs from the key pinned in {state_file}")
    if served != pinned:
        raise Forbidden(
            f"the log now serves key {served}, this witness pinned {pinned}: refusing to cosign",
            field="log_key",
        )
    verifier = Verifier.parse(pinned)
    note = await _get(client, "/ledger/checkpoint")
    checkpoint = open_checkpoint(note, verifier)
    last = state.get("checkpoint")
    previous = (
        WitnessState(last["origin"], last["size"], bytes.fromhex(last["root"])) if last else None
    )
    old_size = previous.size if previous is not None else 0
    if previous is not None and state.get("sent") == checkpoint.size == previous.size:
        if previous.root_hash != checkpoint.root_hash:
            add_checkpoint(previous, note, old_size, [], verifier, cosigner, 0)  # raises Fork
        return Round(checkpoint.origin, old_size, checkpoint.size, None)
    proof: list[bytes] = []
    if 0 < old_size < checkpoint.size:
        answer = await client.get(
            "/ledger/proof/consistency", params={"first": old_size, "second": checkpoint.size}
        )
        _raise_for(answer)
        proof = [bytes.fromhex(h) for h in answer.json()["hashes"]]
    request = format_request(old_size, proof, note)  # the tlog-witness add-checkpoint body
    sent_old, sent_proof, sent_note = parse_request(request)
    cosigned = add_checkpoint(
        previous, sent_note, sent_old, sent_proof, verifier, cosigner, now or int(time.time())
    )
    new = cosigned.state
    state = {
        "log_key": pinned,
        "checkpoint": {
            "origin": new.origin,
            "size": new.size,
            "root": new.root_hash.hex(),
            "note": note,
        },
        "sent": state.get("sent"),
    }
    save_state(state_file, state)
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    await _send(client, headers, "PUT", "/ledger/witness-key", {"vkey": cosigner.verifier.vkey})
    await _send(
        client,
        headers,
        "POST",
        "/ledger/cosignatures",
        {"size": new.size, "cosignature": cosigned.line},
    )
    save_state(state_file, state | {"sent": new.size})
    return Round(new.origin, old_size, new.size, cosigned.line)


async def _get(client: httpx.AsyncClient, path: str) -> str:
    answer = await client.get(path)
    _raise_for(answer)
    return answer.text


async def _send(
    client: httpx.AsyncClient, headers: dict[str, str], method: str, path: str, body: Any
) -> None:
    answer = await client.request(method, path, json=body, headers=headers)
    _raise_for(answer)


def _raise_for(answer: httpx.Response) -> None:
    if answer.status_code >= 400:
        try:
            detail = answer.json().get("detail", answer.text)
        except ValueError:
            detail = answer.text
        raise MicsError(
            f"the log answered {answer.status_code} to {answer.request.method} "
            f"{answer.request.url.path}: {detail}"
        )
