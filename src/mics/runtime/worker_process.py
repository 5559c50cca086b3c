"""One worker process of ``mics.runtime.process_pool``: its start, its pipes, its loop.

The parent starts ``python -P -c "<_ENTRY>" <mics folder> <modules...>`` in a process
group of its own, with two pipes. The child (``_main``) checks that it imported
this very ``mics``, imports the modules its tasks will run, greets with ``_HELLO``,
then ``serve``s: each message a length (``_FRAME``) and a pickle of ``(function,
arguments)``, each answer ``(kind, value, traceback)``. The parent's side is
``_Worker``; ``process_pool`` says what happens when a worker fails.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import signal
import struct
import subprocess
import sys
import threading
import traceback
from importlib import import_module
from pathlib import Path
from typing import IO, Any

__all__ = ["START_TIMEOUT_S", "serve"]

START_TIMEOUT_S = 30.0  # for a worker to import mics and say hello (~0.3 s on 2 cores)
_HELLO = b"MICS worker 2\n"  # a worker's first bytes on its protocol pipe
_MAX_FRAME = 1 << 31  # no answer is near 2 GiB: a longer length is not our frame
_COLLECT = 50  # tasks between a worker's full garbage collections
_FRAME = struct.Struct("!Q")  # each message: its length, then a pickle
_SOURCE = str(Path(__file__).resolve().parents[2])  # the folder that holds mics/
_ENTRY = "from mics.runtime.worker_process import _main; _main()"


class _StartFailed(Exception):
    """A worker process did not start or did not greet as a worker."""


class _NoProcess(Exception):
    """The system would not start a process now (out of memory, too many open files)."""


class _Died(Exception):
    """A worker process ended, or broke the protocol, in the middle of a task."""


class _Worker:
    """One worker process and its two pipes, greeted before its first task."""

    def __init__(self, preload: tuple[str, ...] = ()) -> None:
        command = [
            sys.executable,
            *subprocess._args_from_interpreter_flags(),  # type: ignore[attr-defined]
            "-P",  # no current directory on the path: a local ipaddress.py stays unseen
            "-c",
            _ENTRY,
            _SOURCE,
            *preload,
        ]
        # Its own process group: a Ctrl-C at the terminal or a signal to the server's
        # group reaches the server, which then ends its workers itself.
        group = {"process_group": 0} if os.name == "posix" else {}
        try:
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=_environment(),
                **group,  # type: ignore[call-overload]
            )
        except (FileNotFoundError, PermissionError) as error:
            raise _StartFailed(f"{sys.executable!r} could not be started ({error})") from error
        except OSError as error:  # EAGAIN, ENOMEM, EMFILE: try again later
            raise _NoProcess(f"{sys.executable!r} could not be started ({error})") from error
        self._greeted()

    def _greeted(self) -> None:
        """Wait for the hello; kill the process if it has not come in ``START_TIMEOUT_S``.

        No hello: ``_StartFailed`` (no worker will do better), unless a signal from
        elsewhere killed the process while it started: ``_Died``, worth another try.
        """
        assert self.process.stdout is not None
        late = threading.Event()

        def give_up() -> None:
            late.set()
            self.process.kill()

        timer = threading.Timer(START_TIMEOUT_S, give_up)
        timer.start()
        try:
            seen = self.process.stdout.read(len(_HELLO))
        finally:
            timer.cancel()
        if seen == _HELLO:
            return
        self.stop()
        code = self.process.returncode
        if not seen and code is not None and code < 0 and not late.is_set():
            raise _Died(f"killed by signal {-code} while it started")
        raise _StartFailed(
            f"{sys.executable!r} started as a capture worker answered {seen[:60]!r}, "
            f"not {_HELLO!r} (exit code {code}"
            f"{f', no answer in {START_TIMEOUT_S:g} s' if late.is_set() else ''})"
        )

    def call(self, payload: bytes) -> tuple[str, Any]:
        """``("ok", result)``, ``("raised", the function's exception)`` or ``("unread", text)``."""
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        try:
            _send(self.process.stdin, payload)
            answer = _receive(self.process.stdout)
        except (OSError, EOFError, ValueError) as error:
            try:
                code = self.process.wait(timeout=1)
            except subprocess.TimeoutExpired:
                code = None
            raise _Died(f"{error}; exit code {code}") from error
        try:
            kind, value, remote = pickle.loads(answer)
        except Exception as error:  # e.g. an exception type that does not unpickle
            return "unread", repr(error)
        if kind == "raised" and isinstance(value, BaseException) and remote:
            value.add_note(f"raised in capture worker process {self.process.pid}:\n{remote}")
        return kind, value

    def stop(self) -> None:
        """Kill the process (it may be half way through a message) and reap it."""
        with contextlib.suppress(OSError):
            self.process.kill()
        self.close()

    def close(self) -> None:
        """End of input: the worker exits; killed if it has not within a second."""
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):  # unsent bytes to a worker already gone
                self.process.stdin.close()
        try:
            self.process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            self.process.kill()  # a reader of its answer gets end-of-file now
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


def _environment() -> dict[str, str]:
    """The parent's environment, plus the folder ``mics`` came from unless a site folder.

    Appended to ``PYTHONPATH`` (after what the parent has there), so that a checkout run
    from its source folder works; a site folder is searched anyway, and put on
    ``PYTHONPATH`` it would come before the standard library. The worker checks that
    it imported ``mics`` from this very folder (``_main``).
    """
    env = dict(os.environ)
    listed = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    if _SOURCE not in {str(Path(p).resolve()) for p in listed} | _site_folders():
        env["PYTHONPATH"] = os.pathsep.join([*listed, _SOURCE])
    return env


def _site_folders() -> set[str]:
    import site
    import sysconfig

    paths = sysconfig.get_paths()
    found = [paths["purelib"], paths["platlib"], *site.getsitepackages()]
    found.append(site.getusersitepackages())
    return {str(Path(p).resolve()) for p in found if p}


def _send(pipe: IO[bytes], payload: bytes) -> None:
    pipe.write(_FRAME.pack(len(payload)))
    pipe.write(payload)
    pipe.flush()


def _receive(pipe: IO[bytes]) -> bytes:
    head = pipe.read(_FRAME.size)
    if len(head) < _FRAME.size:
        raise EOFError("the worker closed its output")
    (length,) = _FRAME.unpack(head)
    if length > _MAX_FRAME:
        raise ValueError(f"a frame of {length} bytes: not a capture worker's answer")
    payload = pipe.read(length)
    if len(payload) < length:
        raise EOFError("the worker's answer was cut short")
    return payload


def serve(source: IO[bytes], sink: IO[bytes]) -> None:
    """A worker's loop: read ``(function, arguments)``, answer ``(kind, value, traceback)``.

    ``kind`` is ``ok`` (the result), ``raised`` (the function's exception) or ``unread``
    (the task did not unpickle; the parent computes it itself). The cyclic garbage
    collector is off between full collections every ``_COLLECT`` tasks: a batch is
    ~60,000 containers that die by reference counting when the task ends, and the
    collections their allocation set off cost ~10% of a task.
    """
    gc.freeze()  # the modules imported so far are never garbage
    gc.disable()
    tasks = 0
    while True:
        tasks += 1
        if tasks % _COLLECT == 0:
            gc.collect()
        try:
            task = _receive(source)
        except (EOFError, ValueError):
            return  # the capturing process closed the pipe or died
        answer: tuple[str, Any, str]
        try:
            function, args = pickle.loads(task)
        except Exception as error:
            answer = ("unread", repr(error), "")
        else:
            try:
                answer = ("ok", function(*args), "")
            except Exception as error:  # sent back and raised in the capturing process
                answer = ("raised", error, traceback.format_exc())
        try:
            payload = pickle.dumps(answer, pickle.HIGHEST_PROTOCOL)
        except Exception as error:  # the parent prepares it itself
            payload = pickle.dumps(("unread", repr(error), ""))
        try:
            _send(sink, payload)
        except BrokenPipeError:
            return


def _main() -> None:
    """A worker process: check it runs this very ``mics``, import, greet, then ``serve``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    expected = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else None
    if expected is not None and Path(__file__).resolve().parents[2] != expected:
        sys.stderr.write(
            f"mics worker: imported mics from {Path(__file__).parents[2]}, "
            f"the capturing process uses {expected}\n"
        )
        raise SystemExit(2)
    for module in sys.argv[2:]:  # what the tasks will run, imported before the hello
        import_module(module)
    # The protocol gets its own copy of stdout; stray prints go to stderr from now on.
    protocol = os.fdopen(os.dup(1), "wb")
    errors = sys.stderr.fileno() if sys.stderr is not None else os.open(os.devnull, os.O_WRONLY)
    os.dup2(errors, 1)
    protocol.write(_HELLO)
    protocol.flush()
    serve(sys.stdin.buffer, protocol)
