"""Named dependencies of the API: the database and the settings of this app."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from mics.config import Settings
from mics.db import Database
from mics.registry.keys import Principal, authenticate
from mics.trace.query import Viewer
from mics.trace.visibility import viewer_for


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


DatabaseDep = Annotated[Database, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_principal(request: Request) -> Principal:
    """The partner behind ``Authorization: Bearer <key>``, or 401."""
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer":
        key = ""
    return authenticate(get_db(request), key.strip() or None)


def get_caller(request: Request) -> Principal | None:
    """The partner behind the key, None without ``Authorization``; 401 for a bad key."""
    if "authorization" not in request.headers:
        return None
    return get_principal(request)


def get_viewer(request: Request) -> Viewer:
    """What the caller may read: everything for an operator key, else its own events."""
    principal = get_principal(request)
    if principal.role in ("operator", "authority"):
        return Viewer(partner=None)
    return viewer_for(get_db(request), principal.partner)


PrincipalDep = Annotated[Principal, Depends(get_principal)]
CallerDep = Annotated[Principal | None, Depends(get_caller)]
ViewerDep = Annotated[Viewer, Depends(get_viewer)]
