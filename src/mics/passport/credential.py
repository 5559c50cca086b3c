"""The passport as a UNTP Digital Product Passport inside a W3C Verifiable Credential 2.0.

Mapping (UN Transparency Protocol DPP data model, ``untp-dpp-schema.json``):
``credentialSubject`` is a ``ProductPassport`` with ``product`` (the GTIN's
Digital Link, name, serial, lot, maker, mass), ``granularityLevel`` (item, batch
or model), ``materialsProvenance`` (name, origin country, mass fraction,
recycled fraction), ``circularityScorecard`` (recycled content, MCI, repair and
recycling guidance links), ``emissionsScorecard`` (GWP100 when the footprint is
known), ``conformityClaim`` (declared recycled and bio-based content) and
``traceabilityInformation`` (per process step, the EPCIS events as SecureLinks
with their CBV 2.0 event hash).

The credential follows the W3C VC Data Model 2.0 (§4: ``@context``, ``type``
VerifiableCredential + DigitalProductPassport, ``issuer`` the maker's did:web,
``validFrom``). ``evidence`` (§5.6) carries, per cited event, its transparency
log inclusion proof, the signed checkpoint note it is proven against and the
log's note verifier key (mics.ledger). The ``proof`` is a Data Integrity
``eddsa-jcs-2022`` proof by the maker's Ed25519 key (``data_integrity``).

``verify_credential`` checks all of it offline: structure (or the UNTP JSON
schema when given), the signature, every event proof, and that every event the
passport cites has a proof.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from mics.custody.passport import conformity_claims
from mics.errors import InvalidInput, MicsError, VerificationError
from mics.ledger.leaf import parse_leaf_data
from mics.ledger.verify import verify_event_inclusion
from mics.passport.data_integrity import add_proof, multikey, public_key_of, verify_proof

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
UNTP_CONTEXT = "https://test.uncefact.org/vocabulary/untp/dpp/working/"
TYPES = ["DigitalProductPassport", "VerifiableCredential"]
GTIN_SCHEME = {
    "type": ["IdentifierScheme"],
    "id": "https://id.gs1.org/01/",
    "name": "Global Trade Item Number (GTIN)",
}
EVIDENCE_TYPE = "TransparencyLogInclusion"
DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")
GRANULARITY = ("item", "batch", "model")


@dataclass(frozen=True)
class Issuer:
    did: str
    name: str


@dataclass(frozen=True)
class EventProof:
    """One cited event with its inclusion proof against a signed checkpoint."""

    event_id: str
    event_hash: str
    biz_step: str | None
    proof: dict[str, Any]
    checkpoint: str
    log_key: str


@dataclass(frozen=True)
class Verified:
    """What ``verify_credential`` checked."""

    issuer: str
    key: str
    events: int
    checkpoint_size: int | None
    schema: str


def _link(url: str, name: str, kind: str) -> dict[str, Any]:
    return {"type": ["Link"], "linkURL": url, "linkName": name, "linkType": kind}


def _party(did: str, name: str) -> dict[str, Any]:
    return {"id": did, "name": name}


def untp_subject(
    passport: Mapping[str, Any], base_url: str, events: Sequence[EventProof]
) -> dict[str, Any]:
    """The ``ProductPassport`` credential subject for a (tier-filtered) MICS passport."""
    product = passport["product"]
    maker = passport["manufacturer"]
    uri = passport["@id"]
    page = product.get("page") or uri
    registered = product["gtin"] + (f".21.{product['serial']}" if product.get("serial") else "")
    untp_product: dict[str, Any] = {
        "type": ["Product"],
        "id": uri,
        "name": product["name"],
        "registeredId": registered,
        "idScheme": GTIN_SCHEME,
        "description": product.get("description") or "",
        "productCategory": [
            {
                "type": ["Classification"],
                "id": f"{base_url}/api/sectors#{product['sector']}",
                "code": product["sector"],
                "name": product.get("sectorName") or product["sector"],
                "schemeID": f"{base_url}/api/sectors",
                "schemeName": "MICS sectors",
            }
        ],
        "furtherInformation": [_link(page, "Product passport", "gs1:pip")],
        "producedByParty": _party(maker["did"], maker["name"]),
        "dimensions": {"weight": {"value": product["massKg"], "unit": "KGM"}},
    }
    for key, value in (
        ("serialNumber", product.get("serial")),
        ("batchNumber", product.get("lot")),
        ("productionDate", product.get("producedOn")),
    ):
        if value:
            untp_product[key] = value
    circularity = passport.get("circularity", {})
    repair = (passport.get("repair") or {}).get("instructions")
    recycling = (passport.get("endOfLife") or {}).get("instructions")
    scorecard: dict[str, Any] = {
        "type": ["CircularityPerformance"],
        "recycledContent": circularity.get("recycledContent", 0.0),
    }
    if repair:
        scorecard["repairInformation"] = _link(f"{page}#repair", repair[:200], "gs1:repair")
    if recycling:
        scorecard["recyclingInformation"] = _link(
            f"{page}#recycling", recycling[:200], "gs1:recyclingInfo"
        )
    if circularity.get("mci") is not None:
        scorecard["materialCircularityIndicator"] = circularity["mci"]
    subject: dict[str, Any] = {
        "type": ["ProductPassport"],
        "id": uri,
        "product": untp_product,
        "granularityLevel": passport["granularity"],
        "materialsProvenance": [
            {
                "type": ["Material"],
                "name": m["name"],
                "originCountry": m["originCountry"],
                "massFraction": m["massShare"],
                "mass": {"value": m["massKg"], "unit": "KGM"},
                "recycledMassFraction": m["recycledShare"],
            }
            for m in passport.get("materials", [])
        ],
        "circularityScorecard": scorecard,
        "conformityClaim": _claims(uri, maker, circularity)
        + conformity_claims(uri, passport.get("custody")),
        "traceabilityInformation": _traceability(base_url, events),
    }
    footprint = passport.get("footprint") or {}
    if footprint.get("available"):
        subject["emissionsScorecard"] = {
            "type": ["EmissionsPerformance"],
            "carbonFootprint": footprint["gwp100KgCO2e"],
            "declaredUnit": "H87",  # UN/CEFACT rec. 20: piece - per product
            "operationalScope": "CradleToGrave",
            "primarySourcedRatio": 0.0,
        }
    return subject


def _claims(uri: str, maker: Mapping[str, Any], circularity: Mapping[str, Any]) -> list[Any]:
    claims = []
    for key, name in (("recycledContent", "recycled content"), ("bioBasedContent", "bio-based")):
        if circularity.get(key) is None:
            continue
        claims.append(
            {
                "type": ["Claim", "Declaration"],
                "id": f"{uri}#claim-{key}",
                "description": f"Declared {name} share of the product's mass, from its bill "
                f"of materials, by {maker['name']}.",
                "conformityTopic": "circularity.content",
                "declaredValue": [
                    {
                        "type": ["Metric"],
                        "metricName": f"{name} share of mass",
                        "metricValue": {"value": round(100 * circularity[key], 2), "unit": "P1"},
                    }
                ],
            }
        )
    return claims


def _traceability(base_url: str, events: Sequence[EventProof]) -> list[dict[str, Any]]:
    steps: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        digest = e.event_hash.split(";", 1)[1].split("?", 1)[0]
        steps.setdefault(e.biz_step or "other", []).append(
            {
                "type": ["SecureLink", "Link"],
                "linkURL": f"{base_url}/epcis/events/{quote(e.event_id, safe='')}",
                "linkName": e.event_id,
                "linkType": "epcis:event",
                "hashDigest": digest,
                "hashMethod": "SHA-256",
            }
        )
    return [
        {
            "type": ["TraceabilityPerformance"],
            "valueChainProcess": step,
            "verifiedRatio": 1.0,
            "traceabilityEvent": links,
        }
        for step, links in steps.items()
    ]


def _evidence(base_url: str, events: Sequence[EventProof]) -> list[dict[str, Any]]:
    return [
        {
            "id": f"{base_url}/epcis/events/{quote(e.event_id, safe='')}/proof",
            "type": [EVIDENCE_TYPE],
            "eventID": e.event_id,
            "eventHash": e.event_hash,
            "inclusionProof": e.proof,
            "checkpoint": e.checkpoint,
            "logKey": e.log_key,
        }
        for e in events
    ]


def build_credential(
    passport: Mapping[str, Any],
    *,
    issuer: Issuer,
    base_url: str,
    valid_from: str,
    events: Sequence[EventProof],
    credential_id: str | None = None,
) -> dict[str, Any]:
    """The unsigned credential: VC 2.0 envelope, UNTP subject, ledger evidence."""
    return {
        "@context": [VC_CONTEXT, UNTP_CONTEXT],
        "type": list(TYPES),
        "id": credential_id or f"urn:uuid:{uuid.uuid4()}",
        "issuer": {"type": ["CredentialIssuer"], "id": issuer.did, "name": issuer.name},
        "validFrom": valid_from,
        "credentialSubject": untp_subject(passport, base_url, events),
        "evidence": _evidence(base_url, events),
    }


def sign_credential(
    credential: Mapping[str, Any], sign: Callable[[bytes], bytes], public_key: bytes, created: str
) -> dict[str, Any]:
    """Add the issuer's eddsa-jcs-2022 proof; the method is ``<issuer DID>#<multikey>``."""
    method = f"{credential['issuer']['id']}#{multikey(public_key)}"
    return add_proof(credential, sign, method, created)


# --- verification --------------------------------------------------------------------------


def check_structure(credential: Mapping[str, Any]) -> None:
    """The UNTP DPP and VC 2.0 rules MICS relies on, for when the JSON schema is absent."""
    context = credential.get("@context")
    if not isinstance(context, list) or context[:2] != [VC_CONTEXT, UNTP_CONTEXT]:
        raise VerificationError(
            f"expected @context to start with {VC_CONTEXT} and {UNTP_CONTEXT}, got {context!r}",
            field="@context",
        )
    kinds = credential.get("type")
    if not isinstance(kinds, list) or not set(TYPES) <= set(kinds):
        raise VerificationError(f"expected type {TYPES}, got {kinds!r}", field="type")
    issuer = credential.get("issuer")
    if not isinstance(issuer, Mapping) or not str(issuer.get("id", "")).startswith("did:"):
        raise VerificationError("expected issuer.id to be a DID", field="issuer.id")
    if not isinstance(issuer.get("name"), str) or not issuer["name"]:
        raise VerificationError("expected issuer.name", field="issuer.name")
    for key in ("id", "validFrom"):
        if not isinstance(credential.get(key), str):
            raise VerificationError(f"expected a string {key}", field=key)
    if not DATE_TIME.fullmatch(credential["validFrom"]):
        raise VerificationError(
            f"expected validFrom as an RFC 3339 date-time, got {credential['validFrom']!r}",
            field="validFrom",
        )
    subject = credential.get("credentialSubject")
    if not isinstance(subject, Mapping) or "ProductPassport" not in subject.get("type", []):
        raise VerificationError(
            "expected credentialSubject of type ProductPassport", field="credentialSubject"
        )
    product = subject.get("product")
    if not isinstance(product, Mapping) or not product.get("id") or not product.get("name"):
        raise VerificationError(
            "expected credentialSubject.product with id and name",
            field="credentialSubject.product",
        )
    if subject.get("granularityLevel") not in GRANULARITY:
        raise VerificationError(
            f"expected granularityLevel in {GRANULARITY}, got {subject.get('granularityLevel')!r}",
            field="credentialSubject.granularityLevel",
        )
    for i, material in enumerate(subject.get("materialsProvenance", [])):
        if not isinstance(material, Mapping) or not isinstance(material.get("name"), str):
            raise VerificationError(
                "expected every material to have a name",
                field=f"credentialSubject.materialsProvenance[{i}].name",
            )


def check_schema(credential: Mapping[str, Any], schema: Mapping[str, Any]) -> None:
    """Validate against the UNTP DPP JSON schema (draft 2020-12) with jsonschema."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(credential), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(root)"
        raise VerificationError(
            f"expected the credential to match the UNTP DPP schema, got at {where}: "
            f"{first.message} ({len(errors)} problem(s))",
            field=where,
        )


def verify_evidence(credential: Mapping[str, Any], log_key: str | None = None) -> int | None:
    """Check every event proof and that each cited event has one; returns the tree size."""
    evidence = credential.get("evidence", [])
    if not isinstance(evidence, list):
        raise VerificationError("expected evidence to be a list", field="evidence")
    proven: dict[str, str] = {}
    size = None
    for i, entry in enumerate(evidence):
        where = f"evidence[{i}]"
        if not isinstance(entry, Mapping) or EVIDENCE_TYPE not in entry.get("type", []):
            continue
        key = entry.get("logKey")
        if log_key is not None and key != log_key:
            raise VerificationError(
                f"expected the pinned log key {log_key}, got {key!r}", field=f"{where}.logKey"
            )
        proof = entry.get("inclusionProof")
        if not isinstance(proof, Mapping) or not isinstance(key, str):
            raise VerificationError("expected inclusionProof and logKey", field=where)
        try:
            leaf = bytes.fromhex(str(proof.get("leaf_data", "")))
            recorded = parse_leaf_data(leaf)
            checkpoint = verify_event_inclusion(leaf, proof, str(entry.get("checkpoint")), key)
        except (ValueError, MicsError) as error:
            raise VerificationError(
                f"expected a valid inclusion proof for {entry.get('eventID')}, got: {error}",
                field=where,
            ) from None
        if recorded.event_hash != entry.get("eventHash"):
            raise VerificationError(
                f"expected the log leaf to record event hash {entry.get('eventHash')}, got "
                f"{recorded.event_hash}",
                field=f"{where}.eventHash",
            )
        proven[recorded.event_hash.split(";", 1)[1].split("?", 1)[0]] = str(entry.get("eventID"))
        size = checkpoint.size
    subject = credential.get("credentialSubject", {})
    for block in subject.get("traceabilityInformation", []):
        for link in block.get("traceabilityEvent", []):
            if link.get("hashDigest") not in proven:
                raise VerificationError(
                    f"expected a log inclusion proof for the cited event {link.get('linkName')}, "
                    "got none",
                    field="evidence",
                )
    return size


def verify_credential(
    credential: Mapping[str, Any],
    *,
    issuer_key: str | None = None,
    log_key: str | None = None,
    schema: Mapping[str, Any] | None = None,
) -> Verified:
    """Structure (or schema), the issuer's signature and every event proof, offline."""
    if not isinstance(credential, Mapping):
        raise InvalidInput("a credential is a JSON object", field="credential")
    check_structure(credential)
    if schema is not None:
        check_schema(dict(credential), schema)
    pinned = public_key_of(issuer_key) if issuer_key else None
    key = verify_proof(credential, pinned)
    method = str(credential["proof"]["verificationMethod"])
    if method.rsplit("#", 1)[0] != credential["issuer"]["id"]:
        raise VerificationError(
            f"expected the proof by the issuer {credential['issuer']['id']}, got {method}",
            field="proof.verificationMethod",
        )
    size = verify_evidence(credential, log_key)
    events = sum(
        len(b.get("traceabilityEvent", []))
        for b in credential["credentialSubject"].get("traceabilityInformation", [])
    )
    return Verified(
        issuer=credential["issuer"]["id"],
        key=multikey(key),
        events=events,
        checkpoint_size=size,
        schema="UNTP JSON schema" if schema is not None else "structural rules",
    )
