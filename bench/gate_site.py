"""The app server of bench/gate.py: the project's WSGI application, its settings and every URL of
its own, plus one bare JSON view, so that the gate check and its baseline are served by the same
gunicorn workers in the same run. Bench-only: the project carries no benchmark code.

    gunicorn --pythonpath bench gate_site:application

The bare view (`POST /bench/bare`) goes through the same middleware as the API (session, CSRF,
authentication, locale, CSP...), reads the logged-in user as any authenticated endpoint does (the
session row and the user row), reads the same JSON body as a check, and answers a small
JsonResponse: the floor under which no authenticated JSON endpoint of this project can go.
"""

import atexit
import json
import os
import re
import time
from collections import defaultdict

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongxin.config.settings")

from django.conf import settings  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.db import connections  # noqa: E402
from django.http import JsonResponse  # noqa: E402
from django.urls import include, path  # noqa: E402

application = get_wsgi_application()  # django.setup(): the project's settings, as production
settings.ROOT_URLCONF = __name__  # the project's URLs (included below) and the bare view

BARE_PATH = "bench/bare"


def bare(request):
    if request.method != "POST":
        return JsonResponse({"detail": "POST"}, status=405)
    if not request.user.is_authenticated:
        return JsonResponse({"detail": "login"}, status=401)
    body = json.loads(request.body)
    return JsonResponse({"id": body.get("id"), "allowed": True, "reason": "ok", "user": request.user.pk})


urlpatterns = [path(BARE_PATH, bare, name="bench-bare"), path("", include("tongxin.config.urls"))]


# --- opt-in timing (bench/gate.py --server-timing) -------------------------------------------------

STATEMENT_TABLE = re.compile(r'\b(?:FROM|INTO|UPDATE)\s+"?([a-z_][a-z0-9_]*)"?', re.IGNORECASE)
PARENTHESES = re.compile(r"\([^()]*\)")


def statement_kind(statement: str) -> str:
    """The verb and the outermost table ("SELECT access_pass"), as bench/gate.py names them."""
    words = statement.split(None, 1)
    outer, previous = statement, None
    while outer != previous:
        previous, outer = outer, PARENTHESES.sub(" ", outer)
    tables = [m.group(1) for m in STATEMENT_TABLE.finditer(outer)]
    tables += [m.group(1) for m in STATEMENT_TABLE.finditer(statement)]
    table = next((t for t in tables if "_" in t), "")  # the app's tables are app_model
    return f"{words[0].upper() if words else '?'} {table}".strip()


class Closing:
    """The response as gunicorn iterates it; its close (Django's request_finished: the database
    connection closed, at once on SQLite) timed apart."""

    def __init__(self, response, entry: dict):
        self.response, self.entry = response, entry

    def __iter__(self):
        return iter(self.response)

    def close(self):
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            self.response.close()
        finally:
            self.entry["close_wall"] += time.perf_counter() - wall
            self.entry["close_cpu"] += time.thread_time() - cpu


class Timing:
    """Per kind of request (check, bare, other) in this worker: wall and CPU time of the view
    (middleware included, gunicorn's own work not), of the response's close after the answer was
    sent (the database connection closed), and the wall time of each kind of SQL statement, where
    waits for SQLite's write lock show. Written as JSON to <directory>/worker-<pid>.json every 100
    requests and at exit."""

    def __init__(self, app, directory: str):
        self.app, self.directory = app, directory
        self.data = defaultdict(
            lambda: {
                "requests": 0,
                "wall": 0.0,
                "cpu": 0.0,
                "close_wall": 0.0,
                "close_cpu": 0.0,
                "sql": defaultdict(list),
            }
        )
        self.kind = "other"
        self.installed = False
        atexit.register(self.dump)

    def statement(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            entry = self.data[self.kind]["sql"][statement_kind(sql)]
            if not entry:
                entry += [0, 0.0]
            entry[0] += 1
            entry[1] += time.perf_counter() - started

    def __call__(self, environ, start_response):
        if not self.installed:  # the worker's (thread's) connection object, kept across requests
            connections["default"].execute_wrappers.append(self.statement)
            self.installed = True
        path = environ.get("PATH_INFO", "")
        self.kind = "check" if path.endswith("/check") else "bare" if path.endswith(BARE_PATH) else "other"
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return Closing(self.app(environ, start_response), self.data[self.kind])
        finally:
            entry = self.data[self.kind]
            entry["requests"] += 1
            entry["wall"] += time.perf_counter() - wall
            entry["cpu"] += time.thread_time() - cpu
            if sum(e["requests"] for e in self.data.values()) % 100 == 0:
                self.dump()

    def dump(self):
        with open(os.path.join(self.directory, f"worker-{os.getpid()}.json"), "w") as out:
            json.dump(self.data, out)


if os.environ.get("BENCH_GATE_TIMING"):
    application = Timing(application, os.environ["BENCH_GATE_TIMING"])
