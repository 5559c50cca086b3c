"""Named dependencies of the API: the database, the settings, and who is calling.

Who may call what is decided here, once, rather than in each handler
(``require_role``): a key's role says what it is for (``mics.registry.api_keys``),
whatever partner it belongs to. A brand's ``witness`` key cosigns checkpoints;
it does not edit the brand's products. Ownership (the brand of a product, the
partner of its own record) is checked by the handler on top, with the role
already known. What a caller may *read* of a record is ``mics.passport.access``
(``reader_tier``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from mics.config import Settings
from mics.db import Database
from mics.passport import access
from mics.passport.prebuilder import Prebuilder
from mics.registry.api_keys import Principal, authenticate
from mics.trace.query import Viewer
from mics.trace.visibility import viewer_for

# Roles by what their keys are for (README, "Security: access model").
WRITERS = ("partner", "operator")  # registry records, items, tags: their own, or any (operator)
EVENT_READERS = ("partner", "operator", "authority")  # EPCIS: own events, or every event
CAPTURERS = ("partner", "operator", "authority")  # an authority captures recalls, inspections
LOG_SIGNERS = ("operator", "witness")  # a fresh checkpoint on demand (POST /ledger/checkpoint)
# Market surveillance (Reg. (EU) 2019/1020 Art. 14(4)(a), ESPR Art. 10-11) may require
# supply-chain information from any economic operator: authority keys read every event.
READS_EVERY_EVENT = ("operator", "authority")


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def prebuilder(request: Request) -> Prebuilder | None:
    """The app's passport prebuilder (``mics.passport.prebuilder``): handlers tell it, after
    their commit, that a tag was enrolled or events were captured. None in an app without."""
    found: Prebuilder | None = getattr(request.app.state, "prebuilder", None)
    return found


DatabaseDep = Annotated[Database, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


# Declares the bearer scheme in the OpenAPI document (the Authorize button of /docs);
# routes that depend on a key declare it, and ``mics.api.openapi`` documents their 401 and
# 403 problems. get_principal reads the header itself, so it can also be called directly.
KEY_SCHEME = "partnerKey"
bearer = HTTPBearer(
    scheme_name=KEY_SCHEME,
    bearerFormat="mics_<prefix>_<secret>",
    description="a partner API key (`mics keys create PARTNER --role R`); its role decides "
    "what it may do",
    auto_error=False,
)


def get_principal(
    request: Request,
    _declared: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)] = None,
) -> Principal:
    """The partner behind ``Authorization: Bearer <key>``, or 401."""
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer":
        key = ""
    return authenticate(get_db(request), key.strip() or None)


def get_reader(request: Request) -> Principal | None:
    """The caller of a route the public may read too: None without a key (a bad key is 401).

    The key is optional here: ``mics.api.openapi.declare_optional_keys`` writes that into
    ``/openapi.json`` for every route that depends on this."""
    if "authorization" not in request.headers:
        return None
    return get_principal(request)


def require_role(*roles: str) -> Any:
    """A dependency answering the caller's principal when its key has one of ``roles``.

    No key or a bad one is 401, a key of another role 403 naming the roles needed.
    """

    def principal_in_role(
        request: Request,
        _declared: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)] = None,
    ) -> Principal:
        return get_principal(request).require(*roles)

    return Depends(principal_in_role)


def reader_tier(reader: Principal | None, owner: str | None = None) -> str:
    """The access tier ``reader`` reads a record of ``owner`` at (``passport.access``)."""
    if reader is None:
        return "public"
    return access.reader_tier(reader.role, owns=owner is not None and reader.partner == owner)


def get_viewer(
    request: Request,
    _declared: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)] = None,
) -> Viewer:
    """What the caller may read of the EPCIS repository: every event for operator and
    authority keys, its own events (and those naming it) for partner keys, 403 for others."""
    return event_viewer(get_db(request), get_principal(request))


def event_viewer(db: Database, principal: Principal) -> Viewer:
    """What ``principal`` may read of the EPCIS repository (403 for roles that read none):
    the rule of ``/epcis`` and of the web pages alike."""
    principal.require(*EVENT_READERS)
    if principal.role in READS_EVERY_EVENT:
        return Viewer(partner=None)
    return viewer_for(db, principal.partner)


def sees_every_capture_job(principal: Principal) -> bool:
    """Operator keys read every capture job; other keys their own partner's."""
    return principal.role == "operator"


PrincipalDep = Annotated[Principal, Depends(get_principal)]
ReaderDep = Annotated[Principal | None, Depends(get_reader)]
ViewerDep = Annotated[Viewer, Depends(get_viewer)]
WriterDep = Annotated[Principal, require_role(*WRITERS)]
OperatorDep = Annotated[Principal, require_role("operator")]
WitnessDep = Annotated[Principal, require_role("witness")]
CapturerDep = Annotated[Principal, require_role(*CAPTURERS)]
EventReaderDep = Annotated[Principal, require_role(*EVENT_READERS)]
LogSignerDep = Annotated[Principal, require_role(*LOG_SIGNERS)]
# For routes that read a key only when one is sent (passport tiers): the scheme, optional.
OPTIONAL_KEY: dict[str, Any] = {"security": [{}, {KEY_SCHEME: []}]}
