"""NTAG 424 DNA SUN verification against NXP AN12196 / AN10922 vectors and a tag simulator.

Vectors: AN12196 Tables 1-5 (as reproduced in many open implementations) and the
tests of GitHub nfc-developer/sdm-backend ``tests/test_libsdm.py``; AN10922
§2.2 AES-128 example.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.cmac import CMAC
from hypothesis import given, settings
from hypothesis import strategies as st

from mics.errors import InvalidInput, VerificationError
from mics.passport.sun import (
    COUNTER_MAX,
    SDM_FILE_READ_KEY_NO,
    SunMasterKey,
    an10922_diversify,
    cmac_subkeys,
    decrypt_file_data,
    diversify_key,
    parse_enc_param,
    parse_sun_params,
    sdm_mac,
    sdm_mac_input,
    session_enc_key,
    session_mac_key,
    simulate_sun,
    verify_plain_sun,
    verify_sun,
)

h = bytes.fromhex
ZERO = bytes(16)


@dataclass(frozen=True)
class Vector:
    name: str
    meta_read_key: str
    file_read_key: str
    e: str
    c: str
    enc: str | None
    mac_input: bytes
    uid: str
    counter: int
    file_data: bytes | None


_SUN2_ENC = "CEE9A53E3E463EF1F459635736738962"
_SUN3_ENC = "B8436E11F627BB7F543FCC0C1E0D1A89"
_KDF1_ENC = (
    "382B4C3D68552C3A5F417F0695A3D857923764E1737AD1F80E834E46387F45DC"
    "77FE7468BBCF9DBF43B29CA58E8D6435F908C9C0CD56E9B4B9960FE1279C5DF1"
)
_KDF2_ENC = "5CE7DCDEA93F5DA7AAA0AADC97485ABF"
# sdm-backend's own (non-AN10922) KDF from master 47BBB68A...C521; these are the
# keys its derive_undiversified_key(master, 1) / derive_tag_key(master, uid, 2) give.
_KDF_META = "c3b653d8484d82fd9d5dc48840e1f94e"

VECTORS = [
    Vector(
        "AN12196 Table 4 (sdm-backend test_sun1): plain SUN, empty MAC input",
        "00" * 16,
        "00" * 16,
        "EF963FF7828658A599F3041510671E88",
        "94EED9EE65337086",
        None,
        b"",
        "04DE5F1EACC040",
        61,
        None,
    ),
    Vector(
        "AN12196 Table 5 (sdm-backend test_sun2): encrypted file data, MAC over 'ENC&cmac='",
        "00" * 16,
        "00" * 16,
        "FD91EC264309878BE6345CBE53BADF40",
        "ECC1E7F6C6C73BF6",
        _SUN2_ENC,
        f"{_SUN2_ENC}&cmac=".encode(),
        "04958CAA5C5E80",
        8,
        b"x" * 16,
    ),
    Vector(
        "sdm-backend test_sun3_custom: non-zero keys, MAC over the enc hex only",
        "42aff114f2cb3b6141be6dc95dfc5416",
        "b62a9baf092439bd43c62aee96b970c5",
        "8ACADDEF0A9B62CDAE39A16B83FC14DE",
        "238B2543A8DEBAD8",
        _SUN3_ENC,
        _SUN3_ENC.encode(),
        "041d3c8a2d6b80",
        291,
        h("4e545858716e6f5f6f42467077792d56"),
    ),
    Vector(
        "sdm-backend test_decrypt_with_kdf1: 64 bytes of file data",
        _KDF_META,
        "1fd0d360ccf906df902cc8404c7ce5aa",
        "8DE9030262807261850FCCF5FE007E21",
        "DF3EF20BE7D91C8E",
        _KDF1_ENC,
        _KDF1_ENC.encode(),
        "04c24eda926980",
        1,
        b"NT1" + b"x" * 49 + b"E" * 12,
    ),
    Vector(
        "sdm-backend test_decrypt_with_kdf2",
        _KDF_META,
        "97d1c3d765bc22ab707e80723e17b126",
        "4F5B914723915D456C038FE658686CD5",
        "FFCD8DE82AD05289",
        _KDF2_ENC,
        _KDF2_ENC.encode(),
        "047d5f2aaa6180",
        2,
        b"CC\x04aaaaEEEEEEEEE",
    ),
]


@pytest.mark.parametrize("v", VECTORS, ids=[v.name for v in VECTORS])
def test_published_sun_vectors_verify_to_their_uid_counter_and_file_data(v: Vector) -> None:
    reading = verify_sun(
        h(v.e),
        h(v.c),
        h(v.meta_read_key),
        h(v.file_read_key),
        enc=None if v.enc is None else h(v.enc),
        mac_input=v.mac_input,
    )
    assert reading.uid == h(v.uid)
    assert reading.counter == v.counter
    assert reading.file_data == v.file_data


def test_an12196_table4_default_mac_input_is_empty_without_enc() -> None:
    e, c = parse_sun_params("EF963FF7828658A599F3041510671E88", "94EED9EE65337086")
    assert verify_sun(e, c, ZERO, ZERO).counter == 61


def test_sdm_backend_wrong_sdmmac_vector_fails() -> None:
    with pytest.raises(VerificationError, match="SDMMAC"):
        verify_sun(
            h("FD91EC264309878BE6345CBE53BADF40"),
            h("3CC1E7F6C6C33B33"),
            ZERO,
            ZERO,
            enc=h(_SUN2_ENC),
            mac_input=f"{_SUN2_ENC}&cmac=".encode(),
        )


def test_table5_fails_when_the_mac_input_names_another_parameter() -> None:
    # The tag MACed "...&cmac="; our default layout would be "...&c=".
    with pytest.raises(VerificationError, match="SDMMAC"):
        verify_sun(
            h("FD91EC264309878BE6345CBE53BADF40"),
            h("ECC1E7F6C6C73BF6"),
            ZERO,
            ZERO,
            enc=h(_SUN2_ENC),
        )


def test_sdm_backend_plain_sun_vector_verifies() -> None:
    reading = verify_plain_sun(h("041E3C8A2D6B80"), 6, h("4B00064004B0B3D3"), ZERO)
    assert (reading.uid, reading.counter) == (h("041E3C8A2D6B80"), 6)


def test_sdm_backend_plain_sun_wrong_mac_fails() -> None:
    with pytest.raises(VerificationError, match="SDMMAC"):
        verify_plain_sun(h("041E3C8A2D6B80"), 6, h("AB00064004B0B3AB"), ZERO)


def test_an12196_table1_session_keys() -> None:
    key, uid = h("5ACE7E50AB65D5D51FD5BF5A16B8205B"), h("04C767F2066180")
    assert session_mac_key(key, uid, 1) == h("3A3E8110E05311F7A3FCF0D969BF2B48")
    assert session_enc_key(key, uid, 1) == h("66DA61797E23DECA5D8ECA13BBADF7A9")


def test_an12196_table4_and_5_session_mac_keys_and_macs() -> None:
    table4 = session_mac_key(ZERO, h("04DE5F1EACC040"), 61)
    assert table4 == h("3FB5F6E3A807A03D5E3570ACE393776F")
    assert sdm_mac(table4, b"") == h("94EED9EE65337086")
    table5 = session_mac_key(ZERO, h("04958CAA5C5E80"), 8)
    assert table5 == h("3ED0920E5E6A0320D823D5987FEAFBB1")
    mac_input = sdm_mac_input(h(_SUN2_ENC), "cmac")
    assert mac_input == b"CEE9A53E3E463EF1F459635736738962&cmac="
    assert sdm_mac(table5, mac_input) == h("ECC1E7F6C6C73BF6")


def test_an12196_table3_file_data_decryption() -> None:
    uid = h("04958CAA5C5E80")
    assert session_enc_key(ZERO, uid, 1) == h("8097D73344D53F963B09E23E03B62336")
    assert decrypt_file_data(ZERO, uid, 1, h("94592FDE69FA06E8E3B6CA686A22842B")) == b"x" * 16


def test_simulator_reproduces_an12196_table4_message() -> None:
    # PICCData C7 04DE5F1EACC040 3D0000 DA5CF60941 (AN12196 Table 2).
    message = simulate_sun(h("04DE5F1EACC040"), 61, ZERO, ZERO, padding=h("DA5CF60941"))
    assert message.e == h("EF963FF7828658A599F3041510671E88")
    assert message.c == h("94EED9EE65337086")
    assert message.query() == "e=EF963FF7828658A599F3041510671E88&c=94EED9EE65337086"


def test_simulator_reproduces_an12196_table5_message_with_file_data() -> None:
    message = simulate_sun(
        h("04958CAA5C5E80"),
        8,
        ZERO,
        ZERO,
        file_data=b"x" * 16,
        padding=h("A243C86DFC"),
        mac_param="cmac",
    )
    assert message.e == h("FD91EC264309878BE6345CBE53BADF40")
    assert message.enc == h(_SUN2_ENC)
    assert message.c == h("ECC1E7F6C6C73BF6")


def test_tampered_mac_fails_and_does_not_reveal_the_expected_mac() -> None:
    e, c = h("EF963FF7828658A599F3041510671E88"), h("94EED9EE65337086")
    tampered = bytes([c[0] ^ 0x01]) + c[1:]
    with pytest.raises(VerificationError) as caught:
        verify_sun(e, tampered, ZERO, ZERO)
    assert "94EED9EE65337086" not in str(caught.value)
    assert tampered.hex().upper() in str(caught.value)


def test_wrong_meta_read_key_fails_on_the_picc_data_tag() -> None:
    wrong = h("00112233445566778899AABBCCDDEEFF")
    with pytest.raises(VerificationError, match="PICCDataTag: expected 0xC7"):
        verify_sun(h("EF963FF7828658A599F3041510671E88"), h("94EED9EE65337086"), wrong, ZERO)


def test_wrong_file_read_key_fails_the_mac() -> None:
    wrong = h("00112233445566778899AABBCCDDEEFF")
    with pytest.raises(VerificationError, match="SDMMAC"):
        verify_sun(h("EF963FF7828658A599F3041510671E88"), h("94EED9EE65337086"), ZERO, wrong)


@pytest.mark.parametrize("bit", range(128))
def test_every_flipped_bit_in_e_fails(bit: int) -> None:
    e = bytearray(h("EF963FF7828658A599F3041510671E88"))
    e[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(VerificationError):
        verify_sun(bytes(e), h("94EED9EE65337086"), ZERO, ZERO)


def test_flipped_bit_in_enc_fails_the_mac() -> None:
    message = simulate_sun(h("04958CAA5C5E80"), 9, ZERO, ZERO, file_data=b"y" * 32)
    assert message.enc is not None
    enc = bytes([message.enc[0] ^ 0x80]) + message.enc[1:]
    with pytest.raises(VerificationError, match="SDMMAC"):
        verify_sun(message.e, message.c, ZERO, ZERO, enc=enc)


keys = st.binary(min_size=16, max_size=16)


@settings(max_examples=60, deadline=None)
@given(
    uid=st.binary(min_size=7, max_size=7),
    counter=st.integers(0, COUNTER_MAX),
    meta=keys,
    file=keys,
    blocks=st.integers(0, 3),
)
def test_simulated_messages_verify_to_the_same_uid_counter_and_data(
    uid: bytes, counter: int, meta: bytes, file: bytes, blocks: int
) -> None:
    data = bytes(range(16 * blocks)) or None
    message = simulate_sun(uid, counter, meta, file, file_data=data)
    reading = verify_sun(message.e, message.c, meta, file, enc=message.enc)
    assert (reading.uid, reading.counter, reading.file_data) == (uid, counter, data)


def test_two_taps_at_one_counter_differ_by_their_random_padding() -> None:
    first = simulate_sun(h("04DE5F1EACC040"), 5, ZERO, ZERO)
    second = simulate_sun(h("04DE5F1EACC040"), 5, ZERO, ZERO)
    assert first.e != second.e
    assert first.c == second.c


def test_counter_outside_three_bytes_is_rejected() -> None:
    with pytest.raises(InvalidInput) as caught:
        simulate_sun(h("04DE5F1EACC040"), COUNTER_MAX + 1, ZERO, ZERO)
    assert caught.value.field == "counter"


# --- URL parameters ----------------------------------------------------------


def test_parse_sun_params_accepts_either_case() -> None:
    e, c = parse_sun_params("ef963ff7828658a599f3041510671e88", "94EED9EE65337086")
    assert e == h("EF963FF7828658A599F3041510671E88")
    assert c == h("94EED9EE65337086")


@pytest.mark.parametrize(
    ("e_hex", "c_hex", "field", "problem"),
    [
        ("EF963FF7828658A599F3041510671E8G", "94EED9EE65337086", "e", "not hexadecimal"),
        ("EF963FF7828658A599F3041510671E8", "94EED9EE65337086", "e", "odd number"),
        ("EF963FF7828658A599F3041510671E", "94EED9EE65337086", "e", "expected 32 hex digits"),
        ("EF963FF7828658A599F3041510671E88", "94EED9EE 5337086", "c", "not hexadecimal"),
        ("EF963FF7828658A599F3041510671E88", "94EED9EE6533708", "c", "odd number"),
        ("EF963FF7828658A599F3041510671E88", "94EED9EE653370", "c", "expected 16 hex digits"),
        ("EF963FF7828658A599F3041510671E88", "", "c", "expected 16 hex digits"),
    ],
)
def test_parse_sun_params_names_the_bad_field(
    e_hex: str, c_hex: str, field: str, problem: str
) -> None:
    with pytest.raises(InvalidInput, match=problem) as caught:
        parse_sun_params(e_hex, c_hex)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")


def test_parse_enc_param_wants_whole_blocks() -> None:
    assert parse_enc_param(_SUN2_ENC) == h(_SUN2_ENC)
    with pytest.raises(InvalidInput, match="whole 16-byte AES blocks") as caught:
        parse_enc_param("ABCD")
    assert caught.value.field == "enc"


def test_verify_rejects_a_short_e_as_input_not_as_forgery() -> None:
    with pytest.raises(InvalidInput) as caught:
        verify_sun(bytes(15), bytes(8), ZERO, ZERO)
    assert caught.value.field == "e"


# --- key diversification (AN10922) --------------------------------------------

AN10922_MASTER = h("00112233445566778899AABBCCDDEEFF")


def test_an10922_aes128_example() -> None:
    # M = UID 04782E21801D80 || AID 3042F5 || system identifier "NXP Abu".
    m = h("04782E21801D80") + h("3042F5") + b"NXP Abu"
    assert an10922_diversify(AN10922_MASTER, m) == h("A8DD63A3B89D54B37CA802473FDA9175")


def test_an10922_cmac_subkeys() -> None:
    k1, k2 = cmac_subkeys(AN10922_MASTER)
    assert k1 == h("FBC9F75C9413C041DFEE452D3F0706D1")
    assert k2 == h("F793EEB928278083BFDC8A5A7E0E0D25")


def _plain_cmac(key: bytes, data: bytes) -> bytes:
    mac = CMAC(algorithms.AES(key))
    mac.update(data)
    return mac.finalize()


def test_an10922_pads_short_inputs_to_two_blocks_unlike_plain_cmac() -> None:
    short = b"\x42" * 10  # 0x01 || M is 11 bytes: plain CMAC would use one block
    assert an10922_diversify(AN10922_MASTER, short) != _plain_cmac(AN10922_MASTER, b"\x01" + short)
    full = b"\x42" * 31  # 0x01 || M is 32 bytes: both use K1, no padding
    assert an10922_diversify(AN10922_MASTER, full) == _plain_cmac(AN10922_MASTER, b"\x01" + full)


@pytest.mark.parametrize("size", [0, 32])
def test_an10922_input_must_be_1_to_31_bytes(size: int) -> None:
    with pytest.raises(InvalidInput) as caught:
        an10922_diversify(AN10922_MASTER, bytes(size))
    assert caught.value.field == "diversification_input"


def test_diversify_key_puts_key_number_after_uid() -> None:
    uid, system = h("04782E21801D80"), b"MICS"
    key = diversify_key(AN10922_MASTER, uid, system, 2)
    assert key == an10922_diversify(AN10922_MASTER, uid + b"\x02" + system)
    assert key != diversify_key(AN10922_MASTER, uid, system, 1)
    assert key != diversify_key(AN10922_MASTER, h("04782E21801D81"), system, 2)
    assert key != diversify_key(AN10922_MASTER, uid, b"MICT", 2)


def test_diversify_key_rejects_key_numbers_the_tag_lacks() -> None:
    with pytest.raises(InvalidInput) as caught:
        diversify_key(AN10922_MASTER, h("04782E21801D80"), b"MICS", 5)
    assert caught.value.field == "key_no"


def test_master_key_round_trip_with_diversified_file_keys() -> None:
    master = SunMasterKey(AN10922_MASTER, b"MICS-passport")
    uid = h("04A1B2C3D4E5F6")
    message = simulate_sun(uid, 7, master.meta_read_key, master.file_read_key(uid))
    reading = verify_sun(message.e, message.c, master.meta_read_key, master.file_read_key)
    assert (reading.uid, reading.counter) == (uid, 7)
    assert master.file_read_key(uid) == master.tag_key(uid, SDM_FILE_READ_KEY_NO)
    # Another tag's key does not verify this tag's message.
    with pytest.raises(VerificationError):
        verify_sun(message.e, message.c, master.meta_read_key, master.file_read_key(bytes(7)))


@pytest.mark.parametrize("system", [b"", b"MICS", b"S" * 22, b"S" * 23, b"S" * 24])
def test_fast_file_read_key_equals_an10922_for_every_identifier_length(system: bytes) -> None:
    # 0x01 || UID || key_no || system: padded with K2 below 32 bytes, K1 at exactly 32
    # (a 23-byte system identifier), AN10922's error above.
    master = SunMasterKey(AN10922_MASTER, system)
    for uid in (h("04A1B2C3D4E5F6"), h("04782E21801D80"), bytes(7), b"\xff" * 7):
        if len(system) > 23:
            with pytest.raises(InvalidInput):
                master.file_read_key(uid)
            continue
        expected = diversify_key(AN10922_MASTER, uid, system, SDM_FILE_READ_KEY_NO)
        assert master.file_read_key(uid) == expected
        assert master.file_read_key(uid) == expected  # the kept encryptor holds no state


def test_fast_file_read_key_on_many_threads() -> None:
    master = SunMasterKey(AN10922_MASTER, b"MICS")
    uids = [i.to_bytes(7, "big") for i in range(200)]
    expected = [diversify_key(AN10922_MASTER, u, b"MICS", SDM_FILE_READ_KEY_NO) for u in uids]
    with ThreadPoolExecutor(8) as pool:
        for _ in range(5):
            assert list(pool.map(master.file_read_key, uids)) == expected


def test_master_key_repr_hides_the_key() -> None:
    shown = repr(SunMasterKey(AN10922_MASTER, b"MICS"))
    assert repr(AN10922_MASTER) not in shown
    assert "key=" not in shown
    assert "system_identifier=b'MICS'" in shown
