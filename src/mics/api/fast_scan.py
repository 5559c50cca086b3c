"""A tag scan answered without FastAPI's routing, middleware and injection.

``MicsApp`` (``mics.api``) sends ``GET /01/...?e=..&c=..`` here before the router:
the same handler (``api.links.resolve``) and the same problem responses as the
routed request, without the framework's ~0.2 ms a request (a third of a scan's
CPU, measured with py-spy under bench/scan.py).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from mics.api import problems
from mics.api.links import resolve
from mics.errors import MicsError

__all__ = ["fast_scan", "takes_scan"]


def takes_scan(scope: Scope) -> bool:
    """Whether ``scope`` is a tag scan ``fast_scan`` answers: GET /01/...?e=..&c=.."""
    query: bytes = scope.get("query_string", b"")
    return (
        scope["type"] == "http"
        and scope["method"] == "GET"
        and scope["path"].startswith("/01/")
        and (query.startswith(b"e=") or b"&e=" in query)
        and (query.startswith(b"c=") or b"&c=" in query)
    )


async def fast_scan(scope: Scope, receive: Receive, send: Send) -> None:
    """A tag scan answered without FastAPI's routing, middleware and injection.

    The same handler (``resolve``) and the same problem responses as the routed
    request; only the framework's ~0.2 ms a request (a third of a scan's CPU,
    measured with py-spy under bench/scan.py) is left out. ``MicsApp`` calls it.
    """
    request = Request(scope, receive)
    try:
        response = await resolve(scope["path"][len("/01/") :], request)
    except MicsError as error:
        response = problems.mics_error_response(request, error)
    except OverflowError as error:
        response = problems.overflow_response(request, error)
    await response(scope, receive, send)
