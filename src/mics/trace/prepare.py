"""What capture computes from each event before it writes anything: the part that runs in parallel.

For a batch of ``(index, event)`` pairs, ``prepare`` validates every event (unless MICS
built them itself), then for each valid one computes its CBV 2.0 hash, its event time in
UTC, the identifiers it names and its business transactions. Nothing here reads or
writes the database or depends on what was captured before, so a batch gives the same
answer in this process or in a worker process (``mics.runtime.process_pool``): on the
capture benchmark this is ~55% of a capture's CPU time (validation ~70 us an event,
hash ~55 us, identifiers ~11 us on the 2-core bench machine).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, NamedTuple

from mics.trace.event_hash import event_hash
from mics.trace.event_identifiers import biz_transactions, identifiers
from mics.trace.field_checks import Problem, parse_timestamp
from mics.trace.validate import validate_event


class Prepared(NamedTuple):
    """One valid event, ready to store (a tuple: it crosses to and from worker processes)."""

    position: int  # in the document's event list
    event_hash: str  # CBV 2.0 §8.9
    event_time: datetime  # in UTC
    epcs: list[tuple[str, str]]  # (identifier, role) pairs
    biz_transactions: list[tuple[str, str]]  # (type, value) pairs


Batch = list[tuple[int, dict[str, Any]]]
Outcome = tuple[list[Problem], list[Prepared]]  # a batch's problems and its valid events


def prepare(
    batch: Batch, context: Any, now: datetime, base: str, built: bool, binding: str = "json"
) -> Outcome:
    """The problems of ``batch``'s events and, in order, the prepared form of the others.

    ``now`` is the capture's time (no event may be later); ``base`` the JSON pointer of
    the document's event list; ``built`` skips validation for events MICS built itself;
    ``binding`` is the syntax the events came in (``json`` or ``xml``).
    """
    problems: list[Problem] = []
    good = batch
    if not built:
        # All validated first, then all hashed, as capture did before it had workers:
        # both per event ran 10-20% slower (bench/capture.py's events, one process,
        # 3,426-3,532 against 3,477-4,198 events a CPU second, three alternating runs).
        good = []
        for index, event in batch:
            found = validate_event(
                event, index, now=now, base=base, context=context, binding=binding
            )
            if found:
                problems.extend(found)
            else:
                good.append((index, event))
    prepared: list[Prepared] = [
        Prepared(
            index,
            event_hash(event, context),
            parse_timestamp(event["eventTime"]).astimezone(UTC),
            identifiers(event),
            biz_transactions(event),
        )
        for index, event in good
    ]
    return problems, prepared
