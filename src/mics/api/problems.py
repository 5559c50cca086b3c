"""RFC 9457 problem details for every error the API returns."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import Scope

from mics.errors import MicsError

PROBLEM = "application/problem+json"


def problem_response(body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=int(body["status"]), media_type=PROBLEM, headers=headers)


def answer(
    request: Request, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Response:
    """The problem ``body`` for this request: a page for a browser asking for a page
    (``mics.web.error_page``), else ``application/problem+json``."""
    from mics.web.error_page import error_page, wants_page

    if wants_page(request):
        return error_page(request, body, headers)
    return problem_response(body, headers)


def mics_error_response(request: Request, error: MicsError) -> Response:
    body = error.problem()
    body["instance"] = request.url.path
    headers = {"WWW-Authenticate": 'Bearer realm="mics"'} if error.status == 401 else {}
    if error.retry_after is not None:
        headers["Retry-After"] = str(error.retry_after)
    return answer(request, body, headers or None)


def overflow_response(request: Request, error: OverflowError) -> Response:
    # SQLite stores 64-bit integers: a larger id in a path or query cannot name anything
    return answer(
        request,
        {
            "type": "https://mics.example/problems/InvalidInput",
            "title": "Invalid input",
            "status": 422,
            "detail": "a number in the request is too large",
            "expected": "integers below 2**63",
            "instance": request.url.path,
        },
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(MicsError)
    async def _mics_error(request: Request, error: MicsError) -> Response:
        return mics_error_response(request, error)

    @app.exception_handler(OverflowError)
    async def _overflow(request: Request, error: OverflowError) -> Response:
        return overflow_response(request, error)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, error: RequestValidationError) -> Response:
        errors = []
        for e in error.errors():
            loc = [str(p) for p in e.get("loc", ())]
            if loc and loc[0] in {"body", "query", "path", "header"}:
                loc = loc[1:] if len(loc) > 1 else loc
            errors.append(
                {
                    "field": ".".join(loc),
                    "value": _safe(e.get("input")),
                    "expected": e.get("msg", ""),
                }
            )
        first = errors[0] if errors else {"field": "", "value": None, "expected": ""}
        return answer(
            request,
            {
                "type": "https://mics.example/problems/InvalidInput",
                "title": "Invalid input",
                "status": 422,
                "detail": f"{first['field']}: {first['expected']} (got {first['value']!r})",
                "field": first["field"],
                "value": first["value"],
                "expected": first["expected"],
                "errors": errors,
                "instance": request.url.path,
            },
        )

    @app.exception_handler(HTTPException)
    async def _http(request: Request, error: HTTPException) -> Response:
        headers = getattr(error, "headers", None)
        if error.status_code == 405:
            # RFC 9110 §15.5.6: Allow lists what the resource supports, every route of the
            # path (the router names only the first route it tried)
            headers = {"Allow": ", ".join(allowed_methods(request.scope))}
            if request.method == "OPTIONS":  # RFC 9110 §9.3.7: what the resource supports
                return Response(status_code=204, headers=headers)
        return answer(
            request,
            {
                "type": "about:blank",
                "title": str(error.detail) if error.status_code != 404 else "Not found",
                "status": error.status_code,
                "detail": str(error.detail),
                "instance": request.url.path,
            },
            headers=headers,
        )


def matching_routes(scope: Scope) -> Iterator[tuple[Any, Scope]]:
    """Every route of the app whose path matches ``scope``'s (whatever the method)."""
    router: Any = getattr(scope.get("app"), "router", None)
    for route in iter_route_contexts(getattr(router, "routes", ())):
        match, child = route.matches(scope)
        if match is not Match.NONE:
            yield route, child


def allowed_methods(scope: Scope) -> list[str]:
    """The methods the routes of ``scope``'s path answer, HEAD with GET, and OPTIONS."""
    methods = {"OPTIONS"}
    for route, _ in matching_routes(scope):
        methods |= set(getattr(route, "methods", None) or ())
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


def _safe(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value if not isinstance(value, str) else value[:200]
    if isinstance(value, (dict, list)):
        text = repr(value)
        return text[:200]
    return repr(value)[:200]
