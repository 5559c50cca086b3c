"""Powder genealogy: a run's recycling as EPCIS 2.0 TransformationEvents (issue 15, item 7).

Each day's recycling of one material becomes one ``TransformationEvent``
(EPCIS 2.0 §7.4.4): the returned material in, by loop count, and the recycled
lots out, one loop higher, in kilograms (``uom`` ``KGM``, UN/CEFACT Rec. 20). A lot
is a material at a loop count, ``{base}/{scenario}/{material}/loop/{n}`` (a
private class URI, EPCIS 2.0 §6.3.1), so the lots chain loop to loop through the
events. The ILMD (§7.3.6) carries the output's mean loop count and its quality
(``mics:oxygenWtPct`` for metals, ``mics:strengthFraction`` for polymers), what
went in by origin (returned parts, supports, scrap), and what was lost or retired.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from mics.factory.scenario import Scenario
from mics.factory.simulation import Recycling

__all__ = ["CONTEXT", "NAMESPACE", "document", "events"]

NAMESPACE = "https://mics.example/ns/factory#"
CLASS_BASE = "https://mics.example/factory"
CONTEXT = [
    "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
    {"mics": NAMESPACE},
]


def lot_class(scenario: str, material: str, loop: int) -> str:
    return f"{CLASS_BASE}/{scenario}/{material}/loop/{loop}"


def events(scenario: Scenario, log: Sequence[Recycling], start: datetime) -> list[dict[str, Any]]:
    """One TransformationEvent per material per day with recycling, in time order."""
    days: dict[tuple[int, str], list[Recycling]] = {}
    for batch in log:
        days.setdefault((int(batch.day), batch.material), []).append(batch)
    out = []
    for (day, material_id), batches in sorted(days.items()):
        material = scenario.material(material_id)
        inputs: dict[int, float] = {}
        outputs: dict[int, float] = {}
        by_origin: dict[str, float] = {}
        retired = lost = 0.0
        for batch in batches:
            retired += batch.retired_kg
            for origin, lot in batch.inputs.items():
                by_origin[origin] = by_origin.get(origin, 0.0) + lot.total()
                lost += lot.total() * (1.0 - batch.yield_)
                for loop, kg in lot.cohorts.items():
                    inputs[loop] = inputs.get(loop, 0.0) + kg
                    if loop < batch.retire_from:
                        outputs[loop + 1] = outputs.get(loop + 1, 0.0) + kg * batch.yield_
        made = sum(outputs.values())
        mean_loop = sum(n * kg for n, kg in outputs.items()) / made if made else 0.0
        ilmd: dict[str, Any] = {
            "mics:material": material_id,
            "mics:loopCount": round(mean_loop, 6),
            "mics:inputKg": {k: round(v, 9) for k, v in sorted(by_origin.items())},
            "mics:lostKg": round(lost, 9),
            "mics:retiredKg": round(retired, 9),
        }
        if material.oxygen_wt_pct is not None:
            ilmd["mics:oxygenWtPct"] = round(material.quality(mean_loop), 6)
        elif material.strength_loss_per_cycle is not None:
            quality = (
                sum(material.quality(n) * kg for n, kg in outputs.items()) / made if made else 1
            )
            ilmd["mics:strengthFraction"] = round(quality, 6)
        when = start + timedelta(days=day + 1) - timedelta(seconds=1)  # the day's last second
        out.append(
            {
                "type": "TransformationEvent",
                "eventTime": when.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                "eventTimeZoneOffset": "+00:00",
                "bizStep": "commissioning",
                "disposition": "active",
                "inputQuantityList": [
                    _quantity(lot_class(scenario.name, material_id, n), kg)
                    for n, kg in sorted(inputs.items())
                ],
                "outputQuantityList": [
                    _quantity(lot_class(scenario.name, material_id, n), kg)
                    for n, kg in sorted(outputs.items())
                ],
                "ilmd": ilmd,
            }
        )
    return out


def document(event_list: list[dict[str, Any]], created: datetime) -> dict[str, Any]:
    return {
        "@context": CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": created.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "epcisBody": {"eventList": event_list},
    }


def _quantity(epc_class: str, kg: float) -> dict[str, Any]:
    return {"epcClass": epc_class, "quantity": round(kg, 9), "uom": "KGM"}
