"""Named dependencies of the API: the database and the settings of this app."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

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


# How /openapi.json names the key: routes that depend on it declare this security scheme,
# and ``mics.api.openapi`` documents their 401 and 403 problems.
KEY_SCHEME = "partnerKey"
bearer = HTTPBearer(
    scheme_name=KEY_SCHEME,
    bearerFormat="mics_<prefix>_<secret>",
    description="a partner API key (`mics keys create`); its role decides what it may do",
    auto_error=False,
)


def get_principal(request: Request) -> Principal:
    """The partner behind ``Authorization: Bearer <key>``, or 401."""
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer":
        key = ""
    return authenticate(get_db(request), key.strip() or None)


def _keyed(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> Principal:
    """``get_principal`` as a dependency, so that the route declares the key scheme."""
    return get_principal(request)


PrincipalDep = Annotated[Principal, Depends(_keyed)]


def get_viewer(request: Request, principal: PrincipalDep) -> Viewer:
    """What the caller may read: everything for an operator key, else its own events."""
    if principal.role in ("operator", "authority"):
        return Viewer(partner=None)
    return viewer_for(get_db(request), principal.partner)


ViewerDep = Annotated[Viewer, Depends(get_viewer)]
# For routes that read a key only when one is sent (passport tiers): the scheme, optional.
OPTIONAL_KEY: dict[str, Any] = {"security": [{}, {KEY_SCHEME: []}]}
