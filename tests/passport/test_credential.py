"""Signed UNTP passports: eddsa-jcs-2022, RFC 8785, UNTP schema, offline event proofs."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.databases import Templates

from mics.config import Settings
from mics.db import Database
from mics.errors import VerificationError
from mics.passport.credential import check_structure, verify_credential
from mics.passport.data_integrity import (
    base58btc_decode,
    base58btc_encode,
    did_web,
    jcs,
    multikey,
    verify_proof,
)
from mics.passport.issue import issue_credential, parse_item
from mics.passport.issuer_keys import load_or_create_partner_key, load_partner_key

BAG, SERIAL = "08012345000012", "BA00001"

# W3C vc-di-eddsa test vector for eddsa-jcs-2022 (TestVectors/eddsa-jcs-2022/signedJCS.json,
# key TestVectors/keyPair.json), W3C Data Integrity EdDSA Cryptosuites v1.0.
W3C_KEY = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
W3C_SIGNED: dict[str, Any] = {
    "@context": [
        "https://www.w3.org/ns/credentials/v2",
        "https://www.w3.org/ns/credentials/examples/v2",
    ],
    "id": "urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33",
    "type": ["VerifiableCredential", "AlumniCredential"],
    "name": "Alumni Credential",
    "description": "A minimum viable example of an Alumni Credential.",
    "issuer": "https://vc.example/issuers/5678",
    "validFrom": "2023-01-01T00:00:00Z",
    "credentialSubject": {"id": "did:example:abcdefgh", "alumniOf": "The School of Examples"},
    "proof": {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-jcs-2022",
        "created": "2023-02-24T23:36:38Z",
        "verificationMethod": f"https://vc.example/issuers/5678#{W3C_KEY}",
        "proofPurpose": "assertionMethod",
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://www.w3.org/ns/credentials/examples/v2",
        ],
        "proofValue": "z63t83Y53KfzJ5ZosfKTnqfMcKB2dmTrfjSaQjeNNjAD5srBowQfmWqeRb8rRjmeEuCBEsddF9"
        "LsVogtuTsijJKh4",
    },
}


@pytest.fixture(scope="module")
def issued(
    tmp_path_factory: pytest.TempPathFactory, templates: Templates
) -> Iterator[tuple[Database, Settings, Any]]:
    home = tmp_path_factory.mktemp("credential")
    db = templates.sqlite("demo", home / "c.db")
    settings = Settings(database_url="", home=home / "var", base_url="https://mics.test:8443")
    yield db, settings, issue_credential(db, settings, BAG, SERIAL, tier="authority")
    db.dispose()


def test_w3c_eddsa_jcs_2022_vector_verifies_and_a_changed_claim_does_not() -> None:
    assert verify_proof(W3C_SIGNED) == base58btc_decode(W3C_KEY[1:])[2:]
    altered = copy.deepcopy(W3C_SIGNED)
    altered["credentialSubject"]["alumniOf"] = "The School of Forgeries"
    with pytest.raises(VerificationError, match="invalid"):
        verify_proof(altered)


def test_jcs_follows_rfc_8785() -> None:
    # RFC 8785 §3.2.2.3 number forms and §3.2.3 UTF-16 key order
    numbers = [0.0, -0.0, 1.0, 1e21, 1e20, 1e-7, 0.000001, 333333333.3333333, 5e-324, 1.5]
    assert (
        jcs(numbers)
        == b"[0,0,1,1e+21,100000000000000000000,1e-7,0.000001,333333333.3333333,5e-324,1.5]"
    )
    assert jcs({"\u20ac": 1, "\U0001f600": 2, "\ufb33": 3, "\r": 4}).decode() == (
        '{"\\r":4,"\u20ac":1,"\U0001f600":2,"\ufb33":3}'
    )
    assert jcs({"b": [True, None], "a": "é"}) == '{"a":"é","b":[true,null]}'.encode()


def test_base58_multikey_and_did_web() -> None:
    assert base58btc_decode(base58btc_encode(b"\0\0abc")) == b"\0\0abc"
    assert multikey(base58btc_decode(W3C_KEY[1:])[2:]) == W3C_KEY
    assert did_web("https://mics.example:8443/x", "partners", "acme") == (
        "did:web:mics.example%3A8443:x:partners:acme"
    )


def test_exported_passport_verifies_offline(issued: tuple[Database, Settings, Any]) -> None:
    _, settings, credential = issued
    result = verify_credential(credential)
    assert result.issuer == "did:web:mics.test%3A8443:partners:maison-aurora"
    key = load_partner_key(settings.home, "maison-aurora")
    assert result.key == key.public_multikey
    assert result.events == len(credential["evidence"]) >= 5
    subject = credential["credentialSubject"]
    assert subject["product"]["serialNumber"] == SERIAL
    assert subject["granularityLevel"] == "item"
    assert credential["type"] == ["DigitalProductPassport", "VerifiableCredential"]
    assert credential["proof"]["cryptosuite"] == "eddsa-jcs-2022"
    mode = (settings.home / "partner-keys" / "maison-aurora.key").stat().st_mode & 0o777
    assert mode == 0o600


def test_exported_passport_matches_the_untp_schema(
    issued: tuple[Database, Settings, Any], shared: Any
) -> None:
    folder = shared.path("untp", "data-models", "untp-dpp", "artefacts")
    schema = json.loads((folder / "untp-dpp-schema.json").read_text("utf-8"))
    result = verify_credential(issued[2], schema=schema)
    assert result.schema == "UNTP JSON schema"
    broken = copy.deepcopy(issued[2])
    broken["credentialSubject"]["granularityLevel"] = "pallet"
    with pytest.raises(VerificationError, match=r"granularityLevel|UNTP"):
        verify_credential(broken, schema=schema)


@pytest.mark.parametrize(
    "where",
    [
        "Borsa Aurora",  # the product name in the subject
        '"proofValue":"z',  # the signature
        '"hashes":["',  # an inclusion path
        '"leaf_data":"',  # a log leaf
        "\\n\\n\u2014 ",  # the checkpoint note's signature line
        '"logKey":"',  # the log key
        '"recycledMassFraction":0.3',  # a number
    ],
)
def test_one_changed_byte_fails_verification(
    issued: tuple[Database, Settings, Any], where: str
) -> None:
    raw = bytearray(jcs(issued[2]))
    at = raw.index(where.encode()) + len(where.encode()) + 2
    if where.endswith("0.3"):
        at -= 3
    raw[at] = ord("7") if raw[at] != ord("7") else ord("8")
    with pytest.raises((VerificationError, ValueError)):
        verify_credential(json.loads(bytes(raw)))


def test_pinned_keys_and_missing_proofs_are_checked(
    issued: tuple[Database, Settings, Any], tmp_path: Path
) -> None:
    credential = issued[2]
    other = load_or_create_partner_key(tmp_path, "someone-else")
    with pytest.raises(VerificationError, match="pinned key"):
        verify_credential(credential, issuer_key=other.public_multikey)
    with pytest.raises(VerificationError, match="pinned log key"):
        verify_credential(credential, log_key="mics.example/other+00000000+AQ==")
    fewer = copy.deepcopy(credential)
    fewer["evidence"].pop()
    with pytest.raises(VerificationError):
        verify_credential(fewer)


def test_structure_rules_hold_without_the_schema(issued: tuple[Database, Settings, Any]) -> None:
    check_structure(issued[2])
    for key, value in (("@context", ["x"]), ("validFrom", "yesterday"), ("type", ["X"])):
        broken = copy.deepcopy(issued[2]) | {key: value}
        with pytest.raises(VerificationError, match=key.strip("@")):
            check_structure(broken)


def test_items_are_named_by_digital_link_or_gtin_and_serial() -> None:
    assert parse_item(f"https://id.gs1.org/01/{BAG}/21/{SERIAL}") == (BAG, SERIAL, None)
    assert parse_item(f"/01/{BAG}/10/L1/21/{SERIAL}") == (BAG, SERIAL, "L1")
    assert parse_item(f"8012345000012/{SERIAL}") == (BAG, SERIAL, None)
    with pytest.raises(Exception, match="ITEM"):
        parse_item("borsa")


def test_the_public_credential_names_no_event_hash_or_capturing_partner(
    issued: tuple[Database, Settings, Any],
) -> None:
    db, settings, authority = issued
    public = issue_credential(db, settings, BAG, SERIAL)
    assert verify_credential(public).events == 0
    text = json.dumps(public)
    cited = [(e["eventID"], e["eventHash"]) for e in authority["evidence"]]
    assert len(cited) >= 5
    for event_id, event_hash in cited:
        assert event_id not in text
        assert event_hash.split(";", 1)[1][:64] not in text
    assert "leaf_data" not in text
    assert "traceabilityEvent" not in text
    assert public["credentialSubject"]["product"]["serialNumber"] == SERIAL
