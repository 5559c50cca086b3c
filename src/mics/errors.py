"""The one exception tree of MICS.

::

    MicsError                the base: a message, an HTTP status, the context the API shows
     +-- InvalidInput        bad data from a user: names the field, the value, what was expected
     |    +-- TooLarge                       more than a request may carry (HTTP 413)
     |    +-- trace.validate.DocumentInvalid an EPCIS document's problems, all of them
     |    +-- trace.identifier_syntax.InvalidIdentifier  a malformed EPC URN or Digital Link
     |    +-- ledger.witness.Rollback        a checkpoint smaller than one cosigned (HTTP 400)
     +-- NotFound            an id or key that does not exist (HTTP 404)
     +-- Conflict            a unique key already taken (duplicate serial, GTIN, ...) (HTTP 409)
     |    +-- custody.ledger.OverClaim       a claim beyond the quantity available
     |    +-- ledger.witness.OldSizeMismatch not the size the witness last cosigned
     +-- Unauthorized        missing or wrong credentials (HTTP 401)
     +-- Forbidden           known credentials without the role the action needs (HTTP 403)
     +-- TamperDetected      stored data disagrees with what was signed or logged (HTTP 409)
     +-- VerificationError   a proof, signature or MAC that does not check (HTTP 422)
     |    +-- ledger.witness.Fork            a checkpoint inconsistent with one cosigned
     |         +-- ledger.witness.SameSizeFork  the same size, another root (HTTP 409)
     +-- TooManyRequests     a client or a tag over its rate (HTTP 429, with Retry-After)
     +-- Unavailable         busy or failed for now, nothing kept (HTTP 503, maybe Retry-After)
          +-- storage.write_gate.GateBusy    the SQLite write gate is held and the caller
                                             asked not to wait; caught inside MICS (the
                                             scan path then waits on a thread)

``tests/test_errors.py`` checks that this drawing and the classes agree.
The API maps each to an RFC 9457 ``application/problem+json`` response
(``status`` above); the CLI prints one line, ``error: <field>: <what is wrong>`` with
the value received and what was expected when the error names them, and exits 1
(``mics.cli.main``).
"""

from __future__ import annotations

import math
from typing import Any


class MicsError(Exception):
    """Base of every error MICS raises on purpose."""

    status: int = 500
    title: str = "MICS error"

    def __init__(self, message: str, *, retry_after: int | None = None, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.context: dict[str, Any] = context
        # whole seconds after which the same request may succeed: the API sends it as
        # the Retry-After header (RFC 9110 §10.2.3)
        self.retry_after = retry_after

    def problem(self) -> dict[str, Any]:
        """This error as an RFC 9457 problem details object (without ``instance``)."""
        slug = type(self).__name__
        body: dict[str, Any] = {
            "type": f"https://mics.example/problems/{slug}",
            "title": self.title,
            "status": self.status,
            "detail": self.message,
        }
        body.update({k: v for k, v in self.context.items() if v is not None})
        return body


class InvalidInput(MicsError):
    """Input that breaks a rule: ``field`` names where, ``value`` what was received."""

    status = 422
    title = "Invalid input"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        value: Any = None,
        expected: str | None = None,
        **context: Any,
    ) -> None:
        self.reason = message
        if field is not None and not message.startswith(field):
            message = f"{field}: {message}"
        super().__init__(
            message,
            field=field,
            value=_jsonable(value),
            expected=expected,
            **context,
        )
        self.field = field
        self.value = value
        self.expected = expected


class TooLarge(InvalidInput):
    """A document beyond what one request may carry (HTTP 413)."""

    status = 413
    title = "Payload too large"


class NotFound(MicsError):
    status = 404
    title = "Not found"


class Conflict(MicsError):
    status = 409
    title = "Conflict"


class Unauthorized(MicsError):
    status = 401
    title = "Unauthorized"


class Forbidden(MicsError):
    status = 403
    title = "Forbidden"


class TamperDetected(MicsError):
    status = 409
    title = "Tamper detected"


class TooManyRequests(MicsError):
    """A client (or what it asks about) went over its rate: wait ``retry_after`` seconds."""

    status = 429
    title = "Too many requests"


class Unavailable(MicsError):
    """The request could not be completed now and nothing of it was kept: try again."""

    status = 503
    title = "Service unavailable"


class VerificationError(MicsError):
    """A proof, signature or MAC failed: the message says what was expected and found."""

    status = 422
    title = "Verification failed"


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)  # JSON has no inf or nan
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return repr(value)
