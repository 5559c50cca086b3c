"""Chain-of-custody service: accounts, entries from EPCIS events, claims, balances.

Each function is one transaction over custody's tables; entries and claims are
EPCIS 2.0 events captured through ``mics.trace.capture`` (so each is a leaf of the
transparency log with an inclusion proof at ``/epcis/events/{eventID}/proof``).

    open_account(db, "orafi-aretini", "gold", "recycled", "rjc-coc", "controlled_blending")
    record(db, [receipt, casting], "orafi-aretini")      # EPCIS events -> entries
    claim(db, site="orafi-aretini", material="gold", characteristic="recycled",
          kg=0.0021, period="2026Q3", items=["https://id.gs1.org/01/.../21/AN0001"])
    balances(db, "orafi-aretini", "2026Q3")
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select, update

from mics.custody import events as ev
from mics.custody.ledger import decide
from mics.custody.model import Account, Claim, Entry
from mics.custody.pack import (
    SLUG,
    Pack,
    check_characteristic,
    check_material,
    check_model,
    load,
)
from mics.custody.period import Period, check_length, parse_period
from mics.custody.rows import account_of, body_of, claim_of, claims_of, entries_of
from mics.custody.stock import overdrawn
from mics.custody.store import (
    CustodyAccountRow,
    CustodyAllocationRow,
    CustodyClaimItemRow,
    CustodyClaimRow,
    CustodyEntryRow,
)
from mics.db import Database
from mics.errors import Conflict, InvalidInput, MicsError, NotFound
from mics.registry import get_partner

UNITS = ("kg", "KGM")  # a claim is a mass of the characteristic


def open_account(
    db: Database,
    site: str,
    material: str,
    characteristic: str,
    scheme: str,
    model: str,
    conversion_factors: dict[str, float] | None = None,
) -> Account:
    """Open the account (or return it, if it is already open with the same rules)."""
    get_partner(db, site)  # NotFound names an unknown site
    pack = load(scheme)
    check_material(pack, material)
    check_characteristic(pack, characteristic)
    if not SLUG.match(characteristic):
        raise InvalidInput(
            "not a name",
            field="characteristic",
            value=characteristic,
            expected="lower-case letters, digits, _ or -",
        )
    check_model(pack, model)
    factors = dict(conversion_factors or {})
    for group, value in factors.items():
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or not 0 < value <= 1
        ):
            raise InvalidInput(
                "conversion factor outside (0, 1]",
                field=f"conversion_factors.{group}",
                value=value,
                expected="0 < factor <= 1 (ISO 22095-2)",
            )
    with db.transaction() as s:
        same_material = s.scalars(
            select(CustodyAccountRow).where(
                CustodyAccountRow.site_id == site, CustodyAccountRow.material == material
            )
        ).all()
        for row in same_material:
            if row.pack != scheme:
                raise Conflict(
                    f"{site} follows {row.pack} for {material}: a site follows one pack per "
                    "material",
                    field="scheme",
                    value=scheme,
                )
            if row.characteristic == characteristic:
                if row.model != model or row.conversion_factors != factors:
                    raise Conflict(
                        f"{site}/{material}/{characteristic} is already kept as {row.model} "
                        f"with conversion factors {row.conversion_factors}",
                        field="model",
                        value=model,
                    )
                return account_of(row)
        row = CustodyAccountRow(
            site_id=site,
            material=material,
            characteristic=characteristic,
            pack=scheme,
            model=model,
            conversion_factors=factors,
            claims=0,
            created_at=datetime.now(UTC),
        )
        s.add(row)
        s.flush()
        return account_of(row)


def accounts(db: Database, site: str) -> list[Account]:
    get_partner(db, site)
    with db.read() as s:
        rows = s.scalars(
            select(CustodyAccountRow)
            .where(CustodyAccountRow.site_id == site)
            .order_by(CustodyAccountRow.material, CustodyAccountRow.characteristic)
        ).all()
        return [account_of(r) for r in rows]


def account(db: Database, site: str, material: str, characteristic: str) -> Account:
    """The account named by its three keys; ``NotFound`` lists the site's accounts."""
    found = [
        a
        for a in accounts(db, site)
        if a.material == material and a.characteristic == characteristic
    ]
    if not found:
        known = ", ".join(a.key for a in accounts(db, site)) or "none"
        raise NotFound(
            f"no custody account {site}/{material}/{characteristic}; {site} keeps: {known}",
            field="material" if characteristic else "characteristic",
            value=material,
        )
    return found[0]


def record(db: Database, events: Sequence[dict[str, Any]], site: str) -> list[Entry]:
    """Capture ``events`` (as ``site``) and enter them in the site's accounts.

    Everything is checked before anything is stored: the site's location, an open
    account for each event's material, the pack's material and eligible categories,
    quantities that add up, no transformation of an already-claimed item."""
    from mics.trace import capture

    gln = get_partner(db, site).gln
    mine = {a.material: a for a in accounts(db, site)}
    entries: list[Entry] = []
    for n, event in enumerate(events):
        where = f"eventList[{n}]"
        if ev.site_gln(event, where) != gln:
            raise InvalidInput(
                f"the event's business location is not {site}'s",
                field=f"{where}.bizLocation",
                value=event.get("bizLocation"),
                expected=str(ev.location(gln or "")),
            )
        entry = ev.entry_of(event, site, where)
        if entry.material not in mine:
            raise NotFound(
                f"{site} keeps no custody account for {entry.material!r}",
                field=f"{where}.custody:material",
                value=entry.material,
            )
        _check_entry(db, load(mine[entry.material].pack), entry, where)
        entries.append(entry)
    for material in {e.material for e in entries}:
        short = overdrawn(
            [*stored(db, site, material), *(e for e in entries if e.material == material)]
        )
        if short is not None:
            entry, lot, used, held = short
            raise InvalidInput(
                f"quantities do not add up: event {entry.event_id} uses {used:.6g} kg of a lot "
                f"of which {site} holds {held:.6g} kg",
                field="inputQuantityList",
                value=lot,
                expected=f"at most {held:.6g} kg",
            )
    with db.read() as s:
        known = set(
            s.scalars(
                select(CustodyEntryRow.event_id).where(
                    CustodyEntryRow.event_id.in_([e.event_id for e in entries])
                )
            )
        )
    fresh = [
        (e, event) for e, event in zip(entries, events, strict=True) if e.event_id not in known
    ]
    if not fresh:
        return []
    result = capture.capture_document(db, ev.document([event for _, event in fresh]), site)
    if not result.success:
        raise InvalidInput(
            "capture refused the events",
            field="events",
            value=[str(p) for p in result.problems][:5],
        )
    with db.transaction() as s:
        for entry, _ in fresh:
            s.add(
                CustodyEntryRow(
                    site_id=site,
                    material=entry.material,
                    kind=entry.kind,
                    event_id=entry.event_id,
                    event_time=entry.time,
                    body=body_of(entry),
                )
            )
    return [e for e, _ in fresh]


def _check_entry(db: Database, pack: Pack, entry: Entry, where: str) -> None:
    check_material(pack, entry.material)
    if entry.kind in ("receipt", "certificate") and any(entry.shares.values()):
        categories = pack.rule("eligible_categories", [])
        if categories and entry.category not in categories:
            raise InvalidInput(
                f"{pack.name} accepts only eligible material ({pack.cite('eligible_categories')})",
                field=f"{where}.custody:category",
                value=entry.category,
                expected=", ".join(categories),
            )
        cutoff = pack.grandfathered_before()
        if entry.category == "grandfathered" and cutoff and entry.time.date() >= cutoff:
            dated = str(entry.evidence.get("stockDate", ""))
            if not dated or dated[:10] >= cutoff.isoformat():
                raise InvalidInput(
                    f"grandfathered material needs stock dated before {cutoff}",
                    field=f"{where}.custody:category",
                    value=entry.category,
                    expected=f"mined or recycled, or stock dated before {cutoff}",
                )
    if entry.kind == "transformation":
        with db.read() as s:
            claimed = set(
                s.scalars(
                    select(CustodyClaimItemRow.identifier).where(
                        CustodyClaimItemRow.identifier.in_([f.identifier for f in entry.inputs])
                    )
                )
            )
        if claimed:
            raise Conflict(
                "these carry a claim and cannot be transformed further",
                field=f"{where}.inputQuantityList",
                value=sorted(claimed),
            )


def claim(
    db: Database,
    *,
    site: str,
    material: str,
    characteristic: str,
    kg: float,
    period: str,
    items: Sequence[str],
    unit: str = "kg",
    product_group: str | None = None,
) -> Claim:
    """Claim ``kg`` of the characteristic on ``items``, or refuse with what is available.

    The check and the write hold the account's lock, so two claims cannot both use
    the last credit; the claim is then captured as an EPCIS event naming the items."""
    from mics.trace import capture
    from mics.trace.lookup import resolve

    if unit not in UNITS:
        raise InvalidInput("a claim is a mass", field="unit", value=unit, expected="kg")
    target = account(db, site, material, characteristic)
    pack = load(target.pack)
    when = check_length(
        parse_period(period), pack.rule("max_period_months"), pack.cite("max_period_months")
    )
    names = [_identifier(db, resolve, n, str(i)) for n, i in enumerate(items or [])]
    event_id = ev.new_event_id()
    with db.transaction() as s:
        s.execute(
            update(CustodyAccountRow)
            .where(CustodyAccountRow.id == target.id)
            .values(claims=CustodyAccountRow.claims + 1)
        )
        earlier = claims_of(s, [target.id])
        _check_period(when, earlier, pack)
        entries = entries_of(s, site, material)
        made = decide(target, pack, when, kg, names, entries, earlier)
        if product_group is not None and made.product_group != product_group:
            raise Conflict(
                f"the items are of product group {made.product_group!r}",
                field="product_group",
                value=product_group,
            )
        row = CustodyClaimRow(
            account_id=target.id,
            period=when.name,
            kg=made.kg,
            share=made.share,
            text=made.text,
            product_group=made.product_group,
            event_id=event_id,
            evidence=[*made.evidence, event_id],
            made_at=datetime.now(UTC),
        )
        s.add(row)
        s.flush()
        claim_id = row.id
        s.add_all(
            CustodyClaimItemRow(account_id=target.id, identifier=i, claim_id=claim_id)
            for i in made.items
        )
        s.add_all(
            CustodyAllocationRow(claim_id=claim_id, entry_id=a.entry_id, kg=a.kg)
            for a in made.allocations
        )
    gln = get_partner(db, site).gln or ""
    record_event = ev.object_event(
        "claim",
        gln,
        material,
        datetime.now(UTC),
        epcList=[i for i in made.items if "/21/" in i] or None,
        quantityList=[{"epcClass": i} for i in made.items if "/21/" not in i] or None,
        **{
            "custody:claim": made.text,
            "custody:characteristic": characteristic,
            "custody:kg": made.kg,
            "custody:period": when.name,
            "custody:scheme": pack.id,
            "custody:model": target.model,
        },
    ) | {"eventID": event_id}
    try:
        done = capture.capture_document(db, ev.document([record_event]), site)
        if not done.success:
            raise InvalidInput(
                "capture refused the claim event",
                field="items",
                value=[str(p) for p in done.problems][:3],
            )
    except MicsError:
        _withdraw(db, claim_id)
        raise
    return claim_of(db, claim_id)


def _identifier(db: Database, resolve: Any, n: int, text: str) -> str:
    """The canonical identifier of the claim's ``items[n]`` (``trace.lookup.resolve``)."""
    try:
        found: str = resolve(db, text)[0]
    except InvalidInput as error:
        raise InvalidInput(
            error.reason, field=f"items[{n}]", value=text, expected=error.expected
        ) from None
    return found


def _withdraw(db: Database, claim_id: int) -> None:
    with db.transaction() as s:
        s.execute(delete(CustodyAllocationRow).where(CustodyAllocationRow.claim_id == claim_id))
        s.execute(delete(CustodyClaimItemRow).where(CustodyClaimItemRow.claim_id == claim_id))
        s.execute(delete(CustodyClaimRow).where(CustodyClaimRow.id == claim_id))


def _check_period(period: Period, earlier: Sequence[Claim], pack: Pack) -> None:
    for other in {c.period for c in earlier}:
        if other != period.name and parse_period(other).overlaps(period):
            raise InvalidInput(
                f"overlaps the balancing period {other} already used by this account",
                field="period",
                value=period.name,
                expected=f"{other} itself or a period that does not overlap it",
            )


def stored(db: Database, site: str, material: str) -> list[Entry]:
    """The ledger entries of the site's material, oldest first."""
    with db.read() as s:
        return entries_of(s, site, material)
