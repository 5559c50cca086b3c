"""Settings from the environment: defaults, and bad values named."""

from __future__ import annotations

import pytest

from mics.config import Settings
from mics.errors import InvalidInput


def test_limits_have_defaults_and_bad_values_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MICS_COMPUTE_WORKERS", raising=False)
    monkeypatch.delenv("MICS_TRUSTED_PROXIES", raising=False)
    settings = Settings.from_env()
    assert (settings.compute_workers, settings.trusted_proxies) == (1, "127.0.0.1,::1")
    monkeypatch.setenv("MICS_COMPUTE_WORKERS", "3")
    monkeypatch.setenv("MICS_TRUSTED_PROXIES", " 10.0.0.5 ")
    settings = Settings.from_env()
    assert (settings.compute_workers, settings.trusted_proxies) == (3, "10.0.0.5")
    for bad in ("0", "many", "65"):
        monkeypatch.setenv("MICS_COMPUTE_WORKERS", bad)
        with pytest.raises(InvalidInput, match="MICS_COMPUTE_WORKERS") as raised:
            Settings.from_env()
        assert raised.value.value == bad
