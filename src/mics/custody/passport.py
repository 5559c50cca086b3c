"""What the passport shows of chain-of-custody claims (issue 18, item 4).

``passport_block`` is the one call ``mics.passport.view`` makes: the claims on the
item or its lot, each with its wording, model, scheme, period and the events
behind it with the addresses of their inclusion proofs. ``conformity_claims``
turns that block into UNTP Digital Product Passport ``Claim`` objects
(``conformityTopic`` ``circularity.content``) for the exported credential.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mics.db import Database

__all__ = ["conformity_claims", "passport_block"]


def passport_block(db: Database, identifiers: Sequence[str], base_url: str) -> dict[str, Any]:
    """``{"claims": [...]}`` for the passport of the item or lot named by ``identifiers``."""
    from mics.custody.reports import passport_claims

    claims = passport_claims(db, identifiers, base_url)
    for claim in claims:
        claim["evidenceEvents"] = len(claim["evidence"])
    return {"claims": claims}


def conformity_claims(uri: str, block: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """UNTP DPP ``Claim`` objects for the (tier-filtered) passport block."""
    found = []
    for n, claim in enumerate((block or {}).get("claims", [])):
        if "text" not in claim:
            continue
        made: dict[str, Any] = {
            "type": ["Claim", "Declaration"],
            "id": f"{uri}#custody-claim-{n + 1}",
            "description": f"{claim['text']} ({claim.get('scheme', '')}, ISO 22095 "
            f"{str(claim.get('model', '')).replace('_', ' ')}, period {claim.get('period')})",
            "conformityTopic": "circularity.content",
        }
        if claim.get("share") is not None:
            made["declaredValue"] = [
                {
                    "type": ["Metric"],
                    "metricName": f"{claim.get('characteristic')} {claim.get('material')} share",
                    "metricValue": {"value": round(100 * claim["share"], 2), "unit": "P1"},
                }
            ]
        links = [
            {
                "type": ["SecureLink", "Link"],
                "linkURL": e["proof"],
                "linkName": e["eventID"],
                "linkType": "mics:eventInclusionProof",
            }
            for e in claim.get("evidence", [])
            if "proof" in e and "eventID" in e
        ]
        if links:
            made["conformityEvidence"] = links[-1]  # the claim's own event
            made["evidenceEvents"] = links
        found.append(made)
    return found
