"""Writing a capture's rows: events, their identifiers and business transactions, log leaves.

Given a batch of events and what ``mics.trace.prepare`` computed of them, ``Writer``
takes the log's lock at the first batch it writes (not before: validation runs
unlocked), looks up which eventIDs are stored already (a duplicate, or a conflict when the hash
differs), then inserts the new events' rows in bulk (``mics.storage.bulk``) and
appends their leaves to the transparency log (``mics.ledger.store.log``), all in the
capture's transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from mics.ledger.leaf import leaf_data, leaf_writer
from mics.ledger.store import log
from mics.storage.bulk import insert_rows, parameter_mark
from mics.trace import clock_skew, documents
from mics.trace.capture_jobs import CaptureResult
from mics.trace.cbv import bare_term
from mics.trace.prepare import Batch, Prepared
from mics.trace.store import EventBizTransactionRow, EventEpcRow, EventRow
from mics.trace.validate import DOCUMENT_EVENTS, Problem

__all__ = ["BIZ_TX_TABLE", "EPC_TABLE", "EVENT_COLUMNS", "EVENT_TABLE", "Writer"]


class Writer:
    """Writes batches of valid events, their index rows and their log leaves."""

    def __init__(
        self,
        s: Session,
        result: CaptureResult,
        partner: str,
        record_time: datetime,
        context: Any,
        base: str = DOCUMENT_EVENTS,
        clock: datetime | None = None,
    ) -> None:
        self.s, self.result, self.partner, self.base = s, result, partner, base
        self.clock = clock or record_time  # the capture's time, for clock-skew warnings
        self.record_time, self.context = record_time, context
        # Plain SQL to the driver, as the inserts below: this and the duplicate lookup ran
        # ~0.44 ms through the ORM, ~0.08 ms so, and every capture runs both at least once.
        self.connection = s.connection()
        self.mark = parameter_mark(self.connection.dialect)
        self.next_id = 0  # read under the log's lock, when the first batch is written
        self.seen: dict[str, str] = {}
        self.leaf: Callable[[str], bytes] | None = None  # made at the first event stored

    def write(self, batch: Batch, prepared: list[Prepared]) -> None:
        """Store the events of ``batch`` that ``prepared`` holds (the valid ones)."""
        if not prepared:  # every event of the batch refused (proceed): no "IN ()" to send
            return
        if not self.next_id:
            self._lock()
        events_of = dict(batch)
        ready = []
        for index, digest, event_time, epc_list, tx_list in prepared:
            event = events_of[index]
            event_id = event.get("eventID") or digest
            ready.append((index, event, digest, event_id, event_time, epc_list, tx_list))
        ids = tuple(event_id for _, _, _, event_id, _, _, _ in ready)
        marks = ", ".join([self.mark] * len(ids))
        found = self.connection.exec_driver_sql(
            f"SELECT event_id, event_hash FROM epcis_event WHERE event_id IN ({marks})", ids
        )
        stored: dict[str, str] = {str(row[0]): str(row[1]) for row in found}
        events: list[tuple[Any, ...]] = []
        epcs: list[tuple[int, str, str]] = []
        transactions: list[tuple[int, str, str]] = []
        leaves: list[tuple[int, bytes]] = []
        leaf = self.leaf
        for index, event, digest, event_id, event_time, epc_list, tx_list in ready:
            known = stored.get(event_id) or self.seen.get(event_id)
            if known is not None:
                if known != digest:
                    self.result.problems.append(
                        Problem(
                            index,
                            f"/epcisBody/eventList/{index}/eventID",
                            event_id,
                            "an eventID not already used by a different event",
                        )
                    )
                else:
                    self.result.duplicates += 1
                continue
            self.seen[event_id] = digest
            self._check_clock(index, event, event_time)
            pk = self.next_id
            self.next_id += 1
            events.append(self._event_row(pk, event, digest, event_id, event_time))
            epcs += [(pk, epc, role) for epc, role in epc_list]
            # keyed by (type, value, event): a transaction an event lists twice is stored once
            transactions += [(pk, kind, value) for kind, value in dict.fromkeys(tx_list)]
            if leaf is None:  # leaf_data's checks, in its order, once (~2% of a capture)
                leaf_data(digest, self.record_time, self.partner)
                leaf = self.leaf = leaf_writer(self.record_time, self.partner)
            leaves.append((pk, leaf(digest)))
            self.result.event_ids.append(event_id)
        if events:
            insert_rows(self.s, EVENT_TABLE, EVENT_COLUMNS, events)
            insert_rows(self.s, EPC_TABLE, ("event", "epc", "role"), epcs)
            insert_rows(self.s, BIZ_TX_TABLE, ("event", "type", "value"), transactions)
            log.append(self.s, leaves)
            self.result.captured += len(events)

    def _lock(self) -> None:
        """Take the log's lock, before the first batch is written, and read what it guards.

        Taken no earlier: until a batch is written a capture only validates and hashes,
        which the captures of several server processes do side by side, and a document
        refused whole in its first batch never takes it. From here to the transaction's
        end no other capture writes: the next event row id read now stays free, and the
        eventIDs ``write`` finds stored are all there are (on PostgreSQL ``event_id`` has
        no unique index, migration 0011_schema: this lock keeps each eventID once).
        """
        log.lock(self.s)
        found = self.connection.exec_driver_sql("SELECT max(id) FROM epcis_event").scalar()
        self.next_id = int(found or 0) + 1

    def _check_clock(self, index: int, event: dict[str, Any], event_time: datetime) -> None:
        """A warning for a stored event whose time is later than the capture's."""
        pointer = f"{self.base}/{index}/eventTime"
        found = clock_skew.future_time(
            index, pointer, event.get("eventTime"), event_time, self.clock
        )
        if found is None:
            return
        if len(self.result.warnings) < clock_skew.MAX_WARNINGS:
            self.result.warnings.append(found)
        else:
            self.result.unlisted_warnings += 1

    def _event_row(
        self, pk: int, event: dict[str, Any], digest: str, event_id: str, event_time: datetime
    ) -> tuple[Any, ...]:
        """One ``epcis_event`` row, in the order of ``EVENT_COLUMNS``."""
        read_point, biz_location = event.get("readPoint"), event.get("bizLocation")
        body = event
        if "recordTime" in event or "eventID" not in event:
            body = {k: v for k, v in event.items() if k != "recordTime"}
            body.setdefault("eventID", event_id)
        return (
            pk,
            event_id,
            digest,
            event["type"],
            event_time,
            self.record_time,
            event.get("action"),
            _short(event.get("bizStep")),
            _short(event.get("disposition")),
            read_point.get("id") if isinstance(read_point, dict) else None,
            biz_location.get("id") if isinstance(biz_location, dict) else None,
            self.partner,
            self.result.capture_id,
            documents.dumps(body),
        )


EVENT_TABLE = EventRow.metadata.tables["epcis_event"]
EPC_TABLE = EventEpcRow.metadata.tables["epcis_event_epc"]
BIZ_TX_TABLE = EventBizTransactionRow.metadata.tables["epcis_event_biztx"]
EVENT_COLUMNS = (
    "id",
    "event_id",
    "event_hash",
    "event_type",
    "event_time",
    "record_time",
    "action",
    "biz_step",
    "disposition",
    "read_point",
    "biz_location",
    "partner_id",
    "capture_id",
    "body",
)


def _short(term: Any) -> str | None:
    """CBV terms stored in their bare form ('shipping') whatever form they came in."""
    return bare_term(term) if isinstance(term, str) else None
