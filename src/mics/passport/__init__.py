"""Product passports: the data carrier on the item and the checks behind it.

Pure (named in ``__all__`` below):

- ``sun``: NXP NTAG 424 DNA Secure Unique NFC messages (AN12196) - verify a
  tap's ``e``/``c`` parameters, derive per-tag keys from one master key
  (AN10922), and simulate a tag for tests and demos.
- ``authenticity``: the verdict on a scan - authentic, not authentic, replayed
  URL or possible clone (impossible travel between scans).
- ``digital_link``: GS1 Digital Link URIs (``/01/{gtin}/21/{serial}``), GTIN
  check digits and the EPC ``urn:epc:id:sgtin`` identity of an item.

Services and their stores:

- ``view``: the passport JSON (EU ESPR data, UNTP DPP) from registry, trace,
  footprint; ``passport_cache`` keeps its slow part per product and item, and
  ``snapshots`` keeps those in the database across restarts;
- ``chain``: the subject a Digital Link names and its chain of custody;
- ``resolver``: GS1 Digital Link resolution, linksets (RFC 9264), recalls;
- ``scans``: a tag tap verified, judged (``authenticity``) and recorded;
  ``verdict_events`` publishes recorded verdicts as EPCIS events (the outbox);
  ``scan_limits``, ``rejected``: abuse limits, refused scans;
- ``tags``: NFC tags, their master key and read points; ``ownership``: packaging
  secrets, owners and transfers; ``store``: the tables of both (the area's only
  table module);
- ``access``: ESPR access tiers; ``issue``, ``credential``, ``data_integrity``,
  ``issuer_keys``: the passport as a W3C Verifiable Credential 2.0;
- ``labels``, ``demo``: printed labels, demo data.
"""

from mics.passport.authenticity import (
    MAX_PLAUSIBLE_SPEED_KMH,
    PLACE_TOLERANCE_KM,
    GeoPoint,
    Judgement,
    LastSeen,
    Verdict,
    haversine_km,
    judge_scan,
)
from mics.passport.digital_link import (
    DEFAULT_COMPANY_PREFIX_LENGTH,
    GS1_RESOLVER,
    DigitalLink,
    gtin_is_valid,
    normalise_gtin,
    parse_digital_link,
)
from mics.passport.sun import (
    SDM_FILE_READ_KEY_NO,
    SDM_META_READ_KEY_NO,
    SunMasterKey,
    SunMessage,
    SunReading,
    an10922_diversify,
    diversify_key,
    parse_enc_param,
    parse_sun_params,
    sdm_mac_input,
    simulate_sun,
    verify_plain_sun,
    verify_sun,
)

__all__ = [
    "DEFAULT_COMPANY_PREFIX_LENGTH",
    "GS1_RESOLVER",
    "MAX_PLAUSIBLE_SPEED_KMH",
    "PLACE_TOLERANCE_KM",
    "SDM_FILE_READ_KEY_NO",
    "SDM_META_READ_KEY_NO",
    "DigitalLink",
    "GeoPoint",
    "Judgement",
    "LastSeen",
    "SunMasterKey",
    "SunMessage",
    "SunReading",
    "Verdict",
    "an10922_diversify",
    "diversify_key",
    "gtin_is_valid",
    "haversine_km",
    "judge_scan",
    "normalise_gtin",
    "parse_digital_link",
    "parse_enc_param",
    "parse_sun_params",
    "sdm_mac_input",
    "simulate_sun",
    "verify_plain_sun",
    "verify_sun",
]
