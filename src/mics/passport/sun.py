"""NTAG 424 DNA Secure Unique NFC (SUN) messages in AES mode, and per-tag keys.

A tapped NTAG 424 DNA answers with a URL whose query carries ``e`` (the
encrypted PICCData) and ``c`` (the truncated SDMMAC); optionally ``enc``
(encrypted file data). This module checks such a message, and simulates a tag
so that tests, the demo and the bench can produce genuine messages.

Standards followed:

- NXP AN12196 "NTAG 424 DNA and NTAG 424 DNA TagTamper features and hints",
  §3.3 (SUN: PICCData encryption, SDMENCFileData) and §3.4 (SDMMAC session key
  and MAC), with its worked examples (Tables 1-5), and the NTAG 424 DNA data
  sheet (NT4H2421Gx) §9.3 Secure Dynamic Messaging:

  * PICCData = AES-128-CBC-decrypt(SDMMetaReadKey, IV = 0, e) =
    ``0xC7 || UID(7) || SDMReadCtr(3, little endian) || 5 random bytes``;
  * SesSDMFileReadMACKey = CMAC(SDMFileReadKey, ``3CC3 0001 0080 || UID || ctr``);
  * SesSDMFileReadENCKey = CMAC(SDMFileReadKey, ``C33C 0001 0080 || UID || ctr``),
    file data is AES-128-CBC under it with IV = AES(key, ``ctr || 0^13``);
  * SDMMAC = the odd-indexed bytes of CMAC(SesSDMFileReadMACKey, the mirrored
    ASCII text from SDMMACInputOffset up to SDMMACOffset) - empty when the MAC
    directly follows the PICCData.

- NXP AN10922 "Symmetric key diversifications" §2.2 (AES-128): a tag key is
  CMAC(master, ``0x01 || M``) computed over exactly 32 bytes, so the back end
  keeps one master key and never stores a tag key.
"""

from __future__ import annotations

import hmac
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC

from mics.errors import InvalidInput, VerificationError

KEY_LENGTH = 16
UID_LENGTH = 7
PICC_DATA_LENGTH = 16
SDMMAC_LENGTH = 8
COUNTER_MAX = 0xFFFFFF  # SDMReadCtr is 3 bytes

# PICCDataTag bit 7 = UID mirrored, bit 6 = SDMReadCtr mirrored, bits 3..0 = UID length.
PICC_DATA_TAG = 0xC7
_SV2_MAC = bytes.fromhex("3CC300010080")  # AN12196 §3.4: session vector for the MAC key
_SV1_ENC = bytes.fromhex("C33C00010080")  # AN12196 §3.3: session vector for the ENC key
_ZERO_IV = bytes(16)
_HEX = re.compile(r"[0-9A-Fa-f]*")

# Key numbers on the NTAG 424 DNA application (0..4), in the common layout
# (e.g. nfc-developer/sdm-backend): key 1 meta-read, key 2 file-read.
APP_MASTER_KEY_NO = 0
SDM_META_READ_KEY_NO = 1
SDM_FILE_READ_KEY_NO = 2
_KEY_NOS = range(5)

_AN10922_AES128 = 0x01  # AN10922 §2.2 diversification constant for AES-128
_CMAC_RB = 0x87  # NIST SP 800-38B constant for 128-bit blocks

FileReadKey = bytes | Callable[[bytes], bytes]
"""The SDMFileReadKey, or a function from the tag UID to it (diversified keys)."""


@dataclass(frozen=True)
class SunReading:
    """What a verified SUN message proves: this tag, at this tap count."""

    uid: bytes
    counter: int
    file_data: bytes | None = None


@dataclass(frozen=True)
class SunMessage:
    """A SUN message as a tag mirrors it into its URL (see ``simulate_sun``)."""

    e: bytes
    c: bytes
    enc: bytes | None = None

    def query(self, mac_param: str = "c") -> str:
        """The URL query the tag writes, hex in upper case as the tag mirrors it."""
        parts = [f"e={self.e.hex().upper()}"]
        if self.enc is not None:
            parts.append(f"enc={self.enc.hex().upper()}")
        parts.append(f"{mac_param}={self.c.hex().upper()}")
        return "&".join(parts)


@dataclass(frozen=True)
class SunMasterKey:
    """The one secret the back end keeps; every tag key derives from it (AN10922).

    The SDMMetaReadKey cannot depend on the UID (the UID is inside ``e``), so it
    is one key per system; the SDMFileReadKey is diversified per tag.
    """

    key: bytes = field(repr=False)
    system_identifier: bytes

    def __post_init__(self) -> None:
        _check_key("master_key", self.key)

    @cached_property  # computed once per process: the hot path of every scan needs it
    def meta_read_key(self) -> bytes:
        return an10922_diversify(self.key, bytes([SDM_META_READ_KEY_NO]) + self.system_identifier)

    def file_read_key(self, uid: bytes) -> bytes:
        """The tag's SDMFileReadKey: ``diversify_key(.., SDM_FILE_READ_KEY_NO)``, on the hot path.

        The same AN10922 computation with the master's CMAC subkeys computed once
        and its AES block encryptor kept (one per thread: a cipher context is not
        thread-safe): 2 block encryptions instead of 2 cipher set-ups, 24 -> ~6 us a
        scan. ``tests/passport/test_sun.py`` checks it against ``diversify_key``.
        """
        _check_length("uid", uid, UID_LENGTH)
        data = uid + bytes([SDM_FILE_READ_KEY_NO]) + self.system_identifier
        if len(data) > 31:  # a system identifier too long for AN10922: its error
            return diversify_key(self.key, uid, self.system_identifier, SDM_FILE_READ_KEY_NO)
        return _an10922(data, self._subkeys, self._encryptor().update)

    @cached_property
    def _subkeys(self) -> tuple[bytes, bytes]:
        return cmac_subkeys(self.key)

    @cached_property
    def _threads(self) -> threading.local:
        return threading.local()

    def _encryptor(self) -> Any:
        found = getattr(self._threads, "ecb", None)
        if found is None:
            found = self._threads.ecb = Cipher(algorithms.AES(self.key), modes.ECB()).encryptor()
        return found

    def tag_key(self, uid: bytes, key_no: int) -> bytes:
        return diversify_key(self.key, uid, self.system_identifier, key_no)


def parse_sun_params(e_hex: str, c_hex: str) -> tuple[bytes, bytes]:
    """The ``e`` and ``c`` URL parameters as bytes, or InvalidInput naming the bad one."""
    return (
        _hex_field("e", e_hex, PICC_DATA_LENGTH),
        _hex_field("c", c_hex, SDMMAC_LENGTH),
    )


def parse_enc_param(enc_hex: str) -> bytes:
    """The optional ``enc`` parameter (SDMENCFileData): whole AES blocks in hex."""
    data = _hex_field("enc", enc_hex, None)
    _check_blocks("enc", data)
    return data


def sdm_mac_input(enc: bytes | None, mac_param: str = "c") -> bytes:
    """The text the tag MACs in our URL layout: empty, or ``ENCHEX&c=``.

    Our tags put SDMMACInputOffset at the start of the ``enc`` value and the MAC
    right after ``&c=``, so the MACed text is the ASCII between the two.
    """
    if enc is None:
        return b""
    return f"{enc.hex().upper()}&{mac_param}=".encode("ascii")


def verify_sun(
    e: bytes,
    c: bytes,
    meta_read_key: bytes,
    file_read_key: FileReadKey,
    *,
    enc: bytes | None = None,
    mac_input: bytes | None = None,
) -> SunReading:
    """Decrypt ``e``, check ``c`` and return the tag's UID and counter.

    ``mac_input`` is the mirrored text the MAC covers; by default
    ``sdm_mac_input(enc)``. Raises VerificationError when the PICCDataTag is not
    0xC7 (usually a wrong meta-read key) or the MAC does not check.
    """
    _check_length("e", e, PICC_DATA_LENGTH)
    _check_length("c", c, SDMMAC_LENGTH)
    _check_key("meta_read_key", meta_read_key)
    plain = _aes_cbc(meta_read_key, _ZERO_IV, e, encrypt=False)
    if plain[0] != PICC_DATA_TAG:
        raise VerificationError(
            f"PICCDataTag: expected 0x{PICC_DATA_TAG:02X} (UID and counter mirrored, "
            f"7-byte UID), got 0x{plain[0]:02X}; the SDM meta-read key is wrong "
            "or e was altered"
        )
    uid = plain[1 : 1 + UID_LENGTH]
    counter = int.from_bytes(plain[8:11], "little")
    key = file_read_key(uid) if callable(file_read_key) else file_read_key
    _check_key("file_read_key", key)
    text = sdm_mac_input(enc) if mac_input is None else mac_input
    expected = sdm_mac(session_mac_key(key, uid, counter), text)
    # The expected MAC stays out of the message: echoing it would let anyone
    # forge a valid MAC for any e they submit.
    if not hmac.compare_digest(expected, c):
        raise VerificationError(
            f"SDMMAC: expected the MAC of tag {uid.hex().upper()} at counter {counter}, "
            f"got {c.hex().upper()} which does not match; the message was altered "
            "or the file-read key is wrong"
        )
    file_data = None if enc is None else decrypt_file_data(key, uid, counter, enc)
    return SunReading(uid=uid, counter=counter, file_data=file_data)


def verify_plain_sun(
    uid: bytes, counter: int, c: bytes, file_read_key: bytes, *, mac_input: bytes = b""
) -> SunReading:
    """Check a SUN message whose UID and counter are mirrored in clear (no ``e``)."""
    _check_length("uid", uid, UID_LENGTH)
    _check_length("c", c, SDMMAC_LENGTH)
    expected = sdm_mac(session_mac_key(file_read_key, uid, counter), mac_input)
    if not hmac.compare_digest(expected, c):
        raise VerificationError(
            f"SDMMAC: expected the MAC of tag {uid.hex().upper()} at counter {counter}, "
            f"got {c.hex().upper()} which does not match"
        )
    return SunReading(uid=uid, counter=counter)


def simulate_sun(
    uid: bytes,
    counter: int,
    meta_read_key: bytes,
    file_read_key: bytes,
    *,
    file_data: bytes | None = None,
    padding: bytes | None = None,
    mac_param: str = "c",
) -> SunMessage:
    """What a tag configured with these keys sends at this tap (a tag simulator).

    ``padding`` is the 5 random bytes that end the PICCData (fresh each call
    unless given); ``file_data`` must be whole 16-byte blocks; ``mac_param`` is
    the URL parameter name the MACed text ends with when there is file data.
    """
    _check_length("uid", uid, UID_LENGTH)
    _check_key("meta_read_key", meta_read_key)
    pad = secrets.token_bytes(5) if padding is None else padding
    _check_length("padding", pad, 5)
    plain = bytes([PICC_DATA_TAG]) + uid + _counter_bytes(counter) + pad
    e = _aes_cbc(meta_read_key, _ZERO_IV, plain, encrypt=True)
    enc = None
    if file_data is not None:
        _check_blocks("file_data", file_data)
        enc_key = session_enc_key(file_read_key, uid, counter)
        enc = _aes_cbc(enc_key, _file_data_iv(enc_key, counter), file_data, encrypt=True)
    c = sdm_mac(session_mac_key(file_read_key, uid, counter), sdm_mac_input(enc, mac_param))
    return SunMessage(e=e, c=c, enc=enc)


def session_mac_key(file_read_key: bytes, uid: bytes, counter: int) -> bytes:
    """SesSDMFileReadMACKey (AN12196 §3.4).

    The session vector 3CC3 0001 0080 || UID(7) || ctr(3) is exactly 16 bytes,
    so the zero padding AN12196 asks for adds nothing.
    """
    _check_key("file_read_key", file_read_key)
    return _cmac(file_read_key, _SV2_MAC + uid + _counter_bytes(counter))


def session_enc_key(file_read_key: bytes, uid: bytes, counter: int) -> bytes:
    """SesSDMFileReadENCKey (AN12196 §3.3), for SDMENCFileData."""
    _check_key("file_read_key", file_read_key)
    return _cmac(file_read_key, _SV1_ENC + uid + _counter_bytes(counter))


def sdm_mac(session_key: bytes, mac_input: bytes) -> bytes:
    """SDMMAC: the 8 odd-indexed bytes (1, 3, ..., 15) of the full CMAC."""
    return _cmac(session_key, mac_input)[1::2]


def decrypt_file_data(file_read_key: bytes, uid: bytes, counter: int, enc: bytes) -> bytes:
    """Plain SDMENCFileData; the IV is AES(session ENC key, ctr || 0^13)."""
    _check_blocks("enc", enc)
    enc_key = session_enc_key(file_read_key, uid, counter)
    return _aes_cbc(enc_key, _file_data_iv(enc_key, counter), enc, encrypt=False)


def diversify_key(master: bytes, uid: bytes, system_identifier: bytes, key_no: int) -> bytes:
    """The AES-128 key ``key_no`` of tag ``uid``, per AN10922 §2.2.

    Diversification input M = UID(7) || key_no(1) || system identifier: the key
    number sits where AN10922's example puts the application identifier, so each
    of the tag's five keys differs. M is at most 31 bytes, so the system
    identifier is at most 23.
    """
    _check_length("uid", uid, UID_LENGTH)
    if key_no not in _KEY_NOS:
        raise InvalidInput(
            f"is {key_no}; expected 0..4 (the NTAG 424 DNA application has five keys)",
            field="key_no",
            value=key_no,
            expected="0..4",
        )
    return an10922_diversify(master, uid + bytes([key_no]) + system_identifier)


def an10922_diversify(master: bytes, diversification_input: bytes) -> bytes:
    """AN10922 §2.2 AES-128 diversification of ``master`` with input M (1..31 bytes).

    CMAC(master, 0x01 || M) always over 32 bytes: a shorter 0x01 || M is padded
    with 0x80 00.. and its last block masked with K2, else with K1. Plain
    CMAC differs when 0x01 || M fits in one block, hence this explicit form.
    """
    _check_key("master_key", master)
    if not 1 <= len(diversification_input) <= 31:
        raise InvalidInput(
            f"is {len(diversification_input)} bytes; expected 1..31 (AN10922 §2.2)",
            field="diversification_input",
            value=diversification_input.hex(),
            expected="1 to 31 bytes",
        )
    return _an10922(diversification_input, cmac_subkeys(master), lambda b: _aes_ecb(master, b))


def _an10922(
    diversification_input: bytes,
    subkeys: tuple[bytes, bytes],
    encrypt_block: Callable[[bytes], bytes],
) -> bytes:
    """AN10922 §2.2 over a checked input: the CMAC's CBC chain of two blocks, IV 0."""
    k1, k2 = subkeys
    data = bytes([_AN10922_AES128]) + diversification_input
    if len(data) < 32:
        data = (data + b"\x80").ljust(32, b"\x00")
        mask = k2
    else:
        mask = k1
    last = int.from_bytes(data[16:], "big") ^ int.from_bytes(mask, "big")
    first = int.from_bytes(encrypt_block(data[:16]), "big")
    return encrypt_block((last ^ first).to_bytes(16, "big"))


def cmac_subkeys(key: bytes) -> tuple[bytes, bytes]:
    """CMAC subkeys K1, K2 (NIST SP 800-38B §6.1), as AN10922 steps 1-4 show them."""
    block = _aes_ecb(key, bytes(16))
    k1 = _double(block)
    return k1, _double(k1)


def _double(block: bytes) -> bytes:
    value = int.from_bytes(block, "big") << 1
    if value >> 128:
        value = (value & ((1 << 128) - 1)) ^ _CMAC_RB
    return value.to_bytes(16, "big")


def _file_data_iv(enc_key: bytes, counter: int) -> bytes:
    return _aes_ecb(enc_key, _counter_bytes(counter) + bytes(13))


def _counter_bytes(counter: int) -> bytes:
    if not 0 <= counter <= COUNTER_MAX:
        raise InvalidInput(
            f"is {counter}; expected 0..{COUNTER_MAX} (SDMReadCtr is 3 bytes)",
            field="counter",
            value=counter,
            expected=f"0..{COUNTER_MAX}",
        )
    return counter.to_bytes(3, "little")


def _cmac(key: bytes, data: bytes) -> bytes:
    mac = CMAC(algorithms.AES(key))
    mac.update(data)
    return mac.finalize()


def _aes_cbc(key: bytes, iv: bytes, data: bytes, *, encrypt: bool) -> bytes:
    cipher = Cipher(algorithms.AES(key), modes.CBC(iv))
    op = cipher.encryptor() if encrypt else cipher.decryptor()
    return op.update(data) + op.finalize()


def _aes_ecb(key: bytes, block: bytes) -> bytes:
    op = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return op.update(block) + op.finalize()


def _hex_field(name: str, text: str, n_bytes: int | None) -> bytes:
    expected = "hex digits" if n_bytes is None else f"{2 * n_bytes} hex digits"
    if not _HEX.fullmatch(text):
        raise InvalidInput(
            f"{text!r} is not hexadecimal; expected {expected} (0-9, A-F)",
            field=name,
            value=text,
            expected=expected,
        )
    if len(text) % 2:
        raise InvalidInput(
            f"has an odd number of characters ({len(text)}); expected {expected}",
            field=name,
            value=text,
            expected=expected,
        )
    if n_bytes is not None and len(text) != 2 * n_bytes:
        raise InvalidInput(
            f"has {len(text)} characters; expected {expected} - copy the whole "
            "parameter from the tag URL",
            field=name,
            value=text,
            expected=expected,
        )
    return bytes.fromhex(text)


def _check_length(name: str, value: bytes, length: int) -> None:
    if len(value) != length:
        raise InvalidInput(
            f"is {len(value)} bytes; expected {length}",
            field=name,
            value=value.hex(),
            expected=f"{length} bytes",
        )


def _check_blocks(name: str, data: bytes) -> None:
    if not data or len(data) % 16:
        raise InvalidInput(
            f"is {len(data)} bytes; expected whole 16-byte AES blocks (32 hex digits each)",
            field=name,
            value=data.hex().upper(),
            expected="a non-zero multiple of 16 bytes",
        )


def _check_key(name: str, key: bytes) -> None:
    # The key itself never goes into the error.
    if len(key) != KEY_LENGTH:
        raise InvalidInput(
            f"is {len(key)} bytes; expected a {KEY_LENGTH}-byte AES-128 key",
            field=name,
            expected=f"{KEY_LENGTH} bytes",
        )
