"""A real MICS server on a free loopback port and Debian's headless Chromium, for page tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.web.devtools import HEADLESS

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Served:
    """The running server: its address, its working folder and its environment."""

    url: str
    home: Path
    env: dict[str, str]

    def mics(self, *args: str) -> str:
        """Run ``mics ARGS`` against the server's database; its output."""
        done = subprocess.run(
            [sys.executable, "-m", "mics", *args],
            env=self.env,
            cwd=self.home,
            check=True,
            capture_output=True,
            text=True,
            timeout=180,
        )
        return done.stdout


@pytest.fixture(scope="session")
def server(served: Served) -> str:
    return served.url


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``mics db upgrade``, ``mics demo`` and ``mics serve`` in a temporary home."""
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium): browser tests skipped")
    home = tmp_path_factory.mktemp("web")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = os.environ | {
        "MICS_DATABASE_URL": f"sqlite:///{home / 'web.db'}",
        "MICS_HOME": str(home / "var"),
        "MICS_BASE_URL": url,  # QR codes and Digital Links point at this server
    }
    for args in (["db", "upgrade"], ["demo"]):
        subprocess.run(
            [sys.executable, "-m", "mics", *args],
            env=env,
            cwd=home,
            check=True,
            capture_output=True,
            timeout=180,
        )
    process = subprocess.Popen(
        [sys.executable, "-m", "mics", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=home,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # 120 s: on a busy shared machine the server's imports alone have taken over 30 s
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{url}/health", timeout=1).read()
                break
            except OSError:
                if process.poll() is not None:
                    pytest.fail(f"mics serve exited with status {process.returncode}")
                if time.monotonic() > deadline:
                    pytest.fail("the server did not start within 120 s")
                time.sleep(0.1)
        yield Served(url, home, env)
    finally:
        process.terminate()
        process.wait(timeout=10)


def run_chromium(tmp_path: Path, *args: str) -> str:
    """Run headless Chromium with a fresh profile and no background traffic; its stdout."""
    assert CHROMIUM is not None
    command = [CHROMIUM, *HEADLESS, f"--user-data-dir={tmp_path / 'profile'}", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture
def chromium(tmp_path: Path) -> Callable[..., str]:
    """``chromium("--dump-dom", url)``: headless Chromium in this test's own profile."""

    def run(*args: str) -> str:
        return run_chromium(tmp_path, *args)

    return run
