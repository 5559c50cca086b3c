"""The chain-of-custody ledger's records, as frozen dataclasses (ISO 22095:2020).

An ``Account`` is kept per site, material and characteristic (ISCC PLUS §9.4.3:
one account per characteristic) under one rule pack and one model (§3.3). Its
``Entry`` records come from EPCIS 2.0 events (``custody.events``): a receipt of
material with its certified share and evidence, a certificate bought without the
material (book and claim, ISO 22095-3), a transformation with its quantities (the
conversion of a process step), a shipment, a stock count. A ``Claim`` assigns a
quantity of the characteristic to items or lots, with the credits it used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

ENTRY_KINDS = ("receipt", "certificate", "transformation", "shipment", "stock_count")


@dataclass(frozen=True)
class Account:
    site: str
    material: str
    characteristic: str
    pack: str
    model: str
    # product group -> conversion factor of its process chain, in (0, 1]: what share of
    # a kilogram of input ends up in the group's products (ISO 22095-2)
    conversion_factors: Mapping[str, float] = field(default_factory=dict)
    id: int = 0

    @property
    def key(self) -> str:
        return f"{self.site}/{self.material}/{self.characteristic}"


@dataclass(frozen=True)
class Flow:
    """A quantity of material: an item or lot identifier (canonical URI) and kilograms."""

    identifier: str
    kg: float


@dataclass(frozen=True)
class Entry:
    kind: str
    event_id: str
    time: datetime
    site: str
    material: str
    inputs: tuple[Flow, ...] = ()
    outputs: tuple[Flow, ...] = ()  # receipts: what came in; transformations: what was made
    shares: Mapping[str, float] = field(default_factory=dict)  # characteristic -> share
    category: str | None = None  # eligible-material category (RJC: mined, recycled, ...)
    product_group: str | None = None
    step: str | None = None  # the process step of a transformation (casting, spinning, ...)
    evidence: Mapping[str, Any] = field(default_factory=dict)
    id: int = 0

    @property
    def kg(self) -> float:
        return sum(f.kg for f in self.outputs)

    @property
    def input_kg(self) -> float:
        return sum(f.kg for f in self.inputs)


@dataclass(frozen=True)
class Allocation:
    """Kilograms of one input's credit used by a claim (credits are used once)."""

    entry_id: int
    event_id: str
    kg: float


@dataclass(frozen=True)
class Claim:
    account: Account
    period: str
    kg: float  # kilograms of the characteristic claimed
    items: tuple[str, ...]  # canonical identifiers of the items or lots
    share: float  # kg over the claimed outputs' mass of the material
    text: str  # the wording, from the pack's labels
    product_group: str | None
    allocations: tuple[Allocation, ...]
    evidence: tuple[str, ...]  # event ids behind the claim, its own event last
    event_id: str = ""
    made_at: datetime | None = None
    id: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "site": self.account.site,
            "material": self.account.material,
            "characteristic": self.account.characteristic,
            "scheme": self.account.pack,
            "model": self.account.model,
            "period": self.period,
            "kg": round(self.kg, 9),
            "share": round(self.share, 6),
            "text": self.text,
            "productGroup": self.product_group,
            "items": list(self.items),
            "allocations": [
                {"eventID": a.event_id, "kg": round(a.kg, 9)} for a in self.allocations
            ],
            "evidence": list(self.evidence),
            "eventID": self.event_id,
            "madeAt": self.made_at.isoformat() if self.made_at else None,
        }
