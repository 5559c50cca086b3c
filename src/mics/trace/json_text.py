"""A JSON text checked before any parser builds it: RFC 8259 and I-JSON (RFC 7493), bounded.

``check`` reads a capture document (or any JSON body) twice, in chunks of ``CHUNK`` bytes,
and refuses, naming where:

* bytes that are not UTF-8 (RFC 8259 §8.1; RFC 3629 §3 forbids overlong forms and encoded
  surrogates, the CESU-8 of ``b"\\xed\\xa0\\x80"``): ``byte N (line L, column C)``;
* a ``\\u`` escape of an unpaired surrogate (I-JSON §2.1: such a string is no Unicode text;
  ``ijson`` read it as ``"?"``, so capture stored another value than was sent);
* arrays and objects nested deeper than ``MAX_DEPTH`` (``TooLarge``, HTTP 413): the JSON
  pointer of the first one too deep. Checked on ``ijson``'s flat event stream, which holds
  one small set per open object: the parsers come after, and ``ijson``'s prefixed parser
  kept a string per level (memory grew with the square of the depth: 1.4 MB nested
  100,000 deep drove a server past 24 GB);
* a key twice in one object (RFC 8259 §4 leaves the meaning open, I-JSON §2.3 forbids it; a
  document with two ``epcisBody`` keys was captured with both event lists where a standard
  reader keeps the last): the JSON pointer of the second.

``load`` checks and parses a JSON body held in memory; ``check_depth`` bounds a value that
is already parsed (a caller's dict) without recursion.
"""

from __future__ import annotations

import codecs
import io
import json
import re
from collections.abc import Iterable, Iterator
from typing import IO, Any

import ijson

from mics.errors import InvalidInput, TooLarge

__all__ = ["CHUNK", "MAX_DEPTH", "check", "check_depth", "load", "malformed", "pointer"]

# Arrays and objects one inside another, the document itself being the first. The deepest
# standard EPCIS 2.0 path is ten (query document, epcisBody, queryResults, resultsBody,
# eventList, event, sensorElementList, sensorElement, sensorReport, report); 64 leaves
# extensions 50 levels more, and keeps a walk of an event (event_hash: 2-3 Python frames
# a level) far below Python's recursion limit of 1,000. XML elements have the same limit.
MAX_DEPTH = 64
CHUNK = 1 << 16  # bytes read at a time: the check holds at most this much of a document
_HIGH = b"89abAB"  # third hex digit of a high surrogate escape \uD800-\uDBFF
# An escape of a surrogate: a high one (\uD800-\uDBFF) must come with a low one just after.
_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_LOW = re.compile(rb"\\u[dD][c-fC-F][0-9a-fA-F]{2}")
_PAIR = 12  # bytes of a high and a low escape: judged once all of them have been read
_BACKSLASH = 0x5C
_ARRAY: set[str] = set()  # an array's "keys": the parser gives keys only inside objects


def check(stream: IO[bytes]) -> None:
    """Refuse the JSON text in ``stream`` (see the module docstring); leave it at its start."""
    stream.seek(0)
    _check_characters(stream)
    stream.seek(0)
    try:
        breached = _breached(ijson.basic_parse(stream, use_float=True))
    except ijson.JSONError as error:
        raise malformed(error, stream) from error
    stream.seek(0)
    if breached:  # read again, slowly, to say where
        kind, where, detail = _breach(ijson.basic_parse(stream, use_float=True))
        stream.seek(0)
        if kind == "depth":
            raise _too_deep(where, int(detail))
        raise InvalidInput(
            f"the key {detail!r} appears twice in one object",
            field=where,
            value=detail,
            expected="each key at most once in an object (RFC 7493 §2.3): "
            "a JSON reader keeps only one of them",
        )


def load(data: bytes) -> Any:
    """The JSON value of ``data``, checked first: what ``check`` refuses is never parsed."""
    check(io.BytesIO(data))
    return json.loads(data)


# A document that does not parse is read once more, whole, to say at which line and
# column (the streaming parser's error names no position); larger ones get its words only.
LOCATE_LIMIT = 64 << 20


def malformed(error: Exception, stream: IO[bytes] | None = None) -> InvalidInput:
    """The problem for a JSON text that is not well-formed: the line and column where it
    breaks and what was expected there (Python's ``json`` finds them), else the first line
    of the streaming parser's own words."""
    found = _locate(stream) if stream is not None else None
    if found is not None:
        line, column, reason = found
        return InvalidInput(
            f"the document is not well-formed JSON at line {line}, column {column}: {reason}",
            field="body",
            value=f"line {line}, column {column}",
            expected="well-formed JSON (RFC 8259)",
            line=line,
            column=column,
        )
    words = str(error).strip().splitlines()
    return InvalidInput(
        "the document is not well-formed JSON" + (f": {words[0]}" if words else ""),
        field="body",
        value=None,
        expected="well-formed JSON (RFC 8259)",
    )


def _locate(stream: IO[bytes]) -> tuple[int, int, str] | None:
    """(line, column, reason) of the first place ``stream`` stops being JSON, if it is small."""
    try:
        stream.seek(0)
        data = stream.read(LOCATE_LIMIT + 1)
        stream.seek(0)
    except (OSError, ValueError):
        return None
    if len(data) > LOCATE_LIMIT:
        return None
    try:
        json.loads(data.decode("utf-8", errors="replace"))
    except json.JSONDecodeError as error:
        return error.lineno, error.colno, error.msg
    except (ValueError, RecursionError):
        return None
    return None


def check_depth(value: Any, base: str = "", above: int = 0) -> None:
    """Refuse ``value`` (parsed already) if it nests deeper than ``MAX_DEPTH``.

    ``above`` counts the containers that hold ``value``, ``base`` is its pointer. Walks
    with a list, not recursion: a value too deep for Python's stack is named, not crashed on.
    """
    stack: list[tuple[Any, int, tuple[str | int, ...]]] = [(value, above, ())]
    while stack:
        item, level, steps = stack.pop()
        if isinstance(item, dict):
            pairs: Iterable[tuple[str | int, Any]] = item.items()
        elif isinstance(item, list):
            pairs = enumerate(item)
        else:
            continue
        if level >= MAX_DEPTH:
            raise _too_deep(base + pointer(steps), level + 1)
        stack.extend((inner, level + 1, (*steps, key)) for key, inner in pairs)


def pointer(steps: Iterable[str | int]) -> str:
    """A JSON Pointer (RFC 6901) from its reference tokens."""
    return "".join("/" + str(step).replace("~", "~0").replace("/", "~1") for step in steps)


def _too_deep(where: str, depth: int) -> TooLarge:
    return TooLarge(
        f"the document nests arrays and objects {depth} deep here",
        field=where,
        value=depth,
        expected=f"at most {MAX_DEPTH} levels of arrays and objects, the document itself "
        "being the first",
    )


def _breached(events: Iterator[tuple[str, Any]]) -> bool:
    """Whether some object holds a key twice, or containers nest deeper than ``MAX_DEPTH``.

    Every event of the document passes through this loop: it keeps to set look-ups and
    the first letter of the event's name (20,000 bench events, 14.6 MB: ~170 ms, of which
    ~120 ms is ijson's; ``enumerate`` and ``_breach``'s bookkeeping cost ~25% more).
    """
    holders: list[set[str]] = []  # the key sets of the containers above
    keys = _ARRAY
    push, pop = holders.append, holders.pop
    for event, value in events:
        if event == "map_key":
            if value in keys:
                return True
            keys.add(value)
        elif event[0] == "s":  # start_map, start_array or string
            if event == "start_map":
                push(keys)
                keys = set()
            elif event == "start_array":
                push(keys)
                keys = _ARRAY
            else:
                continue
            if len(holders) > MAX_DEPTH:
                return True
        elif event[0] == "e":  # end_map, end_array
            keys = pop()
    return False


def _breach(events: Iterator[tuple[str, Any]]) -> tuple[str, str, Any]:
    """``("depth", pointer, depth)`` or ``("duplicate", pointer, key)`` of the first breach."""
    steps: list[str | int] = []  # the pointer's tokens; an int: the index in an array
    holders: list[set[str]] = []
    keys = _ARRAY
    for event, value in events:
        if event == "map_key":
            steps[-1] = value
            if value in keys:
                return "duplicate", pointer(steps), value
            keys.add(value)
        elif event == "end_map" or event == "end_array":
            steps.pop()
            keys = holders.pop()
            continue
        elif steps and isinstance(steps[-1], int):
            steps[-1] += 1  # the next value of an array
        if event == "start_map" or event == "start_array":
            if len(holders) >= MAX_DEPTH:
                return "depth", pointer(steps), len(holders) + 1
            holders.append(keys)
            keys = set() if event == "start_map" else _ARRAY
            steps.append("" if event == "start_map" else -1)
    raise AssertionError("_breached found a breach that _breach did not")


def _check_characters(stream: IO[bytes]) -> None:
    """Refuse bytes that are not UTF-8 and escapes of unpaired surrogates, naming the byte."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    escapes = _Escapes()
    offset = 0  # of the chunk in the stream
    while True:
        chunk = stream.read(CHUNK)
        final = not chunk
        held = len(decoder.getstate()[0])  # bytes of a character the last chunk cut
        try:
            decoder.decode(chunk, final)
        except UnicodeDecodeError as error:
            at = offset - held + error.start
            raise _bad_text(
                stream,
                at,
                "UTF-8 text (RFC 8259 §8.1): no overlong forms, "
                "no encoded surrogates (CESU-8), nothing past U+10FFFF",
            ) from None
        lone = escapes.feed(chunk, final)
        if lone is not None:
            raise _bad_text(
                stream,
                lone,
                "no \\u escape of an unpaired surrogate "
                "(RFC 7493 §2.1): a high one \\uD800-\\uDBFF, then a low one",
            )
        if final:
            return
        offset += len(chunk)


class _Escapes:
    """Finds a ``\\u`` escape of an unpaired surrogate in a text read chunk by chunk.

    A backslash begins an escape unless an odd run of backslashes comes just before it
    (``\\\\`` is one escaped backslash): the run is counted back, across chunks too.
    """

    def __init__(self) -> None:
        self.held = b""  # the end of the last chunk, whose escapes were not judged yet
        self.start = 0  # where ``held`` begins in the stream
        self.run = 0  # backslashes just before ``held``
        self.paired = -1  # where a low escape judged with its high one begins

    def feed(self, chunk: bytes, final: bool) -> int | None:
        """Where an escape of an unpaired surrogate begins, or None so far."""
        text = self.held + chunk
        judged = len(text) if final else max(0, len(text) - _PAIR + 1)
        for found in _SURROGATE.finditer(text):
            at = found.start()
            if at >= judged:
                break
            if self._escaped(text, at):
                continue  # "\\ud800": an escaped backslash, then letters
            where = self.start + at
            if text[at + 3] in _HIGH:
                if not _LOW.match(text, at + 6):
                    return where
                self.paired = where + 6
            elif where != self.paired:
                return where
        self.run = self._run(text, judged)
        self.start += judged
        self.held = text[judged:]
        return None

    def _escaped(self, text: bytes, at: int) -> bool:
        return self._run(text, at) % 2 == 1

    def _run(self, text: bytes, at: int) -> int:
        """Backslashes just before ``text[at]`` (those before ``text`` included)."""
        count = 0
        while at - count > 0 and text[at - count - 1] == _BACKSLASH:
            count += 1
        return count + self.run if count == at else count


def _bad_text(stream: IO[bytes], at: int, expected: str) -> InvalidInput:
    line, column = _line_column(stream, at)
    return InvalidInput(
        "the document is not Unicode text",
        field="body",
        value=f"byte {at} (line {line}, column {column})",
        expected=expected,
    )


def _line_column(stream: IO[bytes], at: int) -> tuple[int, int]:
    """Line and column (from 1, in bytes) of byte ``at``."""
    stream.seek(0)
    lines, start, done = 1, 0, 0  # start: where the line of byte ``at`` begins
    while done < at:
        chunk = stream.read(min(CHUNK, at - done))
        if not chunk:
            break
        lines += chunk.count(b"\n")
        newline = chunk.rfind(b"\n")
        if newline >= 0:
            start = done + newline + 1
        done += len(chunk)
    stream.seek(0)
    return lines, at - start + 1
