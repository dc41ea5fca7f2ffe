#!/usr/bin/env python
"""Benchmark the gate check through the real app server, beside a bare Django JSON view.

For each database (--db sqlite|postgresql|both, default both):

- the embedded default (no DATABASE_URL: the project's SQLite file under TONGXIN_VAR, with its
  settings: WAL, immediate transactions, synchronous=NORMAL, a busy timeout, a connection per
  request), or PostgreSQL (a database it creates and drops, DATABASE_URL or
  postgres://postgres@127.0.0.1:5432/tongxin_bench_gate_<pid>);
- migrates, `tongxin synth --residents N`, collects static files (DEBUG off, keys of its own);
- stores every resident's status (most sampled within a day; some overdue, isolated, yellow, a
  case; some households under the strictest risk level), the exit policy of the issue's example
  in every compound (one person per household every 2 days, for at most 2 hours), one gate and one
  volunteer account per compound, and a pass per resident (Pass rows in bulk, codes signed with
  `access.signing.sign_pass`); a few residents hold an older pass since revoked, a few passes
  have expired, and a few codes are altered (a changed room under the original signature);
- starts gunicorn (--workers sync workers, DEBUG off) on `bench/gate_site.py`: the project's WSGI
  application with its settings, middleware and URLs, plus one bare JSON view (`POST
  /bench/bare`: the logged-in user read, the body read, a small JsonResponse);
- logs every volunteer in through /accounts/login/; --clients processes, each a gate device
  sending one request after the other's answer (session cookie, X-CSRFToken), alternate phases of
  the bare view and of `POST /api/v1/access/gates/{id}/check` with a pass code (--rounds of each,
  --seconds in all per kind, or --checks requests per kind); checks go out and in (residents let
  out come back), some with a revoked, expired or altered pass, which must be refused with that
  reason;
- `check_per_s` and `bare_per_s` (requests answered per second of wall time, clients included:
  they share the cores with the server and the database), their `ratio` (the goal: at least
  0.5), latency percentiles, the app server's (and PostgreSQL's) CPU per request;
- checks that every request was answered 200, refusals had their reason, and the AccessEvent rows
  equal the checks sent (exit status 1 otherwise);
- profile: --profile-checks checks and as many bare requests in process through Django's test
  client (CSRF enforced): the time per request, the SQL statements per request by kind and their
  time, a cProfile of the checks (top functions on stderr, the listing in --profile-out).

Prints one JSON object (with --db both: one per database and a summary) and drops what it made
(unless --keep).

    .venv/bin/python bench/gate.py                                  # both databases, 20,000 residents
    .venv/bin/python bench/gate.py --db sqlite --seconds 6          # a quick look
"""

import argparse
import base64
import cProfile
import http.client
import inspect
import io
import json
import multiprocessing
import os
import pstats
import random
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sampling import (  # noqa: E402
    cookie_header,
    cpu_seconds,
    database_pids,
    free_port,
    login,
    request,
    run_parallel,
    worker_pids,
)
from synth import create_database, drop_database  # noqa: E402
from testing_data import ROOT, bench_environment, prepare_database  # noqa: E402

GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
PASSWORD = "bench-gate-Pa55"  # noqa: S105 (the bench's own throwaway accounts)
CHECK_PATH = "/api/v1/access/gates/{}/check"
BARE_PATH = "/bench/bare"
VOLUNTEER_PREFIX = "bench-gate-"
GOAL_RATIO = 0.5

# The data's mix (shares of the residents)
REVOKED_SHARE = 0.02  # also hold an older pass, revoked (lost, reissued), shown at the gate
EXPIRED_SHARE = 0.01  # their only pass has expired
ALTERED_SHARE = 0.01  # their code shown with another room under the original signature
OVERDUE_SHARE = 0.08  # last sampled three days ago
ISOLATED_SHARE = 0.02  # home isolation (red)
YELLOW_SHARE = 0.03  # time-space overlap flag (yellow)
CASE_SHARE = 0.005  # a case (red)
SEALED_HOUSEHOLD_SHARE = 0.05  # the household lives under the strictest risk level


# --- data ------------------------------------------------------------------------------------------


def make_data(seed: int) -> dict:
    """Statuses, policies, gates, volunteers, passes; returns what the gate devices send: per
    compound its gate, volunteer and the codes shown at the gate (resident, code, the reason a
    refusal must give or None when the resident's status decides). Runs inside Django."""
    import datetime as dt

    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django.utils import timezone

    from tongxin.access.models import AccessPolicy, Gate, Pass
    from tongxin.access.signing import sign_pass
    from tongxin.accounts.models import Role, User
    from tongxin.outbreak.models import ResidentStatus
    from tongxin.outbreak.rules import active_rules
    from tongxin.outbreak.status import make_hold
    from tongxin.registry.models import Compound, Resident

    rng = random.Random(seed)
    now = timezone.now()
    compounds = list(
        Compound.objects.filter(code__startswith="SYN").order_by("pk").values_list("pk", flat=True)
    )
    people = list(
        Resident.objects.filter(compound_id__in=compounds)
        .order_by("pk")
        .values_list(
            "pk",
            "compound_id",
            "household_id",
            "building__number",
            "unit__number",
            "household__room",
            "presence",
        )
    )
    households = sorted({row[2] for row in people})
    sealed = set(rng.sample(households, int(len(households) * SEALED_HOUSEHOLD_SHARE)))
    strictest = active_rules().ordered_levels()[0].code
    week = now + dt.timedelta(days=7)
    mix = Counter()

    statuses = []
    for pk, compound, household, *_room_and_presence in people:
        draw = rng.random()
        holds = []
        last_sampled = now - dt.timedelta(hours=rng.uniform(1, 24))
        if draw < CASE_SHARE:
            holds, kind = [make_hold("red", "case", now - dt.timedelta(days=1), None)], "case"
        elif draw < CASE_SHARE + ISOLATED_SHARE:
            holds = [
                make_hold(
                    "red", "home_plain", now - dt.timedelta(days=2), week, month=week.month, day=week.day
                )
            ]
            kind = "isolated"
        elif draw < CASE_SHARE + ISOLATED_SHARE + YELLOW_SHARE:
            holds, kind = [make_hold("yellow", "flag_overlap", now - dt.timedelta(days=1), None)], "yellow"
        elif draw < CASE_SHARE + ISOLATED_SHARE + YELLOW_SHARE + OVERDUE_SHARE:
            last_sampled, kind = now - dt.timedelta(hours=72), "overdue"
        else:
            kind = "green"
        mix[kind] += 1
        statuses.append(
            ResidentStatus(
                resident_id=pk,
                compound_id=compound,
                holds=holds,
                last_sampled_at=last_sampled,
                risk_level=strictest if household in sealed else "",
                computed_at=now,
            )
        )

    hashed = make_password(PASSWORD)
    codes: dict[int, list] = defaultdict(list)  # compound -> [(resident, code, expected reason)]
    passes, signed = [], []
    for pk, compound, household, building, unit, room, presence in people:
        if presence == Resident.Presence.MOVED_OUT:  # passes go to those living here, as issued
            continue
        label = f"{building}-{unit}-{room}"
        draw = rng.random()
        expired = draw < EXPIRED_SHARE
        expires = now - dt.timedelta(days=1) if expired else now + dt.timedelta(days=30)
        number = pass_number()
        passes.append(
            Pass(
                number=number,
                compound_id=compound,
                household_id=household,
                resident_id=pk,
                issued_at=expires - dt.timedelta(days=30),
                expires_at=expires,
            )
        )
        code = sign_pass(number=number, compound_id=compound, room=label, expires_at=expires)
        signed.append((compound, pk, code, "expired" if expired else None))
        if EXPIRED_SHARE <= draw < EXPIRED_SHARE + REVOKED_SHARE:
            old = pass_number()
            issued = now - dt.timedelta(days=20)
            passes.append(
                Pass(
                    number=old,
                    compound_id=compound,
                    household_id=household,
                    resident_id=pk,
                    issued_at=issued,
                    expires_at=issued + dt.timedelta(days=30),
                    revoked_at=now - dt.timedelta(days=2),
                    revoked_reason=Pass.Revoked.LOST,
                )
            )
            old_code = sign_pass(
                number=old, compound_id=compound, room=label, expires_at=issued + dt.timedelta(days=30)
            )
            signed.append((compound, pk, old_code, "revoked"))
        elif EXPIRED_SHARE + REVOKED_SHARE <= draw < EXPIRED_SHARE + REVOKED_SHARE + ALTERED_SHARE:
            signed.append((compound, pk, altered(code), "forged"))
    for compound, pk, code, expected in signed:
        codes[compound].append((pk, code, expected))

    with transaction.atomic():
        ResidentStatus.objects.bulk_create(statuses, batch_size=2000)
        AccessPolicy.objects.bulk_create(
            [
                AccessPolicy(
                    compound_id=c,
                    exits_per_household=1,
                    exit_period_days=2,
                    exit_max_minutes=120,
                    sealed_no_exit=True,
                    exit_needs_test=True,
                )
                for c in compounds
            ]
        )
        gates = Gate.objects.bulk_create([Gate(compound_id=c, name="1号门") for c in compounds])
        users = User.objects.bulk_create(
            [
                User(
                    username=f"{VOLUNTEER_PREFIX}{c}",
                    password=hashed,
                    role=Role.VOLUNTEER,
                    compound_id=c,
                    is_active=True,
                )
                for c in compounds
            ]
        )
        Pass.objects.bulk_create(passes, batch_size=2000)
    refused = Counter(expected for entries in codes.values() for _pk, _code, expected in entries if expected)
    return {
        "gates": [
            {"compound": c, "gate": g.pk, "username": u.username, "user": u.pk, "codes": codes[c]}
            for c, g, u in zip(compounds, gates, users, strict=True)
        ],
        "summary": {
            "residents": len(people),
            "households": len(households),
            "compounds": len(compounds),
            "residents_moved_out": sum(1 for row in people if row[6] == Resident.Presence.MOVED_OUT),
            "passes": len(passes),
            "codes_shown": sum(len(v) for v in codes.values()),
            "codes_refused_by_pass": dict(refused),
            "statuses": dict(mix),
            "sealed_households": len(sealed),
            "sealed_level": strictest,
            "policy": "1 exit per household per 2 days, 120 minutes, sealed: no exit, test needed",
        },
    }


def pass_number() -> str:
    """A random number as the project issues them (10 characters, no 0/O, 1/I)."""
    return "".join(secrets.choice("23456789ABCDEFGHJKLMNPQRSTUVWXYZ") for _index in range(10))


def altered(code: str) -> str:
    """The code with another room in its payload and the original signature: a forgery."""
    prefix, payload, signature = code.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data["r"] = data["r"][:-1] + ("9" if data["r"][-1] != "9" else "8")
    raw = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    return f"{prefix}.{base64.urlsafe_b64encode(raw).rstrip(b'=').decode()}.{signature}"


# --- the app server and the gate devices -----------------------------------------------------------


def start_server(env: dict, workers: int, port: int, log_path: str) -> subprocess.Popen:
    log = open(log_path, "wb")  # noqa: SIM115 (closed with the process)
    server = subprocess.Popen(
        [
            str(GUNICORN),
            "--pythonpath",
            str(ROOT / "bench"),
            "gate_site:application",
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--timeout",
            "120",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited: see {log_path}\n" + Path(log_path).read_text()[-3000:])
        try:
            if request(port, "GET", "/accounts/login/")[0] == 200:
                return server
        except OSError:
            pass
        time.sleep(0.2)
    server.terminate()
    raise SystemExit("gunicorn did not answer within 60 s")


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


class Device:
    """A gate device: checks residents out and, later, the ones it let out back in; the bare
    view gets the same requests' bodies."""

    def __init__(self, gate: dict, jar: dict, rng: random.Random):
        self.gate, self.rng = gate, rng
        self.headers = {
            "Content-Type": "application/json",
            "Cookie": cookie_header(jar),
            "X-CSRFToken": jar["csrftoken"],
        }
        self.path = CHECK_PATH.format(gate["gate"])
        self.out: list[tuple] = []  # codes of residents let out and not yet back

    def next_check(self) -> tuple[str, tuple]:
        draw = self.rng.random()
        if draw < 0.45 and self.out:
            entry = self.out.pop(self.rng.randrange(len(self.out)))
            return "in", entry
        entry = self.rng.choice(self.gate["codes"])
        return ("in" if draw < 0.55 else "out"), entry


def device_process(pipe, port: int, gates: list[dict], jars: list[dict], seed: int) -> None:
    """One client process: runs the phases the parent sends, one request after the other's answer,
    the gates dealt to it in turn; answers each phase with its counts and latencies."""
    rng = random.Random(seed)
    devices = [Device(g, j, rng) for g, j in zip(gates, jars, strict=True)]
    while (command := pipe.recv()) is not None:
        kind, start_at, deadline, count = command
        latencies, problems = [], []
        verdicts, wrong = Counter(), []
        sent = 0
        cpu = time.process_time()
        time.sleep(max(0.0, start_at - time.time()))
        started = time.perf_counter()
        while (count is None and time.time() < deadline) or (count is not None and sent < count):
            device = devices[sent % len(devices)]
            direction, entry = device.next_check()
            resident, code, expected = entry
            body = json.dumps(
                {"id": str(uuid.uuid4()), "direction": direction, "code": code}, separators=(",", ":")
            ).encode()
            path = device.path if kind == "check" else BARE_PATH
            sent += 1
            began = time.perf_counter()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                conn.request("POST", path, body=body, headers=device.headers)
                response = conn.getresponse()
                status, raw = response.status, response.read()
                conn.close()
            except OSError as exc:
                problems.append({"kind": kind, "error": repr(exc)})
                continue
            latencies.append(time.perf_counter() - began)
            if status != 200:
                problems.append({"kind": kind, "status": status, "body": raw[:300].decode(errors="replace")})
                continue
            if kind != "check":
                continue
            answer = json.loads(raw)
            verdicts[(direction, answer.get("allowed"), answer.get("reason"))] += 1
            if expected and (answer.get("allowed") or answer.get("reason") != expected):
                wrong.append({"resident": resident, "expected": expected, "answer": answer})
            elif direction == "out" and answer.get("allowed") and not expected:
                device.out.append(entry)
        pipe.send(
            {
                "sent": sent,
                "seconds": time.perf_counter() - started,
                "ended_at": time.time(),
                "latencies": latencies,
                "problems": problems[:20],
                "problem_count": len(problems),
                "verdicts": dict(verdicts),
                "wrong": wrong[:10],
                "wrong_count": len(wrong),
                "cpu_seconds": time.process_time() - cpu,
            }
        )
    pipe.close()


class Devices:
    """--clients processes (forked: no Django in them), the gates dealt to them in turn."""

    def __init__(self, port: int, gates: list[dict], jars: list[dict], clients: int, seed: int):
        context = multiprocessing.get_context("fork")
        self.pipes, self.processes = [], []
        for index in range(clients):
            mine = [(g, j) for i, (g, j) in enumerate(zip(gates, jars, strict=True)) if i % clients == index]
            if not mine:  # more clients than gates: gates are shared
                mine = [(gates[index % len(gates)], jars[index % len(gates)])]
            ours, theirs = context.Pipe()
            process = context.Process(
                target=device_process,
                args=(theirs, port, [g for g, _j in mine], [j for _g, j in mine], seed * 1000 + index),
                daemon=True,
            )
            process.start()
            self.pipes.append(ours)
            self.processes.append(process)

    def run(self, kind: str, *, seconds: float | None = None, count: int | None = None) -> dict:
        start_at = time.time() + 0.2
        deadline = start_at + seconds if seconds is not None else None
        per_client = None
        if count is not None:
            per_client = [
                count // len(self.pipes) + (i < count % len(self.pipes)) for i in range(len(self.pipes))
            ]
        for index, pipe in enumerate(self.pipes):
            pipe.send((kind, start_at, deadline, per_client[index] if per_client else None))
        parts = [pipe.recv() for pipe in self.pipes]
        verdicts = Counter()
        for part in parts:
            verdicts.update(part["verdicts"])
        return {
            "sent": sum(p["sent"] for p in parts),
            "seconds": max(p["ended_at"] for p in parts) - start_at,
            "latencies": [x for p in parts for x in p["latencies"]],
            "problems": [x for p in parts for x in p["problems"]][:10],
            "problem_count": sum(p["problem_count"] for p in parts),
            "verdicts": verdicts,
            "wrong": [x for p in parts for x in p["wrong"]][:5],
            "wrong_count": sum(p["wrong_count"] for p in parts),
            "client_cpu_seconds": sum(p["cpu_seconds"] for p in parts),
        }

    def close(self) -> None:
        for pipe in self.pipes:
            pipe.send(None)
        for process in self.processes:
            process.join(timeout=10)


def percentiles(latencies: list[float]) -> dict:
    if not latencies:
        return {}
    ordered = sorted(latencies)

    def at(share):
        return round(ordered[min(len(ordered) - 1, int(len(ordered) * share))] * 1000, 2)

    return {
        "p50": round(statistics.median(ordered) * 1000, 2),
        "p90": at(0.90),
        "p95": at(0.95),
        "p99": at(0.99),
        "max": round(ordered[-1] * 1000, 2),
    }


# --- profile ---------------------------------------------------------------------------------------

STATEMENT_TABLE = re.compile(r'\b(?:FROM|INTO|UPDATE)\s+"?([a-z_][a-z0-9_]*)"?', re.IGNORECASE)
PARENTHESES = re.compile(r"\([^()]*\)")


def statement_kind(statement: str) -> str:
    """The statement's verb and its outermost table ("SELECT access_pass"): subqueries, CTE bodies
    and function calls dropped first."""
    words = statement.split(None, 1)
    verb = words[0].upper() if words else "?"
    outer, previous = statement, None
    while outer != previous:
        previous, outer = outer, PARENTHESES.sub(" ", outer)
    # the first table named outside parentheses; else (a CTE's name) the first inside them
    tables = [m.group(1) for m in STATEMENT_TABLE.finditer(outer)] + [
        m.group(1) for m in STATEMENT_TABLE.finditer(statement)
    ]
    table = next((t for t in tables if "_" in t), None)  # the app's tables are app_model
    return f"{verb} {table}" if table else verb


class SqlCounter:
    """connection.execute_wrapper: statements and their time by kind ("SELECT access_pass")."""

    def __init__(self):
        self.seconds = defaultdict(float)
        self.count = defaultdict(int)

    def __call__(self, execute, statement, params, many, context):
        started = time.perf_counter()
        try:
            return execute(statement, params, many, context)
        finally:
            key = statement_kind(statement)
            self.seconds[key] += time.perf_counter() - started
            self.count[key] += 1


def profile_requests(gates: list[dict], count: int, out_path: str | None) -> dict:
    """`count` checks and `count` bare requests in process (Django's test client, CSRF enforced,
    the same URL configuration as the server), after a warm-up, one of each in turn: the time
    Django takes per request (the handler: middleware and view, without the test client's own
    work), the SQL statements by kind and their time, and for the checks the time of each step
    (the API module's calls, each function of the check's action module, inclusive); then a
    cProfile of `count` more of each."""
    import gate_site  # noqa: F401 (the bench's URL configuration, as the server has it)
    from django.db import connection
    from django.middleware.csrf import _get_new_csrf_string
    from django.test import Client
    from django.test.client import ClientHandler

    from tongxin.access.actions import gates as action
    from tongxin.access.api import gates as api
    from tongxin.accounts.models import User

    rng = random.Random(7)
    clients = []
    for gate in gates:
        client = Client(enforce_csrf_checks=True)
        client.force_login(User.objects.get(pk=gate["user"]))
        token = _get_new_csrf_string()
        client.cookies["csrftoken"] = token
        clients.append((client, token, Device(gate, {"csrftoken": token}, rng)))
    checks = Counter()

    def one(kind: str, index: int):
        client, token, device = clients[index % len(clients)]
        direction, entry = device.next_check()
        response = client.post(
            device.path if kind == "check" else BARE_PATH,
            json.dumps({"id": str(uuid.uuid4()), "direction": direction, "code": entry[1]}),
            content_type="application/json",
            headers={"X-CSRFToken": token},
        )
        if response.status_code != 200:
            raise SystemExit(f"profile {kind}: HTTP {response.status_code} {response.content[:300]!r}")
        if kind == "check":
            checks["sent"] += 1
            answer = response.json()
            if direction == "out" and answer.get("allowed") and not entry[2]:
                device.out.append(entry)

    for index in range(min(count, 50)):  # warm-up: imports, URL resolution, schemas, compiled queries
        one("bare", index)
        one("check", index)

    backend = None  # PostgreSQL: this process's backend, whose CPU each request adds to
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = [cursor.fetchone()[0]]
    current = {"kind": "bare"}
    counters = {"bare": SqlCounter(), "check": SqlCounter()}
    handler = defaultdict(float)
    phases = defaultdict(float)
    patched = []

    def timed(name, fn, into):
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                into[name] += time.perf_counter() - started

        return wrapper

    def statement(execute, sql, params, many, context):
        return counters[current["kind"]](execute, sql, params, many, context)

    # the API module's calls (looked up as its globals at call time), every function of the access
    # app the action module calls (its own and those it imports; inclusive: a step's time holds
    # the helpers it calls)
    targets = [(api, name) for name in ("gate_for_check", "gate_check", "_compact") if hasattr(api, name)]
    targets += [
        (action, name)
        for name, value in vars(action).items()
        if inspect.isfunction(value)
        and value.__module__.startswith("tongxin.access")
        and name != "gate_check"
    ]
    for module, name in targets:
        patched.append((module, name, getattr(module, name)))
        label = f"{name} (api)" if module is api else name
        setattr(module, name, timed(label, getattr(module, name), phases))
    patched.append((ClientHandler, "get_response", ClientHandler.get_response))

    def get_response(self, request):
        started, cpu = time.perf_counter(), time.thread_time()
        try:
            return patched[-1][2](self, request)
        finally:
            handler[current["kind"]] += time.perf_counter() - started
            handler[current["kind"] + " cpu"] += time.thread_time() - cpu

    ClientHandler.get_response = get_response
    try:
        with connection.execute_wrapper(statement):
            for index in range(count):
                for kind in ("bare", "check"):
                    current["kind"] = kind
                    before = cpu_seconds(backend) if backend else 0
                    one(kind, index)
                    if backend:
                        handler[kind + " database"] += cpu_seconds(backend) - before
    finally:
        for module, name, fn in patched:
            setattr(module, name, fn)
    result = {}
    for kind, counter in counters.items():
        result[kind] = {
            "django_ms_per_request": round(handler[kind] * 1000 / count, 3),
            "django_cpu_ms_per_request": round(handler[kind + " cpu"] * 1000 / count, 3),
            "database_backend_cpu_ms_per_request": (
                round(handler[kind + " database"] * 1000 / count, 3) if backend else None
            ),
            "sql_statements_per_request": round(sum(counter.count.values()) / count, 2),
            "sql_ms_per_request": round(sum(counter.seconds.values()) * 1000 / count, 3),
            "sql_by_kind": {
                key: {
                    "per_request": round(counter.count[key] / count, 2),
                    "ms_per_request": round(value * 1000 / count, 3),
                }
                for key, value in sorted(counter.seconds.items(), key=lambda kv: -kv[1])
            },
        }
    result["check"]["steps_ms_per_request"] = {
        name: round(seconds * 1000 / count, 3)
        for name, seconds in sorted(phases.items(), key=lambda kv: -kv[1])
    }
    listing = io.StringIO()
    for kind in ("check", "bare"):
        profiler = cProfile.Profile()
        profiler.enable()
        for index in range(count):
            one(kind, index)
        profiler.disable()
        print(f"=== {count} {kind} requests in process ===", file=listing)
        stats = pstats.Stats(profiler, stream=listing)
        stats.sort_stats("cumulative").print_stats(60)
        stats.sort_stats("tottime").print_stats(40)
        if out_path:
            profiler.dump_stats(f"{out_path}.{kind}.pstats")  # for pstats: callers, callees
        if kind == "check":
            top = io.StringIO()
            pstats.Stats(profiler, stream=top).sort_stats("tottime").print_stats(20)
            print(top.getvalue(), file=sys.stderr)
    if out_path:
        Path(out_path).write_text(listing.getvalue())
    result["checks_sent"] = checks["sent"]
    result["in_process_check_vs_bare"] = round(
        result["bare"]["django_ms_per_request"] / result["check"]["django_ms_per_request"], 3
    )
    result["cprofile_file"] = out_path
    return result


# --- one database ----------------------------------------------------------------------------------


def server_timing(directory: str) -> dict:
    """The gunicorn workers' own timing (bench/gate_site.py, --server-timing), warm-up included:
    per request of each kind, the view's wall and CPU milliseconds, and each kind of SQL
    statement's count and wall milliseconds."""
    sums = ("requests", "wall", "cpu", "close_wall", "close_cpu")
    totals = defaultdict(lambda: {**dict.fromkeys(sums, 0), "sql": defaultdict(lambda: [0, 0.0])})
    for path in Path(directory).glob("worker-*.json"):
        for kind, data in json.loads(path.read_text()).items():
            total = totals[kind]
            for key in sums:
                total[key] += data[key]
            for statement, (count, seconds) in data["sql"].items():
                total["sql"][statement][0] += count
                total["sql"][statement][1] += seconds
    out = {}
    for kind, total in totals.items():
        n = total["requests"] or 1
        out[kind] = {
            "requests": total["requests"],
            "wall_ms_per_request": round(total["wall"] * 1000 / n, 3),
            "cpu_ms_per_request": round(total["cpu"] * 1000 / n, 3),
            "close_wall_ms_per_request": round(total["close_wall"] * 1000 / n, 3),
            "close_cpu_ms_per_request": round(total["close_cpu"] * 1000 / n, 3),
            "sql_wall_ms_per_request": round(sum(s for _c, s in total["sql"].values()) * 1000 / n, 3),
            "sql": {
                statement: {
                    "per_request": round(count / n, 2),
                    "wall_ms_per_request": round(seconds * 1000 / n, 3),
                }
                for statement, (count, seconds) in sorted(total["sql"].items(), key=lambda kv: -kv[1][1])
            },
        }
    return out


def access_events() -> int:
    from tongxin.access.models import AccessEvent

    return AccessEvent.objects.count()


def measure(args, env: dict, url: str | None, var_dir: str) -> dict:
    import django

    django.setup()
    from django.db import connection, connections

    vendor = connection.vendor
    started = time.perf_counter()
    data = make_data(args.seed)
    setup_seconds = time.perf_counter() - started
    connections.close_all()
    gates = data["gates"]

    port = free_port()
    timing_dir = None
    if args.server_timing:
        timing_dir = tempfile.mkdtemp(prefix="timing-", dir=var_dir)
        env = {**env, "BENCH_GATE_TIMING": timing_dir}
    server = start_server(env, args.workers, port, os.path.join(var_dir, "gunicorn.log"))
    devices = None
    phases = {"bare": [], "check": []}
    try:
        jars = []
        for first in range(0, len(gates), 8):  # 8 logins at a time
            part = gates[first : first + 8]
            jars += run_parallel(len(part), lambda i, part=part: login(port, part[i]["username"], PASSWORD))
        devices = Devices(port, gates, jars, args.clients, args.seed)
        warm = {
            kind: devices.run(kind, count=max(args.clients * 10, args.workers * 10))
            for kind in ("bare", "check")
        }
        checks_sent = warm["check"]["sent"]
        problems = warm["bare"]["problems"] + warm["check"]["problems"]
        problem_count = warm["bare"]["problem_count"] + warm["check"]["problem_count"]
        pids = {"app_server": worker_pids(server.pid)}
        if vendor == "postgresql":  # this database's backends; PostgreSQL's own processes (shared)
            found = database_pids(url)
            pids.update(database_backends=found["backends"], database_server=found["server"])
        for _round in range(args.rounds):
            for kind in ("bare", "check"):
                before = {name: cpu_seconds(p) for name, p in pids.items()}
                load = os.getloadavg()[0]
                if args.checks:
                    run = devices.run(kind, count=args.checks // args.rounds)
                else:
                    run = devices.run(kind, seconds=args.seconds / args.rounds)
                run["cpu"] = {name: cpu_seconds(p) - before[name] for name, p in pids.items()}
                run["load_before"] = load
                phases[kind].append(run)
                if kind == "check":
                    checks_sent += run["sent"]
                problems += run["problems"]
                problem_count += run["problem_count"]
                print(
                    f"{vendor} {kind}: {run['sent']} in {run['seconds']:.1f} s "
                    f"({run['sent'] / run['seconds']:.0f}/s)",
                    file=sys.stderr,
                )
    finally:
        if devices is not None:
            devices.close()
        stop_server(server)

    stored = access_events()
    timing = server_timing(timing_dir) if timing_dir else None
    events_match = stored == checks_sent
    profile = profile_requests(gates, args.profile_checks, args.profile_out) if args.profile_checks else None

    def totals(kind: str) -> dict:
        runs = phases[kind]
        sent = sum(r["sent"] for r in runs)
        seconds = sum(r["seconds"] for r in runs)
        cpu = {
            f"{name}_cpu_us_per_request": round(sum(r["cpu"][name] for r in runs) * 1e6 / sent, 1)
            for name in runs[0]["cpu"]
        }
        return {
            "requests": sent,
            "seconds": round(seconds, 2),
            "per_s": round(sent / seconds, 1),
            "latency_ms": percentiles([x for r in runs for x in r["latencies"]]),
            **cpu,
            "client_cpu_us_per_request": round(sum(r["client_cpu_seconds"] for r in runs) * 1e6 / sent, 1),
            # each round: its rate, p95, the cores the app server kept busy, the load average
            # before it (other work on the machine shows here)
            "rounds": [
                {
                    "per_s": round(r["sent"] / r["seconds"], 1),
                    "p95_ms": percentiles(r["latencies"]).get("p95"),
                    "app_server_cores": round(r["cpu"]["app_server"] / r["seconds"], 2),
                    "load_before": round(r["load_before"], 2),
                }
                for r in runs
            ],
        }

    check, bare = totals("check"), totals("bare")

    def server_cpu(kind: dict) -> float:
        return kind["app_server_cpu_us_per_request"] + kind.get("database_backends_cpu_us_per_request", 0)

    verdicts = Counter()
    for run in phases["check"]:
        verdicts.update(run["verdicts"])
    by_direction = defaultdict(dict)
    for (direction, allowed, reason), n in sorted(verdicts.items(), key=lambda kv: -kv[1]):
        by_direction[direction][f"{'pass' if allowed else 'stop'} {reason}"] = n
    wrong = [w for run in phases["check"] for w in run["wrong"]]
    wrong_count = sum(run["wrong_count"] for run in phases["check"])
    ratio = check["per_s"] / bare["per_s"] if bare["per_s"] else 0
    ok = events_match and not problem_count and not wrong_count
    return {
        "db": vendor,
        "database": (
            "embedded default: SQLite file, WAL, IMMEDIATE transactions, synchronous=NORMAL, "
            "a connection per request"
            if vendor == "sqlite"
            else "PostgreSQL, connections kept 60 s (DB_CONN_MAX_AGE default)"
        ),
        "check_per_s": check["per_s"],
        "bare_per_s": bare["per_s"],
        "ratio": round(ratio, 3),
        # the same comparison by the CPU a request costs the server (the app server's workers and,
        # on PostgreSQL, this database's backends): less swayed by other work on the machine
        "ratio_by_server_cpu": round(server_cpu(bare) / server_cpu(check), 3) if server_cpu(check) else None,
        "goal_ratio": GOAL_RATIO,
        "goal_met": ratio >= GOAL_RATIO,
        "check_latency_ms": check["latency_ms"],
        "bare_latency_ms": bare["latency_ms"],
        "check": check,
        "bare": bare,
        "checks_sent": checks_sent,
        "access_events": stored,
        "events_match": events_match,
        "verdicts": by_direction,
        "refusals_with_their_reason": not wrong_count,
        "wrong_answers": wrong[:5],
        "problems": problems[:5],
        "problem_count": problem_count,
        "data": data["summary"],
        "data_seconds": round(setup_seconds, 1),
        "clients": args.clients,
        "workers": args.workers,
        "rounds": args.rounds,
        "server": f"gunicorn, {args.workers} sync workers, DEBUG off, bench/gate_site.py",
        "profile": profile,
        "server_timing": timing,
        "cpus": os.cpu_count(),
        "load_average_during": [
            round(r["load_before"], 2) for kind in ("bare", "check") for r in phases[kind]
        ],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "ok": ok,
    }


def run_one(args) -> dict:
    var_dir = tempfile.mkdtemp(prefix=f"tongxin-bench-gate-{args.db}-")
    url = created = None
    if args.db == "postgresql":
        url = args.database_url or f"postgres://postgres@127.0.0.1:5432/tongxin_bench_gate_{os.getpid()}"
        created = create_database(url)
        env = bench_environment(url, var_dir)
    else:
        env = bench_environment("", var_dir)
        env.pop("DATABASE_URL")  # the embedded default: var/tongxin.sqlite3 under TONGXIN_VAR
    try:
        started = time.perf_counter()
        synth = prepare_database(env, args.residents, args.seed, collectstatic=True)
        prepare_seconds = time.perf_counter() - started
        os.environ.clear()
        os.environ.update(env)
        sys.path.insert(0, str(ROOT / "src"))
        result = measure(args, env, url, var_dir)
        result["residents"] = synth["residents"]
        result["prepare_seconds"] = round(prepare_seconds, 1)
    finally:
        if args.keep:
            result_where = url or os.path.join(var_dir, "tongxin.sqlite3")
            print(f"kept: {result_where}", file=sys.stderr)
        else:
            if created:
                drop_database(url)
            shutil.rmtree(var_dir, ignore_errors=True)
    return result


def child_arguments(args, db: str) -> list[str]:
    """The command line of one database's run (--db both runs each in a process of its own: a
    process configures Django once)."""
    out = ["--db", db, "--residents", str(args.residents), "--seconds", str(args.seconds)]
    out += ["--rounds", str(args.rounds), "--clients", str(args.clients), "--workers", str(args.workers)]
    out += ["--profile-checks", str(args.profile_checks), "--seed", str(args.seed)]
    if args.checks:
        out += ["--checks", str(args.checks)]
    if args.profile_out:
        out += ["--profile-out", f"{args.profile_out}.{db}"]
    if args.database_url and db == "postgresql":
        out += ["--database-url", args.database_url]
    if args.keep:
        out.append("--keep")
    if args.server_timing:
        out.append("--server-timing")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--residents", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=20, help="per kind (bare, check) and database")
    parser.add_argument("--checks", type=int, help="requests per kind instead of --seconds")
    parser.add_argument(
        "--rounds", type=int, default=4, help="alternate bare and check phases this many times"
    )
    parser.add_argument("--clients", type=int, default=4, help="client processes, each a gate device")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn sync workers")
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument(
        "--profile-checks", type=int, default=300, help="in-process requests profiled; 0: none"
    )
    parser.add_argument("--profile-out", help="write the cProfile listing of the checks here")
    parser.add_argument(
        "--server-timing",
        action="store_true",
        help="the workers time their views and SQL statements (a little overhead on both kinds)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"), help="PostgreSQL only")
    parser.add_argument("--keep", action="store_true", help="keep the databases (and print where)")
    args = parser.parse_args()
    if args.db != "both":
        result = {"bench": "gate_check", **run_one(args)}
        print(json.dumps(result, ensure_ascii=False))
        return 0 if result["ok"] else 1

    results = {}
    for db in ("sqlite", "postgresql"):
        forwarded = child_arguments(args, db)
        out = subprocess.run(
            [sys.executable, __file__, *forwarded], stdout=subprocess.PIPE, text=True, check=False
        )
        lines = out.stdout.strip().splitlines()
        results[db] = json.loads(lines[-1]) if lines else {"ok": False, "exit_status": out.returncode}
    summary = {
        db: {
            key: r.get(key)
            for key in (
                "check_per_s",
                "bare_per_s",
                "ratio",
                "ratio_by_server_cpu",
                "goal_met",
                "events_match",
                "ok",
            )
        }
        | {
            "check_p50_ms": r.get("check_latency_ms", {}).get("p50"),
            "check_p95_ms": r.get("check_latency_ms", {}).get("p95"),
            "bare_p50_ms": r.get("bare_latency_ms", {}).get("p50"),
            "bare_p95_ms": r.get("bare_latency_ms", {}).get("p95"),
        }
        for db, r in results.items()
    }
    ok = all(r.get("ok") for r in results.values())
    print(json.dumps({"bench": "gate_check", "summary": summary, **results, "ok": ok}, ensure_ascii=False))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
