"""Reading the custody ledger: balances, holdings, entries, sites, periods, flows,
and the claims a passport shows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from sqlalchemy import select

from mics.custody.balance import Balance, balance
from mics.custody.ledger import Output, lineage
from mics.custody.model import Account, Entry
from mics.custody.pack import load
from mics.custody.period import check_length, parse_period
from mics.custody.rows import account_of, claims_of, entries_of
from mics.custody.sankey import Band, bands
from mics.custody.service import account, accounts, stored
from mics.custody.store import CustodyAccountRow, CustodyClaimItemRow
from mics.db import Database


def balances(db: Database, site: str, period: str) -> list[Balance]:
    """The period's balance of every account the site keeps."""
    when = parse_period(period)
    found = []
    for kept in accounts(db, site):
        pack = load(kept.pack)
        check_length(when, pack.rule("max_period_months"), pack.cite("max_period_months"))
        with db.read() as s:
            entries = entries_of(s, site, kept.material)
            claims = claims_of(s, [kept.id])
        found.append(balance(kept, pack, when, entries, claims))
    return found


def holdings(db: Database, site: str, material: str, characteristic: str) -> dict[str, Output]:
    """What the account's site holds, by identifier, with mass and certified share."""
    kept = account(db, site, material, characteristic)
    with db.read() as s:
        entries = entries_of(s, site, material)
    return {k: v for k, v in lineage(entries, kept, load(kept.pack)).items() if not v.consumed}


def entries(db: Database, site: str, material: str) -> list[Entry]:
    """The ledger entries of the site's material, oldest first."""
    return stored(db, site, material)


def passport_claims(
    db: Database, identifiers: Sequence[str], base_url: str
) -> list[dict[str, Any]]:
    """The claims on any of ``identifiers`` (an item and its lot) with their evidence:
    model, scheme, period, and each event behind the claim with its proof's address."""
    if not identifiers:
        return []
    base = base_url.rstrip("/")
    with db.read() as s:
        ids = sorted(
            set(
                s.scalars(
                    select(CustodyClaimItemRow.claim_id).where(
                        CustodyClaimItemRow.identifier.in_(list(identifiers))
                    )
                )
            )
        )
        claims = claims_of(s, None, ids)
    shown = []
    for c in claims:
        pack = load(c.account.pack)
        shown.append(
            {
                "text": c.text,
                "material": c.account.material,
                "characteristic": c.account.characteristic,
                "scheme": pack.name,
                "schemeVersion": pack.version,
                "model": c.account.model,
                "period": c.period,
                "share": round(c.share, 6),
                "site": c.account.site,
                "evidence": [
                    {
                        "eventID": e,
                        "event": f"{base}/epcis/events/{quote(e, safe='')}",
                        "proof": f"{base}/epcis/events/{quote(e, safe='')}/proof",
                    }
                    for e in c.evidence
                ],
            }
        )
    return shown


def sites(db: Database) -> list[tuple[str, list[Account]]]:
    """Every site that keeps custody accounts, with its accounts."""
    with db.read() as s:
        rows = s.scalars(
            select(CustodyAccountRow).order_by(
                CustodyAccountRow.site_id, CustodyAccountRow.material, CustodyAccountRow.id
            )
        ).all()
        found: dict[str, list[Account]] = {}
        for row in rows:
            found.setdefault(row.site_id, []).append(account_of(row))
    return list(found.items())


def periods(db: Database, site: str) -> list[str]:
    """The quarters with entries at the site and the periods its claims name, newest first."""
    names: set[str] = set()
    kept = accounts(db, site)
    with db.read() as s:
        for material in {a.material for a in kept}:
            for e in entries_of(s, site, material):
                names.add(f"{e.time.year}Q{(e.time.month - 1) // 3 + 1}")
        names |= {c.period for c in claims_of(s, [a.id for a in kept])}
    return sorted(names, key=lambda n: parse_period(n).start, reverse=True)


def flows(db: Database, kept: Account, period: str) -> list[Band]:
    """The period's material flows of the account's site and material (``sankey.bands``)."""
    return bands(stored(db, kept.site, kept.material), kept, load(kept.pack), parse_period(period))
