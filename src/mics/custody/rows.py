"""Custody's rows as its records: accounts, entries and claims read from the store."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mics.custody.model import Account, Allocation, Claim, Entry, Flow
from mics.custody.store import (
    CustodyAccountRow,
    CustodyAllocationRow,
    CustodyClaimItemRow,
    CustodyClaimRow,
    CustodyEntryRow,
)
from mics.db import Database
from mics.errors import NotFound


def account_of(row: CustodyAccountRow) -> Account:
    return Account(
        site=row.site_id,
        material=row.material,
        characteristic=row.characteristic,
        pack=row.pack,
        model=row.model,
        conversion_factors=dict(row.conversion_factors),
        id=row.id,
    )


def body_of(entry: Entry) -> dict[str, Any]:
    return {
        "inputs": [[f.identifier, f.kg] for f in entry.inputs],
        "outputs": [[f.identifier, f.kg] for f in entry.outputs],
        "shares": dict(entry.shares),
        "category": entry.category,
        "productGroup": entry.product_group,
        "step": entry.step,
        "evidence": dict(entry.evidence),
    }


def entries_of(s: Session, site: str, material: str) -> list[Entry]:
    rows = s.scalars(
        select(CustodyEntryRow)
        .where(CustodyEntryRow.site_id == site, CustodyEntryRow.material == material)
        .order_by(CustodyEntryRow.event_time, CustodyEntryRow.id)
    ).all()
    return [
        Entry(
            kind=r.kind,
            event_id=r.event_id,
            time=r.event_time,
            site=r.site_id,
            material=r.material,
            inputs=tuple(Flow(i, kg) for i, kg in r.body["inputs"]),
            outputs=tuple(Flow(i, kg) for i, kg in r.body["outputs"]),
            shares=r.body["shares"],
            category=r.body["category"],
            product_group=r.body["productGroup"],
            step=r.body["step"],
            evidence=r.body["evidence"],
            id=r.id,
        )
        for r in rows
    ]


def claims_of(
    s: Session, account_ids: Sequence[int] | None, claim_ids: Sequence[int] = ()
) -> list[Claim]:
    query = select(CustodyClaimRow).order_by(CustodyClaimRow.id)
    query = (
        query.where(CustodyClaimRow.account_id.in_(account_ids))
        if account_ids is not None
        else query.where(CustodyClaimRow.id.in_(claim_ids))
    )
    rows = s.scalars(query).all()
    if not rows:
        return []
    ids = [r.id for r in rows]
    kept = {
        r.id: account_of(r)
        for r in s.scalars(
            select(CustodyAccountRow).where(CustodyAccountRow.id.in_({r.account_id for r in rows}))
        )
    }
    items: dict[int, list[str]] = {}
    for i in s.scalars(select(CustodyClaimItemRow).where(CustodyClaimItemRow.claim_id.in_(ids))):
        items.setdefault(i.claim_id, []).append(i.identifier)
    used: dict[int, list[Allocation]] = {}
    for a, event_id in s.execute(
        select(CustodyAllocationRow, CustodyEntryRow.event_id)
        .join(CustodyEntryRow, CustodyEntryRow.id == CustodyAllocationRow.entry_id)
        .where(CustodyAllocationRow.claim_id.in_(ids))
    ):
        used.setdefault(a.claim_id, []).append(Allocation(a.entry_id, event_id, a.kg))
    return [
        Claim(
            account=kept[r.account_id],
            period=r.period,
            kg=r.kg,
            items=tuple(sorted(items.get(r.id, []))),
            share=r.share,
            text=r.text,
            product_group=r.product_group,
            allocations=tuple(used.get(r.id, [])),
            evidence=tuple(r.evidence),
            event_id=r.event_id,
            made_at=r.made_at,
            id=r.id,
        )
        for r in rows
    ]


def claim_of(db: Database, claim_id: int) -> Claim:
    with db.read() as s:
        found = claims_of(s, None, [claim_id])
    if not found:
        raise NotFound(f"no claim {claim_id}", field="id", value=claim_id)
    return found[0]
