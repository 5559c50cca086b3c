"""Who sees which events: a partner reads what it captured and what names it.

A partner is named by an event when its GLN appears, as a party (PGLN, AI 417)
or a location (SGLN, AI 414), in the event's sourceList or destinationList.
"""

from __future__ import annotations

from mics.db import Database
from mics.registry import get_partner
from mics.trace.query import Viewer


def viewer_for(db: Database, partner_id: str) -> Viewer:
    partner = get_partner(db, partner_id)
    names: tuple[str, ...] = ()
    if partner.gln:
        names = (
            f"https://id.gs1.org/417/{partner.gln}",
            f"https://id.gs1.org/414/{partner.gln}",
        )
    return Viewer(partner=partner_id, names=names)
