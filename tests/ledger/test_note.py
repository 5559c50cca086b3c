"""C2SP signed notes, checkpoints and cosignatures, with the sumdb/note and C2SP vectors."""

from __future__ import annotations

import base64

import pytest

from mics.errors import InvalidInput, VerificationError
from mics.ledger.note import (
    ALG_COSIGNATURE_V1,
    Checkpoint,
    Signer,
    Verifier,
    cosign_note,
    cosignature_message,
    format_checkpoint,
    key_id,
    open_checkpoint,
    open_note,
    parse_checkpoint,
    parse_note,
    sign_note,
    verify_cosignatures,
)

# golang.org/x/mod/sumdb/note note_test.go
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_B64 = (
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
)
PETER_SIG = f"— PeterNeumann {PETER_B64}\n"
ENOCH_SIG = (
    "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33W"
    "Wd1RvMc+QQ=\n"
)
# c2sp.org/signed-note "Verifier keys", example
FOO_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
FOO_NOTE = (
    "This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6T"
    "fXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
)
# c2sp.org/tlog-checkpoint example
SOFA = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"

LOG = Signer("mics.example/log", bytes(range(32)))
WITNESSES = [
    Signer(f"witness.example/w{i}", bytes([i]) * 32, ALG_COSIGNATURE_V1) for i in (1, 2, 3)
]


def test_signer_reproduces_the_sumdb_note_signature_byte_for_byte() -> None:
    signer = Signer.parse(PETER_SKEY)
    assert signer.verifier == Verifier.parse(PETER_VKEY)
    assert signer.verifier.vkey == PETER_VKEY
    assert signer.skey == PETER_SKEY
    assert sign_note(TEXT, signer) == TEXT + "\n" + PETER_SIG


def test_key_id_is_the_first_four_bytes_of_sha256_of_name_newline_type_key() -> None:
    verifier = Verifier.parse(PETER_VKEY)
    assert key_id("PeterNeumann", 0x01, verifier.public_key).hex() == "c74f20a3"
    cosigner = WITNESSES[0]
    assert cosigner.key_id == key_id(cosigner.name, 0x04, cosigner.public_key)
    assert cosigner.key_id != key_id(cosigner.name, 0x01, cosigner.public_key)


def test_c2sp_example_note_verifies() -> None:
    note = open_note(FOO_NOTE, [Verifier.parse(FOO_VKEY)])
    assert note.text == "This is an example message.\n"
    assert [s.name for s in note.verified] == ["example.com/foo"]


def test_unknown_signatures_are_set_aside_and_known_ones_verified() -> None:
    peter, enoch = Verifier.parse(PETER_VKEY), Verifier.parse(ENOCH_VKEY)
    note = open_note(TEXT + "\n" + PETER_SIG + ENOCH_SIG, [peter])
    assert [s.name for s in note.verified] == ["PeterNeumann"]
    assert [s.name for s in note.unverified] == ["EnochRoot"]
    both = open_note(TEXT + "\n" + PETER_SIG + ENOCH_SIG, [peter, enoch])
    assert [s.name for s in both.verified] == ["PeterNeumann", "EnochRoot"]
    assert both.unverified == ()


def test_note_without_a_trusted_signature_is_rejected_naming_the_signers() -> None:
    with pytest.raises(VerificationError, match=r"got signatures by: PeterNeumann\+c74f20a3"):
        open_note(TEXT + "\n" + PETER_SIG, [Verifier.parse(ENOCH_VKEY)])


def test_tampered_note_body_fails_verification() -> None:
    tampered = TEXT.replace("cryptography", "cryptographY") + "\n" + PETER_SIG
    with pytest.raises(VerificationError, match=r"valid signature by PeterNeumann\+c74f20a3"):
        open_note(tampered, [Verifier.parse(PETER_VKEY)])


def test_altered_signature_from_a_known_key_rejects_the_note() -> None:
    altered = TEXT + "\n" + PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(VerificationError):
        open_note(altered, [Verifier.parse(PETER_VKEY)])


@pytest.mark.parametrize(
    "message",
    [
        TEXT,
        TEXT + "\n",
        TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + TEXT + "\n" + PETER_SIG,
        TEXT + "\n" + f"— Bad Name {PETER_B64}",
        TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
        TEXT + "\n" + PETER_SIG * 101,
        TEXT + "\n" + "— PeterNeumann AAAA\n",
    ],
)
def test_malformed_notes_are_rejected(message: str) -> None:
    with pytest.raises(InvalidInput, match="malformed signed note"):
        open_note(message, [Verifier.parse(PETER_VKEY)])


def test_note_bytes_must_be_utf8() -> None:
    with pytest.raises(InvalidInput, match="UTF-8"):
        parse_note(b"\xff" + (TEXT + "\n" + PETER_SIG).encode())
    with pytest.raises(InvalidInput, match="UTF-8"):
        parse_note("\ud800" + TEXT + "\n" + PETER_SIG)
    text, signatures = parse_note((TEXT + "\n" + PETER_SIG).encode())
    assert (text, signatures[0].key_id.hex()) == (TEXT, "c74f20a3")


def test_mangled_verifier_keys_are_refused() -> None:
    refused = 0
    for i in range(len(PETER_VKEY)):
        for j in range(i + 1, len(PETER_VKEY) + 1):
            if (i, j) != (0, len(PETER_VKEY)):
                with pytest.raises(InvalidInput):
                    Verifier.parse(PETER_VKEY[i:j])
                refused += 1
    for i in range(len(PETER_VKEY)):
        mangled = PETER_VKEY[:i] + chr(ord(PETER_VKEY[i]) + 1) + PETER_VKEY[i + 1 :]
        with pytest.raises(InvalidInput):
            Verifier.parse(mangled)
    assert refused == len(PETER_VKEY) * (len(PETER_VKEY) + 1) // 2 - 1


def test_sign_note_refuses_text_without_final_newline_and_cosigners() -> None:
    with pytest.raises(InvalidInput, match="newline"):
        sign_note("abc", LOG)
    with pytest.raises(InvalidInput, match="cosigner"):
        sign_note(TEXT, WITNESSES[0])


def test_checkpoint_round_trip_with_the_spec_example() -> None:
    checkpoint = parse_checkpoint(SOFA)
    assert checkpoint.origin == "example.com/behind-the-sofa"
    assert checkpoint.size == 20852163
    assert checkpoint.root_hash == base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    assert format_checkpoint(checkpoint.origin, checkpoint.size, checkpoint.root_hash) == SOFA
    extended = Checkpoint("o", 0, bytes(32), ("ext one",))
    assert parse_checkpoint(extended.text) == extended
    assert extended.text == "o\n0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\next one\n"
    with pytest.raises(InvalidInput, match="extensions line"):
        format_checkpoint("o", 1, bytes(32), ["a\nb"])
    with pytest.raises(InvalidInput, match="origin line"):
        format_checkpoint("", 1, bytes(32))
    with pytest.raises(InvalidInput, match="32-byte root"):
        format_checkpoint("o", 1, bytes(31))


@pytest.mark.parametrize(
    "text",
    [
        "example.com/log\n012\n" + SOFA.split("\n")[2] + "\n",
        "example.com/log\n12\n",
        "\n12\n" + SOFA.split("\n")[2] + "\n",
        "example.com/log\n12\nAAAA\n",
        "example.com/log\n12\n" + SOFA.split("\n")[2] + "\n\n",
        "example.com/log\n-1\n" + SOFA.split("\n")[2] + "\n",
        SOFA[:-1],
    ],
)
def test_malformed_checkpoints_are_rejected(text: str) -> None:
    with pytest.raises(InvalidInput, match="checkpoint"):
        parse_checkpoint(text)


def test_open_checkpoint_checks_signature_and_origin() -> None:
    note = sign_note(SOFA, LOG)
    assert open_checkpoint(note, LOG.verifier).size == 20852163
    with pytest.raises(VerificationError, match=r"expected checkpoint origin 'other\.example'"):
        open_checkpoint(note, LOG.verifier, origin="other.example")
    with pytest.raises(VerificationError):
        open_checkpoint(note.replace("20852163", "20852164"), LOG.verifier)


def test_cosignature_message_matches_the_tlog_cosignature_example() -> None:
    assert cosignature_message(SOFA, 1679315147) == (
        b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\n"
        b"CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    )


def test_cosignature_is_timestamp_then_ed25519_over_the_cosigned_message() -> None:
    witness = WITNESSES[0]
    note = cosign_note(sign_note(SOFA, LOG), witness, 1679315147)
    _, signatures = parse_note(note)
    cosig = signatures[-1]
    assert cosig.key_id == witness.key_id
    assert cosig.signature[:8] == (1679315147).to_bytes(8, "big")
    assert cosig.signature[8:] == witness.sign(cosignature_message(SOFA, 1679315147))
    assert Verifier.parse(witness.verifier.vkey).alg == ALG_COSIGNATURE_V1
    # a log verifier still opens the note; the cosignature is an unknown key to it
    assert open_note(note, [LOG.verifier]).unverified == (cosig,)


def test_witness_quorum_counts_valid_cosignatures() -> None:
    note = sign_note(SOFA, LOG)
    note = cosign_note(note, WITNESSES[0], 1_700_000_000)
    note = cosign_note(note, WITNESSES[1], 1_700_000_001)
    verifiers = [w.verifier for w in WITNESSES]
    found = verify_cosignatures(note, verifiers, 2)
    assert [(c.name, c.timestamp) for c in found] == [
        ("witness.example/w1", 1_700_000_000),
        ("witness.example/w2", 1_700_000_001),
    ]
    with pytest.raises(VerificationError, match=r"at least 3 of 3 witness cosignatures, got 2"):
        verify_cosignatures(note, verifiers, 3)


def test_recosigning_replaces_the_witness_line() -> None:
    note = cosign_note(sign_note(SOFA, LOG), WITNESSES[0], 1)
    note = cosign_note(note, WITNESSES[0], 2)
    found = verify_cosignatures(note, [WITNESSES[0].verifier], 1)
    assert [c.timestamp for c in found] == [2]


def test_cosignature_with_altered_timestamp_fails() -> None:
    note = cosign_note(sign_note(SOFA, LOG), WITNESSES[0], 1_700_000_000)
    text, signatures = parse_note(note)
    cosig = signatures[-1]
    forged = cosig.__class__(
        cosig.name, cosig.key_id, (1_700_000_001).to_bytes(8, "big") + cosig.signature[8:]
    )
    forged_note = text + "\n" + signatures[0].line + forged.line
    with pytest.raises(VerificationError, match=r"witness\.example/w1"):
        verify_cosignatures(forged_note, [WITNESSES[0].verifier], 1)


def test_cosigning_and_quorums_need_cosignature_keys() -> None:
    with pytest.raises(InvalidInput, match="type 0x04"):
        cosign_note(sign_note(SOFA, LOG), LOG, 1)
    with pytest.raises(InvalidInput, match="not a cosignature/v1 key"):
        verify_cosignatures(sign_note(SOFA, LOG), [LOG.verifier], 1)


def test_quorum_of_zero_accepts_a_note_without_cosignatures() -> None:
    assert verify_cosignatures(sign_note(SOFA, LOG), [w.verifier for w in WITNESSES], 0) == []


def test_generated_signer_key_strings_round_trip() -> None:
    signer = Signer.generate("mics.example/log")
    again = Signer.parse(signer.skey)
    assert again.public_key == signer.public_key
    assert Verifier.parse(signer.verifier.vkey) == signer.verifier
    cosigner = Signer.generate("w.example", ALG_COSIGNATURE_V1)
    assert Signer.parse(cosigner.skey).verifier == cosigner.verifier
    assert repr(signer.seed) not in repr(signer)


def test_ambiguous_verifiers_are_refused() -> None:
    peter = Verifier.parse(PETER_VKEY)
    impostor = Verifier(peter.name, peter.key_id, peter.alg, bytes(32))
    with pytest.raises(InvalidInput, match="share name and ID"):
        open_note(TEXT + "\n" + PETER_SIG, [peter, impostor])
