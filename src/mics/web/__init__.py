"""The web UI: server-rendered Jinja2 pages, one stylesheet, no build step."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def static_dir() -> Path:
    return Path(str(resources.files("mics.web") / "static"))


def templates_dir() -> Path:
    return Path(str(resources.files("mics.web") / "templates"))


__all__ = ["static_dir", "templates_dir"]
