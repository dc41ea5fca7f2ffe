"""What the browser tests of the offline pages share: Debian's Chromium and how to launch it, and
an app server (gunicorn on its own SQLite file) that a test stops and starts again mid-shift."""

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class AppServer:
    """gunicorn serving the app on one port and one SQLite file; stop() and start() again."""

    def __init__(self, directory: Path, *, name: str = "app", hosts: tuple[str, ...] = ()):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db = directory / f"{name}.sqlite3"
        self.log = directory / "server.log"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tongxin.config.settings",
            "DATABASE_URL": f"sqlite:///{self.db}",
            "TONGXIN_VAR": str(directory),
            "DEBUG": "1",
            "ALLOWED_HOSTS": ",".join(["127.0.0.1", "localhost", *hosts]),
        }
        self.process = None

    def run(self, *args) -> str:
        done = subprocess.run(
            [str(BIN / "tongxin"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    def shell(self, code: str) -> str:
        return self.run("shell", "-c", code)

    def start(self) -> None:
        with open(self.log, "a") as log:
            self.process = subprocess.Popen(
                [
                    str(BIN / "gunicorn"),
                    "tongxin.config.wsgi:application",
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    "--workers",
                    "1",
                    "--threads",
                    "4",
                    "--graceful-timeout",
                    "2",
                    "--keep-alive",
                    "2",
                ],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as answer:  # noqa: S310
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("the app server did not start:\n" + self.log.read_text()[-3000:])

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self.process = None
        with pytest.raises(OSError):
            urllib.request.urlopen(f"{self.url}/healthz", timeout=1)  # noqa: S310

    def query(self, sql: str, params=()) -> list[tuple]:
        with sqlite3.connect(self.db) as connection:
            return connection.execute(sql, params).fetchall()


def wait_until(page, predicate: str, arg=None, timeout: float = 30) -> None:
    """Poll `predicate` (an expression, or a function of `arg`, sync or async: one that reads
    IndexedDB or the Cache Storage) with page.evaluate until it is true. Not wait_for_function: it
    takes an async predicate's Promise, which is truthy, as true at once, and it evaluates a string
    predicate with eval inside the page, which the Content Security Policy (no 'unsafe-eval')
    refuses now and then; page.evaluate goes through the DevTools protocol."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(predicate, arg):
        assert time.monotonic() < deadline, f"still false after {timeout}s: {predicate[-120:]}"
        time.sleep(0.1)
