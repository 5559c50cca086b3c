"""A period's balance of one account: opening, inputs, conversions, outputs, claims,
closing, and the reconciliation of book stock against the counted physical stock.

Credit models (mass balance credit, book and claim) keep the balance in kilograms
of certified input; the other models in kilograms of the characteristic held in
the site's outputs. ISCC PLUS §9.4.3: no negative balance at period end, a
positive one carried over when the pack allows it, book and physical stock within
the pack's tolerance (0.5%).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mics.custody.ledger import (
    BOOK_MODELS,
    ROLLING,
    Output,
    credits,
    factor,
    lineage,
    made_here,
    period_of,
    rolling_share,
)
from mics.custody.model import Account, Claim, Entry
from mics.custody.pack import Pack
from mics.custody.period import Period


@dataclass(frozen=True)
class Conversion:
    event_id: str
    step: str | None
    product_group: str | None
    input_kg: float
    output_kg: float
    declared: float | None

    @property
    def measured(self) -> float:
        return self.output_kg / self.input_kg if self.input_kg else 0.0


@dataclass(frozen=True)
class Reconciliation:
    book_kg: float
    counted_kg: float | None
    tolerance: float
    source: str

    @property
    def difference(self) -> float | None:
        if self.counted_kg is None or self.book_kg <= 0:
            return None
        return abs(self.counted_kg - self.book_kg) / self.book_kg

    @property
    def within(self) -> bool | None:
        gap = self.difference
        return None if gap is None else gap <= self.tolerance + 1e-12


@dataclass(frozen=True)
class Balance:
    account: Account
    period: Period
    basis: str  # what a kilogram of the balance is
    opening_kg: float
    credited_kg: float
    receipts: tuple[Entry, ...]
    conversions: tuple[Conversion, ...]
    output_kg: float
    certified_output_kg: float
    claims: tuple[Claim, ...]
    claimed_kg: float
    closing_kg: float
    available: dict[str, float]
    reconciliation: Reconciliation
    rolling_share: float | None = None
    notes: tuple[str, ...] = field(default=())

    def as_json(self, *, evidence: bool = True) -> dict[str, Any]:
        """The balance as JSON; ``evidence=False`` leaves out event ids and documents."""
        r = self.reconciliation
        body: dict[str, Any] = {
            "site": self.account.site,
            "material": self.account.material,
            "characteristic": self.account.characteristic,
            "scheme": self.account.pack,
            "model": self.account.model,
            "period": self.period.name,
            "basis": self.basis,
            "openingKg": _r(self.opening_kg),
            "creditedKg": _r(self.credited_kg),
            "inputKg": _r(sum(e.kg for e in self.receipts if e.kind == "receipt")),
            "outputKg": _r(self.output_kg),
            "certifiedOutputKg": _r(self.certified_output_kg),
            "claimedKg": _r(self.claimed_kg),
            "closingKg": _r(self.closing_kg),
            "availableKg": {k: _r(v) for k, v in self.available.items()},
            "rollingShare": None if self.rolling_share is None else round(self.rolling_share, 6),
            "conversions": [
                {
                    "step": c.step,
                    "productGroup": c.product_group,
                    "inputKg": _r(c.input_kg),
                    "outputKg": _r(c.output_kg),
                    "measuredFactor": round(c.measured, 6),
                    "declaredFactor": c.declared,
                }
                | ({"eventID": c.event_id} if evidence else {})
                for c in self.conversions
            ],
            "reconciliation": {
                "bookKg": _r(r.book_kg),
                "countedKg": None if r.counted_kg is None else _r(r.counted_kg),
                "difference": None if r.difference is None else round(r.difference, 6),
                "tolerance": r.tolerance,
                "within": r.within,
                "source": r.source,
            },
            "claims": [
                {"kg": _r(c.kg), "share": round(c.share, 6), "text": c.text, "items": len(c.items)}
                | (
                    {"id": c.id, "eventID": c.event_id, "identifiers": list(c.items)}
                    if evidence
                    else {}
                )
                for c in self.claims
            ],
            "notes": list(self.notes),
        }
        if evidence:
            body["inputs"] = [
                {
                    "kind": e.kind,
                    "eventID": e.event_id,
                    "time": e.time.isoformat(),
                    "kg": _r(e.kg),
                    "share": e.shares.get(self.account.characteristic, 0.0),
                    "category": e.category,
                    "evidence": dict(e.evidence),
                }
                for e in self.receipts
            ]
        return body


def _r(kg: float) -> float:
    return round(kg, 9)


def balance(
    account: Account,
    pack: Pack,
    period: Period,
    entries: Sequence[Entry],
    claims: Sequence[Claim],
) -> Balance:
    """The balance of ``account`` for ``period`` from all its entries and claims."""
    char = account.characteristic
    before = [e for e in entries if e.time < period.end_time]
    inside = [e for e in before if e.time >= period.start_time]
    now = [c for c in claims if c.period == period.name]
    earlier = [c for c in claims if period_of(c).end <= period.start]
    receipts = tuple(e for e in inside if e.kind in ("receipt", "certificate"))
    conversions = tuple(
        Conversion(
            e.event_id,
            e.step,
            e.product_group,
            e.input_kg,
            e.kg,
            account.conversion_factors.get(e.product_group or ""),
        )
        for e in inside
        if e.kind == "transformation"
    )
    held = lineage(before, account, pack)
    made = [o for o in held.values() if made_here(o) and period.holds(o.made)]
    output_kg = sum(o.kg for o in made)
    certified_output = sum(o.certified_kg for o in made)
    claimed = sum(c.kg for c in now)
    notes: list[str] = []
    rate: float | None = None
    available: dict[str, float]
    if account.model in BOOK_MODELS:
        if account.model == ROLLING:
            rate = rolling_share(entries, account, pack, period)
        basis = "kg of certified input (credits)"
        earned = credits(before, account, pack)
        credited = sum(c.kg for c in earned if c.time >= period.start_time)
        old = sum(c.kg for c in earned if c.time < period.start_time)
        used_before = sum(a.kg for c in earlier for a in c.allocations)
        opening = old - used_before
        if not pack.rule("carry_over", False):
            if opening > 1e-9:
                notes.append(
                    f"{opening:.6g} kg of earlier credit expired ({pack.cite('carry_over')})"
                )
            opening = 0.0
        used_now = sum(a.kg for c in now for a in c.allocations)
        closing = opening + credited - used_now
        groups = account.conversion_factors or {"": 1.0}
        available = {g or "all": closing * factor(account, g or None) for g in groups}
    else:
        basis = "kg of the characteristic in the site's holdings"
        credited = sum(
            e.kg * float(e.shares.get(char, 0.0))
            for e in receipts
            if e.kind == "receipt" and pack.eligible(char, e.category)
        )
        at_start = lineage([e for e in entries if e.time < period.start_time], account, pack)
        earlier_kg = sum(c.kg for c in earlier)
        opening = _certified(at_start) - earlier_kg
        closing = _certified(held) - earlier_kg - claimed
        lost = opening + credited - claimed - closing
        if lost > 1e-9:
            notes.append(f"{lost:.6g} kg of the characteristic lost in conversions")
        available = {"all": closing}
    return Balance(
        account=account,
        period=period,
        basis=basis,
        opening_kg=opening,
        credited_kg=credited,
        receipts=receipts,
        conversions=conversions,
        output_kg=output_kg,
        certified_output_kg=certified_output,
        claims=tuple(now),
        claimed_kg=claimed,
        closing_kg=closing,
        available=available,
        reconciliation=reconcile(before, inside, held, pack),
        rolling_share=rate,
        notes=tuple(notes),
    )


def _certified(held: dict[str, Output]) -> float:
    return sum(o.certified_kg for o in held.values() if not o.consumed)


def reconcile(
    before: Sequence[Entry], inside: Sequence[Entry], held: dict[str, Any], pack: Pack
) -> Reconciliation:
    """Book stock of the material at period end against the period's last stock count."""
    book = 0.0
    for e in before:
        if e.kind == "receipt":
            book += e.kg
        elif e.kind == "transformation":
            book += e.kg - e.input_kg
        elif e.kind == "shipment":
            for f in e.outputs:
                book -= f.kg if f.kg > 0 else (held[f.identifier].kg if f.identifier in held else 0)
    counts = sorted((e for e in inside if e.kind == "stock_count"), key=lambda e: e.time)
    return Reconciliation(
        book_kg=book,
        counted_kg=counts[-1].kg if counts else None,
        tolerance=float(pack.rule("stock_tolerance", 0.0)),
        source=pack.cite("stock_tolerance"),
    )
