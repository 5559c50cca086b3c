"""Verdicts on scans: authentic, not authentic, replay, possible clone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mics.errors import InvalidInput
from mics.passport.authenticity import (
    MAX_PLAUSIBLE_SPEED_KMH,
    PLACE_TOLERANCE_KM,
    GeoPoint,
    LastSeen,
    Verdict,
    haversine_km,
    judge_scan,
    judge_tag_scan,
    recorded_verdict,
)
from mics.passport.sun import SunReading

UID = bytes.fromhex("04DE5F1EACC040")
OTHER_UID = bytes.fromhex("04958CAA5C5E80")
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
MILAN = GeoPoint(45.4642, 9.1900)
ROME = GeoPoint(41.9028, 12.4964)
NEW_YORK = GeoPoint(40.7128, -74.0060)


def reading(counter: int, uid: bytes = UID) -> SunReading:
    return SunReading(uid=uid, counter=counter)


def test_verdict_values_are_the_api_strings() -> None:
    assert [v.value for v in Verdict] == ["authentic", "not_authentic", "replay", "possible_clone"]


def test_failed_mac_is_not_authentic_and_changes_nothing() -> None:
    judgement = judge_scan(None, UID, LastSeen(3, T0), T0, None)
    assert judgement.verdict is Verdict.NOT_AUTHENTIC
    assert judgement.counter is None
    assert judgement.last_seen is None


def test_tag_of_another_item_is_not_authentic() -> None:
    judgement = judge_scan(reading(9, OTHER_UID), UID, None, T0, None)
    assert judgement.verdict is Verdict.NOT_AUTHENTIC
    assert "04958CAA5C5E80" in judgement.reason
    assert judgement.last_seen is None


def test_first_scan_is_authentic_and_is_remembered() -> None:
    judgement = judge_scan(reading(1), UID, None, T0, MILAN)
    assert judgement.verdict is Verdict.AUTHENTIC
    assert judgement.last_seen == LastSeen(counter=1, at=T0, place=MILAN)


def test_unbound_scan_skips_the_uid_check() -> None:
    assert judge_scan(reading(1, OTHER_UID), None, None, T0, None).verdict is Verdict.AUTHENTIC


def test_counter_equal_to_last_is_a_replay() -> None:
    judgement = judge_scan(reading(7), UID, LastSeen(7, T0), T0 + timedelta(days=1), None)
    assert judgement.verdict is Verdict.REPLAY
    assert judgement.counter == 7
    assert judgement.last_seen is None


def test_counter_below_last_is_a_replay() -> None:
    judgement = judge_scan(reading(6), UID, LastSeen(7, T0), T0 + timedelta(days=1), None)
    assert judgement.verdict is Verdict.REPLAY


def test_counter_one_above_last_is_authentic() -> None:
    judgement = judge_scan(reading(8), UID, LastSeen(7, T0), T0 + timedelta(minutes=1), None)
    assert judgement.verdict is Verdict.AUTHENTIC
    assert judgement.last_seen == LastSeen(8, T0 + timedelta(minutes=1), None)


def test_milan_then_new_york_an_hour_later_is_a_possible_clone() -> None:
    last = LastSeen(4, T0, MILAN)
    judgement = judge_scan(reading(5), UID, last, T0 + timedelta(hours=1), NEW_YORK)
    assert judgement.verdict is Verdict.POSSIBLE_CLONE
    assert judgement.distance_km == pytest.approx(6470, rel=0.01)
    assert judgement.speed_kmh is not None
    assert judgement.speed_kmh > MAX_PLAUSIBLE_SPEED_KMH
    # The counter moved forward, so it is still recorded to keep replays detectable.
    assert judgement.last_seen == LastSeen(5, T0 + timedelta(hours=1), NEW_YORK)


def test_milan_then_new_york_a_day_later_is_authentic() -> None:
    last = LastSeen(4, T0, MILAN)
    judgement = judge_scan(reading(5), UID, last, T0 + timedelta(days=1), NEW_YORK)
    assert judgement.verdict is Verdict.AUTHENTIC


def test_speed_limit_boundary_between_milan_and_rome() -> None:
    distance = haversine_km(MILAN, ROME)
    travel = distance - PLACE_TOLERANCE_KM
    # Just slower than the limit: authentic; just faster: possible clone.
    slow = timedelta(hours=travel / 900.0 * 1.01)
    fast = timedelta(hours=travel / 900.0 * 0.99)
    last = LastSeen(1, T0, MILAN)
    assert judge_scan(reading(2), UID, last, T0 + slow, ROME).verdict is Verdict.AUTHENTIC
    assert judge_scan(reading(2), UID, last, T0 + fast, ROME).verdict is Verdict.POSSIBLE_CLONE


def test_max_speed_is_a_parameter() -> None:
    last = LastSeen(1, T0, MILAN)
    now = T0 + timedelta(hours=3)  # ~427 km beyond the tolerance in 3 h: ~142 km/h
    assert judge_scan(reading(2), UID, last, now, ROME).verdict is Verdict.AUTHENTIC
    by_car = judge_scan(reading(2), UID, last, now, ROME, max_speed_kmh=130.0)
    assert by_car.verdict is Verdict.POSSIBLE_CLONE


def test_nearby_places_within_location_error_are_never_a_clone() -> None:
    nearby = GeoPoint(45.70, 9.67)  # ~45 km from Milan, scanned at the same second
    assert haversine_km(MILAN, nearby) < PLACE_TOLERANCE_KM
    judgement = judge_scan(reading(2), UID, LastSeen(1, T0, MILAN), T0, nearby)
    assert judgement.verdict is Verdict.AUTHENTIC


def test_far_places_at_the_same_moment_are_a_possible_clone() -> None:
    judgement = judge_scan(reading(2), UID, LastSeen(1, T0, MILAN), T0, ROME)
    assert judgement.verdict is Verdict.POSSIBLE_CLONE
    assert judgement.speed_kmh is None


def test_missing_place_skips_the_travel_check() -> None:
    judgement = judge_scan(reading(2), UID, LastSeen(1, T0, MILAN), T0, None)
    assert judgement.verdict is Verdict.AUTHENTIC
    assert judgement.distance_km is None


def test_haversine_known_distances() -> None:
    assert haversine_km(MILAN, MILAN) == 0.0
    assert haversine_km(MILAN, ROME) == pytest.approx(477, abs=3)
    # A quarter of a great circle: pole to equator.
    quarter = haversine_km(GeoPoint(90.0, 0.0), GeoPoint(0.0, 0.0))
    assert quarter == pytest.approx(10007.5, abs=0.5)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        judge_scan(reading(1), UID, None, datetime(2025, 3, 1, 9, 0), None)
    assert caught.value.field == "now"
    with pytest.raises(InvalidInput) as caught:
        judge_scan(reading(2), UID, LastSeen(1, datetime(2025, 3, 1)), T0, None)
    assert caught.value.field == "last.at"


@pytest.mark.parametrize(
    ("lat", "lon", "field"), [(91.0, 0.0, "latitude"), (0.0, -181.0, "longitude")]
)
def test_geopoint_rejects_impossible_coordinates(lat: float, lon: float, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        GeoPoint(lat, lon)
    assert caught.value.field == field


# --- a scan of an item's URL, as recorded (the rules passport.scans applies) -------------------


def test_a_tag_registered_to_no_item_is_not_authentic_and_moves_no_counter() -> None:
    judged = judge_tag_scan(reading(3), "", UID.hex().upper(), None, None, T0, None)
    assert judged.verdict is Verdict.NOT_AUTHENTIC
    assert judged.reason == f"tag {UID.hex().upper()} is not registered to any item"
    assert judged.last_seen is None


def test_an_item_without_a_tag_is_not_authentic_whatever_tag_was_read() -> None:
    judged = judge_tag_scan(reading(3), "", None, UID.hex().upper(), None, T0, None)
    assert judged.verdict is Verdict.NOT_AUTHENTIC
    assert "this item has no tag" in judged.reason
    assert judged.last_seen is None


def test_a_failed_mac_says_why() -> None:
    judged = judge_tag_scan(None, "SDMMAC mismatch", UID.hex().upper(), None, None, T0, None)
    assert judged.verdict is Verdict.NOT_AUTHENTIC
    assert judged.reason.endswith(": SDMMAC mismatch")


def test_a_genuine_tap_of_a_stolen_item_says_stolen_and_a_lost_race_is_a_replay() -> None:
    judged = judge_tag_scan(reading(8), "", UID.hex().upper(), UID.hex().upper(), None, T0, None)
    assert judged.verdict is Verdict.AUTHENTIC
    assert recorded_verdict(judged, None) == ("authentic", judged.reason)
    assert recorded_verdict(judged, "stolen")[0] == "stolen"
    assert recorded_verdict(judged, "lost")[0] == "lost"
    verdict, reason = recorded_verdict(judged, "stolen", won=False)
    assert verdict == "replay"
    assert "counter 8 was accepted for another scan" in reason
    clone = judge_scan(reading(9), UID, LastSeen(8, T0, MILAN), T0 + timedelta(hours=1), NEW_YORK)
    assert recorded_verdict(clone, "stolen")[0] == "possible_clone"  # only a genuine tap says it
