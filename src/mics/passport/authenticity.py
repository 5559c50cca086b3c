"""The verdict on one scan of an item's NFC tag: authentic, replayed or cloned.

A SUN message (``mics.passport.sun``) proves that a tag holding the right key
produced it at tap count ``counter``; it does not prove that the message is new.
As AN12196 §3.4 notes, a stateless verifier accepts a copied URL forever, so the
caller keeps, per tag, the last accepted counter, time and place (``LastSeen``)
and this module compares the new scan with it:

- ``not_authentic``: the MAC failed (no reading) or the tag is not the item's;
- ``replay``: the counter did not increase - the URL was copied and reused;
- ``possible_clone``: the last and this scan lie farther apart than anything
  could travel in the time between them (great-circle distance, haversine);
- ``authentic``: otherwise.

A scan of an item's URL is judged whole by ``judge_tag_scan`` (the tag read must
be the item's, registered) and recorded as ``recorded_verdict`` says: a genuine
tap of an item its owner reported ``stolen`` or ``lost`` says so, and a tap whose
counter another scan stored first (two requests with one URL at the same moment)
is a replay. Pure functions, no I/O: ``passport.scans`` reads and stores.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from mics.errors import InvalidInput
from mics.passport.sun import SunReading

# A genuine item travels with its owner, and the fastest way people travel is
# by airliner: long-haul jets cruise at about Mach 0.85, roughly 900 km/h
# (e.g. Boeing 787, Airbus A350). Two scans implying a faster trip cannot both
# come from one tag.
MAX_PLAUSIBLE_SPEED_KMH = 900.0

# Scan locations come from browser geolocation, which without GPS is derived
# from Wi-Fi or IP address and is often only right to the city. Distances up to
# this much are treated as "same place", so two taps a minute apart are not
# flagged over a location error.
PLACE_TOLERANCE_KM = 50.0

# IUGG mean Earth radius R1, the usual radius for haversine distances.
EARTH_RADIUS_KM = 6371.0088


class Verdict(StrEnum):
    AUTHENTIC = "authentic"
    NOT_AUTHENTIC = "not_authentic"
    REPLAY = "replay"
    POSSIBLE_CLONE = "possible_clone"


# The owner's reports that a genuine tap of the item announces (recorded verdicts too).
STOLEN = "stolen"
LOST = "lost"


@dataclass(frozen=True)
class GeoPoint:
    """A WGS 84 position in decimal degrees."""

    latitude: float
    longitude: float

    def __post_init__(self) -> None:
        if not -90.0 <= self.latitude <= 90.0:
            raise InvalidInput(
                f"is {self.latitude}; expected degrees between -90 and 90",
                field="latitude",
                value=self.latitude,
                expected="-90..90",
            )
        if not -180.0 <= self.longitude <= 180.0:
            raise InvalidInput(
                f"is {self.longitude}; expected degrees between -180 and 180",
                field="longitude",
                value=self.longitude,
                expected="-180..180",
            )


@dataclass(frozen=True)
class LastSeen:
    """The last accepted scan of a tag: what the caller stores between scans."""

    counter: int
    at: datetime
    place: GeoPoint | None = None


@dataclass(frozen=True)
class Judgement:
    """A verdict, why, and what to remember about the tag afterwards.

    ``last_seen`` is the state to store for the next scan: the new scan when its
    counter moved forward (authentic or possible clone, so that the counter never
    goes back), ``None`` when the stored state must stay as it was.
    """

    verdict: Verdict
    reason: str
    counter: int | None
    last_seen: LastSeen | None = None
    distance_km: float | None = None
    speed_kmh: float | None = None  # travel beyond the place tolerance per hour; None at 0 h


def judge_scan(
    reading: SunReading | None,
    expected_uid: bytes | None,
    last: LastSeen | None,
    now: datetime,
    place: GeoPoint | None,
    max_speed_kmh: float = MAX_PLAUSIBLE_SPEED_KMH,
    *,
    place_tolerance_km: float = PLACE_TOLERANCE_KM,
) -> Judgement:
    """Judge one scan.

    ``reading`` is ``None`` when ``verify_sun`` raised; ``expected_uid`` is the
    tag bound to the scanned item (``None`` when the item is looked up by the
    tag itself); ``now`` and ``last.at`` must be timezone-aware.
    """
    _check_aware("now", now)
    if reading is None:
        return Judgement(
            Verdict.NOT_AUTHENTIC,
            "the tag's SUN message did not verify (bad MAC or unknown keys)",
            counter=None,
        )
    if expected_uid is not None and reading.uid != expected_uid:
        return Judgement(
            Verdict.NOT_AUTHENTIC,
            f"tag {reading.uid.hex().upper()} is not the tag bound to this item "
            f"({expected_uid.hex().upper()})",
            counter=reading.counter,
        )
    seen = LastSeen(counter=reading.counter, at=now, place=place)
    if last is None:
        return Judgement(
            Verdict.AUTHENTIC, "first scan of this tag", reading.counter, last_seen=seen
        )
    _check_aware("last.at", last.at)
    if reading.counter <= last.counter:
        return Judgement(
            Verdict.REPLAY,
            f"counter {reading.counter} is not above the last accepted counter "
            f"{last.counter}: this URL was read before",
            counter=reading.counter,
        )
    if last.place is None or place is None:
        return Judgement(
            Verdict.AUTHENTIC,
            "counter advanced; no place to compare",
            reading.counter,
            last_seen=seen,
        )
    distance = haversine_km(last.place, place)
    hours = max((now - last.at).total_seconds(), 0.0) / 3600.0
    # Only the distance beyond the location error counts as travel.
    travelled = max(distance - place_tolerance_km, 0.0)
    speed = None if hours == 0.0 else travelled / hours
    if travelled > 0.0 and (speed is None or speed > max_speed_kmh):
        return Judgement(
            Verdict.POSSIBLE_CLONE,
            f"scanned {distance:.0f} km from the last scan {hours:.2f} h earlier: "
            f"faster than {max_speed_kmh:.0f} km/h",
            counter=reading.counter,
            last_seen=seen,
            distance_km=distance,
            speed_kmh=speed,
        )
    return Judgement(
        Verdict.AUTHENTIC,
        f"counter advanced; {distance:.0f} km in {hours:.2f} h is plausible",
        counter=reading.counter,
        last_seen=seen,
        distance_km=distance,
        speed_kmh=speed,
    )


def judge_tag_scan(
    reading: SunReading | None,
    failure: str,
    item_uid: str | None,
    read_uid: str | None,
    last: LastSeen | None,
    now: datetime,
    place: GeoPoint | None,
) -> Judgement:
    """Judge a scan of an item's URL: ``judge_scan`` and the tag's registration.

    ``failure`` is why the SUN message did not verify (``reading`` None);
    ``item_uid`` the item's tag (upper-case hex, None: the item has none);
    ``read_uid`` the tag read when it is registered to some item (None: it is not);
    ``last`` what the read tag's last accepted scan left. A verdict that must not
    move the tag's counter carries no ``last_seen``.
    """
    judgement = judge_scan(
        reading, None if item_uid is None else bytes.fromhex(item_uid), last, now, place
    )
    if reading is None:
        return replace(judgement, reason=f"{judgement.reason}: {failure}")
    if read_uid is None:
        reason = f"tag {reading.uid.hex().upper()} is not registered to any item"
    elif item_uid is None:
        # which item the tag belongs to is not the scanner's business
        reason = f"this item has no tag, but tag {read_uid} was read"
    else:
        return judgement
    return replace(judgement, verdict=Verdict.NOT_AUTHENTIC, reason=reason, last_seen=None)


def recorded_verdict(
    judgement: Judgement, report: str | None, *, won: bool = True
) -> tuple[str, str]:
    """The verdict and reason recorded for a judged scan.

    ``won``: whether the scan stored its counter (a judgement with ``last_seen``);
    False when another scan stored the same or a higher counter first, which makes
    this one a replay. ``report``: the owner's lost/stolen report, which a genuine
    tap announces.
    """
    if not won:
        return Verdict.REPLAY.value, (
            f"counter {judgement.counter} was accepted for another scan "
            "at the same moment: this URL was used twice"
        )
    if judgement.verdict is Verdict.AUTHENTIC and report in (STOLEN, LOST):
        return report, f"the tag is genuine, but this item was reported {report} by its owner"
    return judgement.verdict.value, judgement.reason


def haversine_km(a: GeoPoint, b: GeoPoint) -> float:
    """Great-circle distance between two points on a spherical Earth."""
    phi1, phi2 = math.radians(a.latitude), math.radians(b.latitude)
    dphi = phi2 - phi1
    dlmb = math.radians(b.longitude - a.longitude)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def _check_aware(name: str, moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidInput(
            f"is {moment.isoformat()} without a time zone; expected an aware datetime "
            "(use datetime.now(UTC) or attach tzinfo=UTC to stored times)",
            field=name,
            value=moment.isoformat(),
            expected="a timezone-aware datetime",
        )
