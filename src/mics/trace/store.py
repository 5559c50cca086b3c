"""EPCIS event tables: events in capture order, their identifiers, capture jobs.

``epcis_event.id`` is the capture order (it is also the ledger's leaf order).
Each event keeps its full EPCIS 2.0 JSON-LD form in ``body`` and the
``@context`` of the document it came in (``capture_job.context``); the columns
beside it exist for queries. ``epcis_event_epc`` indexes every identifier an
event names, in canonical GS1 Digital Link form, with its role.

Every index costs each captured event a B-tree insert, so there is one per query
that needs it (migration ``0004_capture_indexes`` has the plans; ``bench/queries.py
--explain`` prints each read's plan and the reads each index serves):
``event_id`` (duplicates, ``EQ_eventID``), ``(event_time, id)`` and
``(record_time, id)`` (time ranges and keyset pages), ``read_point`` and
``biz_location`` (``EQ_readPoint``, ``EQ_bizLocation``), ``disposition`` (the
passport's recall check), ``(partner_id, id)`` (a partner's own events in capture order,
``mics.trace.viewer.visible_parts``); ``(epc, role, event)`` answers ``MATCH_*``,
visibility and genealogy from the index alone, the table itself, keyed by
``(event, epc, role)``, the identifiers of given events; ``epcis_event_biztx``, keyed by
``(type, value, event)``, answers ``EQ_bizTransaction_*``. Low-selectivity filters
(``eventType``, ``EQ_bizStep``) scan in ``id`` order and stop at the page size.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from mics.db import Base, UtcDateTime

BigId = BigInteger().with_variant(Integer, "sqlite")

# Roles of an identifier in an event (epcis_event_epc.role).
ROLES = (
    "epc",  # epcList (Object, Transaction), childEPCs (Aggregation, Association)
    "parent",  # parentID
    "input",  # inputEPCList
    "output",  # outputEPCList
    "quantity",  # quantityList / childQuantityList epcClass
    "input_quantity",
    "output_quantity",
    "source",  # sourceList ids
    "destination",  # destinationList ids
    "read_point",
    "biz_location",
)


class CaptureJobRow(Base):
    __tablename__ = "capture_job"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partner.id"), index=True)
    # the role of the API key it came with (an authority's recall counts everywhere);
    # None without a key: the CLI, MICS's own tag-scan verdicts
    role: Mapped[str | None] = mapped_column(String(20), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    running: Mapped[bool] = mapped_column(default=True)
    success: Mapped[bool] = mapped_column(default=False)
    error_behaviour: Mapped[str] = mapped_column(String(20), default="rollback")
    captured: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[list[dict[str, object]]] = mapped_column(JSON, default=list)
    # what was captured but is flagged (an event time later than the capture: clock skew)
    warnings: Mapped[list[dict[str, object]] | None] = mapped_column(JSON, nullable=True)
    context: Mapped[object] = mapped_column(JSON, nullable=True)


class EventRow(Base):
    __tablename__ = "epcis_event"
    __table_args__ = (
        Index("ix_epcis_event_record", "record_time", "id"),
        Index("ix_epcis_event_time_id", "event_time", "id"),
        Index("ix_epcis_event_partner", "partner_id", "id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(300), unique=True)
    event_hash: Mapped[str] = mapped_column(String(120))
    event_type: Mapped[str] = mapped_column(String(30))
    event_time: Mapped[datetime] = mapped_column(UtcDateTime())
    record_time: Mapped[datetime] = mapped_column(UtcDateTime())
    action: Mapped[str | None] = mapped_column(String(10), nullable=True)
    biz_step: Mapped[str | None] = mapped_column(String(200), nullable=True)
    disposition: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    read_point: Mapped[str | None] = mapped_column(String(300), nullable=True, index=True)
    biz_location: Mapped[str | None] = mapped_column(String(300), nullable=True, index=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partner.id"))
    capture_id: Mapped[str] = mapped_column(ForeignKey("capture_job.id"))
    body: Mapped[str] = mapped_column(Text)


class EventEpcRow(Base):
    """An identifier an event names, with its role: keyed by (``event``, ``epc``, ``role``).

    No surrogate ``id`` (migration ``0011_schema``): on SQLite the table is ``WITHOUT
    ROWID``, a B-tree in event order that answers "the identifiers of these events" itself,
    so a row costs two B-tree inserts (that one, at its right edge, and the
    ``(epc, role, event)`` index) instead of three (rowid table, ``event`` index and that
    index); on PostgreSQL the heap, the primary key and that index, instead of four."""

    __tablename__ = "epcis_event_epc"
    __table_args__ = (
        Index("ix_epcis_event_epc_epc_role_event", "epc", "role", "event"),
        {"sqlite_with_rowid": False},
    )
    event: Mapped[int] = mapped_column(
        ForeignKey("epcis_event.id"), primary_key=True, autoincrement=False
    )
    epc: Mapped[str] = mapped_column(String(300), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), primary_key=True)


class EventBizTransactionRow(Base):
    """A business transaction an event names: keyed by (``type``, ``value``, ``event``),
    the order ``EQ_bizTransaction_*`` reads; ``WITHOUT ROWID`` on SQLite, so one B-tree."""

    __tablename__ = "epcis_event_biztx"
    __table_args__ = ({"sqlite_with_rowid": False},)
    type: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[str] = mapped_column(String(300), primary_key=True)
    event: Mapped[int] = mapped_column(
        ForeignKey("epcis_event.id"), primary_key=True, autoincrement=False
    )


class NamedQueryRow(Base):
    """A partner's named query: names are per partner (``partner_id``, ``name``)."""

    __tablename__ = "epcis_query"
    partner_id: Mapped[str] = mapped_column(ForeignKey("partner.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SubscriptionRow(Base):
    """A named query's subscription: new matching events are POSTed to ``dest``.

    ``partner_id`` is the query's owner, so (``partner_id``, ``query_name``) names the
    query. ``sealed_token`` is the subscriber's ``signatureToken`` sealed with the
    instance's webhook key (``mics.trace.webhook_tokens``), never the token itself."""

    __tablename__ = "epcis_subscription"
    __table_args__ = (
        ForeignKeyConstraint(
            ["partner_id", "query_name"],
            ["epcis_query.partner_id", "epcis_query.name"],
            name="fk_epcis_subscription_query_epcis_query",
        ),
        Index("ix_epcis_subscription_query", "partner_id", "query_name"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    query_name: Mapped[str] = mapped_column(String(120))
    partner_id: Mapped[str] = mapped_column(ForeignKey("partner.id"))
    dest: Mapped[str] = mapped_column(String(500))
    sealed_token: Mapped[str] = mapped_column(Text)
    last_event: Mapped[int] = mapped_column(BigId, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    failures: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
