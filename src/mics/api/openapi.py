"""What ``/openapi.json`` says each route answers: RFC 9457 problems, keys, media types.

Every error MICS answers is an RFC 9457 problem (``application/problem+json``,
:mod:`mics.api.problems`), where FastAPI would document a 422
``HTTPValidationError`` in ``application/json``. :func:`declare_problems` fixes the
generated document once, for every operation:

- ``422``: every operation (the edge refuses text no column can hold on any route,
  ``mics.api.edge``; parameters and bodies are validated);
- ``401`` and ``403``: every operation that declares the partner-key scheme
  (``mics.api.deps.KEY_SCHEME``), required or optional;
- ``404``: every operation with a path parameter (what it names may not exist);
- ``400``: every operation that takes a request body (one that cannot be read);
- ``409``: every write (``POST``, ``PUT``, ``PATCH``, ``DELETE``: a unique key or a
  state already taken);
- what a route declares itself with :func:`problems` (``404`` for a reference in a
  query or body, ``413``, ``503``, ...).

Every string a request may carry (parameters and request bodies) is declared
``pattern: ^[^\u0000]*$`` unless it has a pattern of its own: the edge refuses NUL.

The ``Problem`` schema is the members MICS sends (``type``, ``title``, ``status``,
``detail``, ``instance``; ``field``, ``value``, ``expected`` for bad input) and
allows the extension members RFC 9457 §3.2 permits.
"""

from __future__ import annotations

from typing import Any

from fastapi.routing import iter_route_contexts

from mics.api.problems import PROBLEM

__all__ = ["declare_optional_keys", "declare_problems", "media", "problems"]

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
WRITES = {"post", "put", "patch", "delete"}
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details",
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "field": {"type": "string", "description": "where the input was wrong"},
        "value": {"description": "what was received there"},
        "expected": {"type": "string", "description": "what is accepted there"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
    "additionalProperties": True,
}
REASONS = {
    400: "Bad request: not a well-formed request for this resource",
    401: "No key, or a key that is unknown, revoked or expired",
    403: "The key's role or partner may not do this",
    404: "Not found",
    409: "Conflict with what is stored",
    413: "More than a request may carry",
    422: "Invalid input: the problem names the field, the value and what was expected",
    501: "Not implemented in this installation",
    503: "Busy: nothing was kept, try again",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries: the given statuses, each an RFC 9457 problem."""
    return {status: _problem(status) for status in statuses}


def media(*types: str, status: int = 200, description: str = "OK") -> dict[int | str, Any]:
    """``responses=`` entry: a success answered in ``types`` (content negotiated)."""
    return {status: {"description": description, "content": {t: {} for t in types}}}


def _problem(status: int) -> dict[str, Any]:
    return {"description": REASONS[status], "content": {PROBLEM: {"schema": PROBLEM_REF}}}


def declare_optional_keys(
    document: dict[str, Any], routes: Any, reader: Any, security: dict[str, Any]
) -> dict[str, Any]:
    """``document`` with every operation whose route depends on ``reader``
    (``deps.get_reader``: a key read only when one is sent) marked with the optional
    ``security`` (``deps.OPTIONAL_KEY``), so that ``/docs`` offers Authorize there and
    clients know anonymous calls are answered too; idempotent."""
    for route in iter_route_contexts(routes):
        dependant = getattr(route, "dependant", None)
        if dependant is None or not _depends_on(dependant, reader):
            continue
        operations = document.get("paths", {}).get(route.path_format or "", {})
        for method in route.methods or ():
            operation = operations.get(method.lower())
            if operation is not None and "security" not in operation:
                operation["security"] = security["security"]
    return document


def _depends_on(dependant: Any, call: Any) -> bool:
    stack = [dependant]
    while stack:
        node = stack.pop()
        if node.call is call:
            return True
        stack.extend(node.dependencies)
    return False


def declare_problems(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` (FastAPI's OpenAPI) with every operation's problems declared; idempotent."""
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    for operations in document.get("paths", {}).values():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            wanted = {422}
            if operation.get("security"):
                wanted |= {401, 403}
            if any(p.get("in") == "path" for p in operation.get("parameters", [])):
                wanted.add(404)
            if "requestBody" in operation:
                wanted.add(400)
            if method in WRITES:
                wanted.add(409)
            for status in wanted:
                responses[str(status)] = _problem(status)
            for status, response in responses.items():
                content = response.get("content", {})
                if status.startswith(("4", "5")) and PROBLEM not in content:
                    response["content"] = {PROBLEM: {"schema": PROBLEM_REF}}
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    _declare_no_nul(document)
    return document


NO_NUL = "^[^\u0000]*$"  # mics.api.edge refuses U+0000 in any input text


def _declare_no_nul(document: dict[str, Any]) -> None:
    """``pattern: NO_NUL`` on every input string schema (parameters, request bodies)."""
    seen: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
            return
        if not isinstance(node, dict):
            return
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/") and ref not in seen:
            seen.add(ref)
            walk(document["components"]["schemas"].get(ref.rsplit("/", 1)[-1]))
        if node.get("type") == "string" and not {"pattern", "enum", "const", "format"} & set(node):
            node["pattern"] = NO_NUL
        for key, value in node.items():
            if key not in ("example", "examples", "default", "const", "enum"):
                walk(value)

    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                walk(parameter.get("schema"))
            walk(operation.get("requestBody"))
