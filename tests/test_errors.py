"""The error tree drawn in ``mics/errors.py``'s docstring is the tree the classes form."""

from __future__ import annotations

import importlib
import pkgutil

import mics
from mics import errors
from mics.errors import MicsError, Unavailable


def drawn() -> dict[str, str]:
    """Each drawn class's name -> its parent's name, read from the docstring's indentation."""
    assert errors.__doc__ is not None
    parents: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    for line in errors.__doc__.splitlines():
        if line.strip().startswith("MicsError"):
            stack = [(line.index("MicsError"), "MicsError")]
        elif "+-- " in line and stack:
            column = line.index("+-- ")
            name = line[column + 4 :].split()[0].rsplit(".", 1)[-1]
            while stack and stack[-1][0] >= column:
                stack.pop()
            parents[name] = stack[-1][1]
            stack.append((column, name))
    return parents


def subclasses(cls: type[MicsError]) -> list[type[MicsError]]:
    found: list[type[MicsError]] = []
    for child in cls.__subclasses__():
        found += [child, *subclasses(child)]
    return found


def test_every_public_error_is_drawn_under_its_parent() -> None:
    for module in pkgutil.walk_packages(mics.__path__, "mics."):
        if ".migrations" not in module.name and not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    actual = {
        cls.__name__: cls.__mro__[1].__name__
        for cls in subclasses(MicsError)
        if not cls.__name__.startswith("_") and cls.__module__.startswith("mics.")
    }
    assert drawn() == actual


def test_a_busy_write_gate_is_a_503_to_try_again() -> None:
    from mics.storage.write_gate import GateBusy

    busy = GateBusy()
    assert isinstance(busy, Unavailable)
    assert busy.problem()["status"] == 503
    assert busy.retry_after == 1
