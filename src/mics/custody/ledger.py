"""Balances and claims of a chain-of-custody account: pure functions, no I/O.

What a site may claim depends on its model (ISO 22095:2020 §3.3):

- identity preserved and segregated (§3.3.1-3.3.2): only outputs made wholly of
  certified input (identity preserved: from one source) carry the characteristic;
- controlled blending (§3.3.3): each output carries the known share of its batch,
  followed lot by lot through the transformations;
- mass balance, rolling-average percentage (ISO 22095-2): the period's certified
  share of input applies to the period's output;
- mass balance, credit method (ISO 22095-2) and book and claim (ISO 22095-3):
  certified input earns credits, converted with the product group's conversion
  factor; a claim uses credits first in, first out, each credit once.

Whatever the model, a claim never exceeds what is available (``OverClaim`` says
how much is), an item or lot carries one claim per account, a balance never ends
a period negative, and the pack's thresholds and wordings apply.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from mics.custody.model import Account, Allocation, Claim, Entry
from mics.custody.pack import CREDIT_MODELS, Pack
from mics.custody.period import Period, parse_period
from mics.errors import Conflict, InvalidInput

ROLLING = "mass_balance_rolling_average"
# models whose claims draw on the book of certified input (credits), not on the output itself
BOOK_MODELS = (*CREDIT_MODELS, ROLLING)
EPS = 1e-9  # kilograms: below a microgram is rounding, not an over-claim


class OverClaim(Conflict):
    """A claim beyond the available quantity: ``available_kg`` says how much there is."""

    title = "Claim exceeds the available quantity"


@dataclass(frozen=True)
class Output:
    """An item or lot the site holds or made, with its certified content."""

    identifier: str
    kg: float
    certified_kg: float
    product_group: str | None
    sources: frozenset[str]  # receipt events its material came from
    events: frozenset[str]  # every event of its lineage
    made: datetime
    consumed: bool = False  # an input of a later transformation: claim its outputs instead

    @property
    def share(self) -> float:
        return self.certified_kg / self.kg if self.kg > 0 else 0.0


@dataclass(frozen=True)
class Credit:
    entry_id: int
    event_id: str
    time: datetime
    kg: float


def _share(entry: Entry, account: Account, pack: Pack) -> float:
    if not pack.eligible(account.characteristic, entry.category):
        return 0.0
    return float(entry.shares.get(account.characteristic, 0.0))


def lineage(entries: Iterable[Entry], account: Account, pack: Pack) -> dict[str, Output]:
    """Every lot and item of the site's material, its mass and certified content.

    Receipts bring certified content in; a transformation passes its inputs' share
    to its outputs (so remelted own scrap carries its batch's share and earns no new
    credit: ISO 14021:2016 §7.8.1.1); shipments do not remove the record."""
    held: dict[str, Output] = {}
    for _ in walk(entries, account, pack, held):
        pass
    return held


def walk(
    entries: Iterable[Entry], account: Account, pack: Pack, held: dict[str, Output]
) -> Iterator[Entry]:
    """``lineage`` one entry at a time, oldest first: yields each entry while ``held``
    is still the state before it, then applies it to ``held``."""
    eligible: dict[str | None, bool] = {}  # by category: the pack's rules read once
    for entry in sorted(entries, key=lambda e: (e.time, e.id)):
        yield entry
        if entry.kind == "receipt":
            if entry.category not in eligible:
                eligible[entry.category] = pack.eligible(account.characteristic, entry.category)
            share = (
                float(entry.shares.get(account.characteristic, 0.0))
                if eligible[entry.category]
                else 0.0
            )
            for flow in entry.outputs:
                _add(
                    held,
                    flow.identifier,
                    flow.kg,
                    flow.kg * share,
                    None,
                    {entry.event_id},
                    {entry.event_id},
                    entry.time,
                )
        elif entry.kind == "transformation":
            total = sum(f.kg for f in entry.inputs)
            certified = 0.0
            sources: set[str] = set()
            events: set[str] = {entry.event_id}
            for f in entry.inputs:
                found = held.get(f.identifier)
                if found is not None:
                    certified += f.kg * found.share
                    sources |= found.sources
                    events |= found.events
                    held[f.identifier] = _use(found, f.kg)
            share = certified / total if total > 0 else 0.0
            for flow in entry.outputs:
                _add(
                    held,
                    flow.identifier,
                    flow.kg,
                    flow.kg * share,
                    entry.product_group,
                    sources,
                    events,
                    entry.time,
                )


def _use(found: Output, kg: float) -> Output:
    """What is left of a lot after ``kg`` of it went into a transformation."""
    left = max(found.kg - kg, 0.0)
    gone = left <= EPS
    return Output(
        found.identifier,
        0.0 if gone else left,
        0.0 if gone else found.certified_kg * left / found.kg,
        found.product_group,
        found.sources,
        found.events,
        found.made,
        gone,
    )


def _add(
    held: dict[str, Output],
    identifier: str,
    kg: float,
    certified: float,
    group: str | None,
    sources: Iterable[str],
    events: Iterable[str],
    when: datetime,
) -> None:
    before = held.get(identifier)
    if before is None:
        held[identifier] = Output(
            identifier, kg, certified, group, frozenset(sources), frozenset(events), when
        )
        return
    held[identifier] = Output(
        identifier,
        before.kg + kg,
        before.certified_kg + certified,
        before.product_group or group,
        before.sources | frozenset(sources),
        before.events | frozenset(events),
        before.made,
        False,
    )


def credits(entries: Iterable[Entry], account: Account, pack: Pack) -> list[Credit]:
    """The credits certified input earns, in kilograms of input, oldest first."""
    kinds = ("receipt", "certificate") if account.model == "book_and_claim" else ("receipt",)
    eligible: dict[str | None, bool] = {}
    found = []
    for e in entries:
        if e.kind not in kinds:
            continue
        if e.category not in eligible:
            eligible[e.category] = pack.eligible(account.characteristic, e.category)
        share = float(e.shares.get(account.characteristic, 0.0)) if eligible[e.category] else 0
        found.append(Credit(e.id, e.event_id, e.time, e.kg * share))
    return sorted((c for c in found if c.kg > 0), key=lambda c: (c.time, c.entry_id))


def remaining(
    account: Account, pack: Pack, period: Period, entries: Sequence[Entry], claims: Sequence[Claim]
) -> list[tuple[Credit, float]]:
    """The credits a claim for ``period`` may use, each with what is left of it."""
    used: dict[int, float] = {}
    for claim in claims:
        for a in claim.allocations:
            used[a.entry_id] = used.get(a.entry_id, 0.0) + a.kg
    carry = bool(pack.rule("carry_over", False))
    return [
        (c, c.kg - used.get(c.entry_id, 0.0))
        for c in credits(entries, account, pack)
        if c.time < period.end_time
        and (carry or c.time >= period.start_time)
        and c.kg - used.get(c.entry_id, 0.0) > EPS
    ]


def factor(account: Account, group: str | None) -> float:
    """The conversion factor of ``group``: input kilograms become ``factor`` output kg."""
    if not account.conversion_factors:
        return 1.0
    if group is None and len(account.conversion_factors) == 1:
        return next(iter(account.conversion_factors.values()))
    if group is None:
        return 1.0
    if group not in account.conversion_factors:
        raise InvalidInput(
            "no conversion factor for this product group",
            field="product_group",
            value=group,
            expected=", ".join(sorted(account.conversion_factors)) or "a product group",
        )
    return account.conversion_factors[group]


def rolling_share(entries: Iterable[Entry], account: Account, pack: Pack, period: Period) -> float:
    """ISO 22095-2 rolling-average percentage: certified over all input in the period."""
    received = [e for e in entries if e.kind == "receipt" and period.holds(e.time)]
    total = sum(e.kg for e in received)
    return sum(e.kg * _share(e, account, pack) for e in received) / total if total else 0.0


def decide(
    account: Account,
    pack: Pack,
    period: Period,
    kg: float,
    items: Sequence[str],
    entries: Sequence[Entry],
    claims: Sequence[Claim],
) -> Claim:
    """The claim ``kg`` of the account's characteristic on ``items`` for ``period``,
    or the reason it may not be made. ``claims``: the account's earlier claims."""
    if not isinstance(kg, (int, float)) or not math.isfinite(kg) or kg <= 0:
        raise InvalidInput(
            "must be a positive number of kilograms", field="kg", value=kg, expected="kg > 0"
        )
    if not items or len(set(items)) != len(items):
        raise InvalidInput(
            "give each item or lot once",
            field="items",
            value=list(items),
            expected="a non-empty list of distinct identifiers",
        )
    taken = {i for c in claims for i in c.items} & set(items)
    if taken:
        raise Conflict(
            f"already carry a claim on {account.key}: a credit is used once",
            field="items",
            value=sorted(taken),
        )
    held = lineage(entries, account, pack)
    outputs = []
    for identifier in items:
        found = held.get(identifier)
        if found is not None and found.consumed:
            raise InvalidInput(
                "was transformed further: claim what was made of it",
                field="items",
                value=identifier,
                expected="an item or lot not used up",
            )
        if found is None or found.made >= period.end_time:
            raise InvalidInput(
                f"not an item or lot {account.site} holds of {account.material} by the end of "
                f"{period.name}",
                field="items",
                value=identifier,
                expected="an identifier recorded by a receipt or transformation event",
            )
        outputs.append(found)
    groups = {o.product_group for o in outputs}
    if len(groups) > 1 and not pack.rule("cross_product_groups", False):
        raise Conflict(
            f"the items belong to different product groups {sorted(map(str, groups))}; "
            f"{pack.cite('cross_product_groups')}",
            field="items",
            value=list(items),
        )
    group = next(iter(groups))
    mass = sum(o.kg for o in outputs)
    if kg > mass + EPS:
        raise _over(account, kg, mass, "the items hold only")
    share = kg / mass
    threshold = float(pack.rule("claim_threshold", 0.0))
    label = pack.label(share)
    if share < threshold - 1e-12 or label is None:
        raise Conflict(
            f"a {share:.1%} share is below the {threshold:.0%} {pack.name} needs for a claim "
            f"({pack.cite('claim_threshold')})",
            field="kg",
            value=kg,
            available_kg=round(mass * threshold, 9),
        )
    allocations: list[Allocation] = []
    evidence = set().union(*(o.events for o in outputs))
    if account.model in BOOK_MODELS:
        if account.model == ROLLING:
            # the claim's share is the period's average (ISO 22095-2); the kilograms come
            # out of the certified input's credit like the credit method's, so the period
            # cannot end negative whatever input arrives after the claim
            rate = rolling_share(entries, account, pack, period)
            if kg > mass * rate + EPS:
                raise _over(
                    account,
                    kg,
                    mass * rate,
                    f"at the {period.name} average of {rate:.2%} the items carry only",
                )
        ratio = factor(account, group)
        pool = remaining(account, pack, period, entries, claims)
        raw = kg / ratio
        available = sum(left for _, left in pool)
        if raw > available + EPS:
            raise _over(account, kg, available * ratio, f"{period.name} has credit for only")
        for credit, left in pool:
            if raw <= EPS:
                break
            take = min(left, raw)
            allocations.append(Allocation(credit.entry_id, credit.event_id, take))
            evidence.add(credit.event_id)
            raw -= take
    else:
        if account.model in ("segregated", "identity_preserved"):
            mixed = [o.identifier for o in outputs if o.share < 1 - 1e-9]
            if mixed:
                raise Conflict(
                    f"{account.model} output must be wholly certified; these hold "
                    "non-certified material",
                    field="items",
                    value=mixed,
                    available_kg=round(sum(o.certified_kg for o in outputs), 9),
                )
        if account.model == "identity_preserved":
            sources = set().union(*(o.sources for o in outputs))
            if len(sources) > 1:
                raise Conflict(
                    "identity-preserved output must come from one certified source",
                    field="items",
                    value=list(items),
                )
        available = sum(o.certified_kg for o in outputs)
        if kg > available + EPS:
            raise _over(account, kg, available, "the items' batches hold only")
    text = label.text.format(
        percent=_percent(share),
        characteristic=account.characteristic.replace("_", "-"),
        material=account.material,
        model=account.model.replace("_", " "),
        period=period.name,
        scheme=pack.name,
    )
    return Claim(
        account=account,
        period=period.name,
        kg=float(kg),
        items=tuple(items),
        share=share,
        text=text,
        product_group=group,
        allocations=tuple(allocations),
        evidence=tuple(sorted(evidence)),
    )


def _percent(share: float) -> str:
    # never round a share up: "95%" on a 94.96% blend would be an over-claim
    value = math.floor(share * 1000 + 1e-9) / 10
    return f"{value:.1f}".removesuffix(".0")


def _over(account: Account, wanted: float, available: float, why: str) -> OverClaim:
    short = wanted - available
    return OverClaim(
        f"{account.key}: {why} {available:.6g} kg; the claim of {wanted:.6g} kg is "
        f"{short:.6g} kg short",
        field="kg",
        value=wanted,
        available_kg=round(available, 9),
        short_kg=round(short, 9),
        account=account.key,
    )


def made_here(output: Output) -> bool:
    """A final output of the site's transformations (not a received lot, not used up)."""
    return output.product_group is not None and not output.consumed


def period_of(claim: Claim) -> Period:
    return parse_period(claim.period)
