#!/usr/bin/env python
"""Benchmark the sampling tables' sync through the real app server, against a plain COPY.

Creates a database (DATABASE_URL, or postgres://postgres@127.0.0.1:5432/tongxin_bench_sampling_<pid>),
migrates it, fills it with `tongxin synth --residents N` and stores every resident's status row,
plans today's round over every synth compound (one point, one table and one volunteer per
compound), then:

- starts gunicorn with the project's WSGI app (DEBUG off, --workers), logs every table's volunteer
  in through /accounts/login/, and has --clients threads post each table's events (tube_open, 10
  people by resident id as the page's roster sends them, or --id-card-share of them by ID number as
  a scanned ID card, tube_close per tube) in batches of --batch events to POST /api/v1/testing/tables/{id}/sync
  with the session cookie and the CSRF token, each table's batches in the device's order;
  `scans_per_s` is person-scans (sample events) over the wall time from the first request to the
  last answer, client threads included (they share the 2 cores with the server and PostgreSQL);
- checks that every event was answered stored and that the database holds exactly the samples sent;
- baseline, in the same run and database: the same tube and sample rows (exported, untimed) COPied
  into copies of testing_tube and testing_sample with the same indexes, unique constraints and
  foreign keys (`copy_rows_per_s`, and `copy_scans_per_s` counting the sample rows only), then
  into copies without the foreign keys;
- profile: --profile-compounds compounds are left out of the timed run and synced in process
  through the API with Django's test client, one batch at a time: the time per phase of the sync
  action, the SQL statements' time, and a cProfile of one batch (top functions to stderr, the full
  listing to --profile-out, the raw statistics to <profile-out>.pstats).

Prints one JSON object and drops the database it created (unless --keep).

    .venv/bin/python bench/sampling.py --residents 200000 --batch 1000 --clients 4 --workers 3
"""

import argparse
import cProfile
import http.client
import inspect
import io
import json
import os
import pstats
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synth import create_database, drop_database  # noqa: E402
from testing_data import (  # noqa: E402
    ROOT,
    batches,
    bench_environment,
    id_card_numbers,
    prepare_database,
    residents_by_compound,
    sampling_round,
    store_statuses,
    table_events,
)

GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
PASSWORD = "bench-sampling-Pa55"  # noqa: S105 (the bench's own throwaway accounts)
SYNC_PATH = "/api/v1/testing/tables/{}/sync"


# --- the app server and its clients ----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(env: dict, workers: int, port: int, log_path: str) -> subprocess.Popen:
    log = open(log_path, "wb")  # noqa: SIM115 (closed with the process)
    # each worker keeps its database connection for the whole run, so that its backend's CPU can
    # be read from /proc (the default, 60 s, reconnects once a minute: no cost that shows here)
    env = {**env, "DB_CONN_MAX_AGE": "3600"}
    server = subprocess.Popen(
        [
            str(GUNICORN),
            "tongxin.config.wsgi",
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--timeout",
            "300",
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
            status, _headers, _body = request(port, "GET", "/accounts/login/")
            if status == 200:
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


def request(port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


def cookies_of(headers, jar: dict) -> dict:
    for line in headers.get_all("Set-Cookie") or []:
        for name, morsel in SimpleCookie(line).items():
            jar[name] = morsel.value
    return jar


def cookie_header(jar: dict) -> str:
    return "; ".join(f"{name}={value}" for name, value in jar.items())


def login(port: int, username: str, password: str = PASSWORD) -> dict:
    """Log in through the login page as a browser does; returns the session's cookies."""
    status, headers, body = request(port, "GET", "/accounts/login/")
    jar = cookies_of(headers, {})
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
    if status != 200 or not token or "csrftoken" not in jar:
        raise SystemExit(f"login page: HTTP {status}")
    form = urlencode(
        {"username": username, "password": password, "csrfmiddlewaretoken": token.group(1).decode()}
    )
    status, headers, _body = request(
        port,
        "POST",
        "/accounts/login/",
        form.encode(),
        {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie_header(jar)},
    )
    cookies_of(headers, jar)
    if status != 302 or "sessionid" not in jar:
        raise SystemExit(f"login of {username}: HTTP {status}")
    return jar


def run_parallel(count: int, work) -> list:
    """work(index) in `count` threads; re-raises the first failure."""
    results, errors = [None] * count, []

    def target(index):
        try:
            results[index] = work(index)
        except BaseException as exc:  # noqa: BLE001 (re-raised below)
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def post_batches(port: int, per_table: list[list[tuple]], clients: int) -> dict:
    """Tables are dealt to the client threads; each thread posts its tables' batches round-robin,
    every table's batches in the device's order, one after the other's answer. Returns the wall
    time, each answer's latency and whatever was not answered stored."""
    queues = [interleave(per_table[i::clients]) for i in range(clients)]
    latencies, problems = [], []

    def client(index):
        for table, jar, body, ids in queues[index]:
            started = time.perf_counter()
            status, _headers, raw = request(
                port,
                "POST",
                SYNC_PATH.format(table),
                body,
                {
                    "Content-Type": "application/json",
                    "Cookie": cookie_header(jar),
                    "X-CSRFToken": jar["csrftoken"],
                },
            )
            latencies.append(time.perf_counter() - started)
            if status != 200:
                problems.append(
                    {"table": table, "status": status, "body": raw[:300].decode(errors="replace")}
                )
                continue
            answer = json.loads(raw)
            if answer["refused"] or set(answer["stored"]) != ids:
                problems.append(
                    {"table": table, "refused": answer["refused"][:3], "stored": len(answer["stored"])}
                )

    cpu = time.process_time()
    started = time.perf_counter()
    run_parallel(clients, client)
    return {
        "seconds": time.perf_counter() - started,
        "client_cpu_seconds": time.process_time() - cpu,
        "latencies": latencies,
        "problems": problems,
    }


def server_counters(url: str) -> dict:
    """PostgreSQL's cumulative counters: WAL written, this database's blocks read and found in
    shared buffers, checkpoints; two readings give what happened between them."""
    with psycopg.connect(url, autocommit=True) as conn:
        wal, read, hit = conn.execute(
            "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn, blks_read, blks_hit FROM pg_stat_database "
            "WHERE datname = current_database()"
        ).fetchone()
        checkpoints = conn.execute(
            "SELECT num_timed + num_requested FROM pg_stat_checkpointer"  # PostgreSQL 17
            if conn.info.server_version >= 170000
            else "SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter"
        ).fetchone()[0]
    return {"wal_bytes": int(wal), "blocks_read": read, "blocks_hit": hit, "checkpoints": checkpoints}


def cpu_seconds(pids) -> float:
    """User and system CPU time of these processes so far (Linux /proc; gone processes count 0)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def worker_pids(master: int) -> list[int]:
    return [
        int(entry.name)
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit() and _parent(entry.name) == master
    ]


def _parent(pid: str) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def database_pids(url: str) -> dict[str, list[int]]:
    """This database's client backends, and the server's own processes (WAL writer, checkpointer,
    background writer, autovacuum), which work for every database."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid, backend_type, datname = current_database() FROM pg_stat_activity "
            "WHERE pid <> pg_backend_pid()"
        ).fetchall()
    return {
        "backends": [pid for pid, kind, ours in rows if kind == "client backend" and ours],
        "server": [pid for pid, kind, _ours in rows if kind != "client backend"],
    }


def counters_between(before: dict, after: dict, scans: int) -> dict:
    return {
        "wal_bytes_per_scan": round((after["wal_bytes"] - before["wal_bytes"]) / scans),
        "blocks_read_per_scan": round((after["blocks_read"] - before["blocks_read"]) / scans, 2),
        "blocks_hit_per_scan": round((after["blocks_hit"] - before["blocks_hit"]) / scans, 1),
        "checkpoints": after["checkpoints"] - before["checkpoints"],
    }


def interleave(per_table: list[list]) -> list:
    """Round-robin over the tables: one batch of each, then the next of each."""
    out = []
    for depth in range(max(map(len, per_table), default=0)):
        out.extend(queue[depth] for queue in per_table if depth < len(queue))
    return out


# --- baseline ---------------------------------------------------------------------------------------


def copy_baseline(url: str) -> dict:
    """COPY the tube and sample rows the sync stored into copies of their tables with the same
    indexes, unique constraints and foreign keys, one transaction as a batch is; then the same
    into copies without the foreign keys (what their checks cost)."""
    rows, counts, seconds = {}, {}, {}
    with psycopg.connect(url) as conn:
        for table in ("testing_tube", "testing_sample"):
            buffer = tempfile.TemporaryFile(dir=os.environ.get("TMPDIR"))  # noqa: SIM115
            with conn.cursor().copy(sql.SQL("COPY {} TO STDOUT").format(sql.Identifier(table))) as copy:
                for block in copy:
                    buffer.write(block)
            rows[table] = buffer
            counts[table] = conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
            ).fetchone()[0]
            foreign_keys = conn.execute(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
                "AND contype = 'f'",
                [table],
            ).fetchall()
            for copy_table, keys in ((f"bench_fk_{table}", foreign_keys), (f"bench_nofk_{table}", [])):
                conn.execute(
                    sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING ALL)").format(
                        sql.Identifier(copy_table), sql.Identifier(table)
                    )
                )
                for (definition,) in keys:
                    conn.execute(
                        sql.SQL("ALTER TABLE {} ADD {}").format(
                            sql.Identifier(copy_table), sql.SQL(definition)
                        )
                    )
        conn.commit()
        for kind in ("fk", "nofk"):
            if kind == "fk":
                wal = conn.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn").fetchone()[0]
            started = time.perf_counter()
            for table, buffer in rows.items():
                buffer.seek(0)
                with conn.cursor().copy(
                    sql.SQL("COPY {} FROM STDIN").format(sql.Identifier(f"bench_{kind}_{table}"))
                ) as copy:
                    while block := buffer.read(1 << 20):
                        copy.write(block)
            conn.commit()
            seconds[kind] = time.perf_counter() - started
            if kind == "fk":
                wal = conn.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn - %s", [wal]).fetchone()[0]
                conn.commit()
        for kind in ("fk", "nofk"):
            for table in rows:
                conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(f"bench_{kind}_{table}")))
        conn.commit()
    for buffer in rows.values():
        buffer.close()
    return {
        "seconds": seconds["fk"],
        "no_fk_seconds": seconds["nofk"],
        "wal_bytes": int(wal),
        "tubes": counts["testing_tube"],
        "samples": counts["testing_sample"],
    }


# --- profile ----------------------------------------------------------------------------------------

PHASES_IMPORTED = ("statuses_sampled", "audit")  # what the sync action calls from other modules


class SqlTimer:
    """connection.execute_wrapper: time per kind of statement."""

    def __init__(self):
        self.seconds = defaultdict(float)
        self.count = defaultdict(int)

    def __call__(self, execute, statement, params, many, context):
        started = time.perf_counter()
        try:
            return execute(statement, params, many, context)
        finally:
            words = statement.split()
            verb = words[0].upper() if words else "?"
            table = next(
                (
                    w.strip('"')
                    for w in words
                    if w.strip('"').startswith(
                        ("testing_", "registry_", "outbreak_", "core_", "accounts_", "django_")
                    )
                ),
                "",
            )
            key = f"{verb} {table}".strip()
            self.seconds[key] += time.perf_counter() - started
            self.count[key] += 1


def profile_sync(tables: list[dict], events_of: dict, batch: int, out_path: str | None) -> dict:
    """Sync the left-out compounds' batches in process through the API (Django's test client):
    the first compounds' batches timed by phase, one batch of the last under cProfile."""
    from django.db import connection
    from django.test import Client

    from tongxin.accounts.models import User
    from tongxin.testing.actions import sampling as action
    from tongxin.testing.api import station

    def post(client, table, events):
        response = client.post(
            SYNC_PATH.format(table), json.dumps({"events": events}), content_type="application/json"
        )
        answer = response.json()
        if response.status_code != 200 or answer["refused"] or len(answer["stored"]) != len(events):
            raise SystemExit(
                f"profile batch not stored: HTTP {response.status_code} {str(answer.get('refused', answer))[:500]}"
            )

    # warm up the process (URL resolution, the API's schemas, the ORM's compiled queries) with the
    # profiled table's first batch; that table's second batch is the one profiled at the end
    timed_tables, profiled = tables[:-1], tables[-1]
    profiled_client = Client()
    profiled_client.force_login(User.objects.get(pk=profiled["user"]))
    profiled_chunks = batches(events_of[profiled["table"]], batch)
    post(profiled_client, profiled["table"], profiled_chunks[0])

    phases = defaultdict(float)
    wrapped = {}

    def timed(name, fn):
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                phases[name] += time.perf_counter() - started

        return wrapper

    # every function of the action's module (inclusive times: a step's time holds the helpers it
    # calls) and what it calls from other modules; the API view's call of the action itself
    names = [
        name
        for name, value in vars(action).items()
        if inspect.isfunction(value) and value.__module__ == action.__name__ and name != "sampling_sync"
    ]
    for name in [*names, *PHASES_IMPORTED]:
        if callable(getattr(action, name, None)):
            wrapped[(action, name)] = getattr(action, name)
            setattr(action, name, timed(name, wrapped[(action, name)]))
    wrapped[(station, "sampling_sync")] = station.sampling_sync
    station.sampling_sync = timed("sampling_sync (with its commit)", station.sampling_sync)

    timer = SqlTimer()
    requests = events = scans = 0
    request_seconds = 0.0
    try:
        with connection.execute_wrapper(timer):
            for table in timed_tables:
                client = Client()
                client.force_login(User.objects.get(pk=table["user"]))
                for chunk in batches(events_of[table["table"]], batch):
                    started = time.perf_counter()
                    post(client, table["table"], chunk)
                    request_seconds += time.perf_counter() - started
                    requests += 1
                    events += len(chunk)
                    scans += sum(1 for e in chunk if e["type"] == "sample")
    finally:
        for (module, name), fn in wrapped.items():
            setattr(module, name, fn)

    profiler = cProfile.Profile()
    profiler.enable()
    post(profiled_client, profiled["table"], profiled_chunks[1] if len(profiled_chunks) > 1 else [])
    profiler.disable()
    listing = io.StringIO()
    stats = pstats.Stats(profiler, stream=listing)
    stats.sort_stats("cumulative").print_stats(45)
    stats.sort_stats("tottime").print_stats(30)
    if out_path:
        Path(out_path).write_text(listing.getvalue())
        profiler.dump_stats(f"{out_path}.pstats")  # for pstats: callers, callees
    top = io.StringIO()
    pstats.Stats(profiler, stream=top).sort_stats("tottime").print_stats(15)
    print(top.getvalue(), file=sys.stderr)

    def per_batch_ms(seconds):
        return round(seconds * 1000 / requests, 1)

    return {
        "batches": requests,
        "events": events,
        "scans": scans,
        "request_ms_per_batch": per_batch_ms(request_seconds),
        # the API around the action: middleware, session, ninja's parsing of the events, the answer
        "outside_action_ms_per_batch": per_batch_ms(
            request_seconds - phases["sampling_sync (with its commit)"]
        ),
        "in_process_scans_per_s": round(scans / request_seconds) if request_seconds else 0,
        "phases_ms_per_batch": {k: per_batch_ms(v) for k, v in sorted(phases.items(), key=lambda kv: -kv[1])},
        "sql_ms_per_batch": {
            k: [per_batch_ms(v), round(timer.count[k] / requests, 1)]
            for k, v in sorted(timer.seconds.items(), key=lambda kv: -kv[1])
            if v * 1000 / requests >= 0.1
        },
        "sql_statements_per_batch": round(sum(timer.count.values()) / requests, 1),
        "cprofile_file": out_path,
    }


# --- the run ----------------------------------------------------------------------------------------


def measure(args, env: dict, url: str, var_dir: str) -> dict:
    import django

    django.setup()
    from django.db import connections
    from django.utils import timezone

    with psycopg.connect(url) as conn:
        compounds = [
            row[0]
            for row in conn.execute("SELECT id FROM registry_compound WHERE code LIKE 'SYN%%' ORDER BY id")
        ]
        statuses = store_statuses(conn)
        people = residents_by_compound(conn, compounds)
        everyone = [pk for ids in people.values() for pk in ids]
        chosen = random.Random(args.seed).sample(everyone, int(len(everyone) * args.id_card_share))
        documents = id_card_numbers(conn, chosen) if chosen else {}
    if len(compounds) <= args.profile_compounds:
        raise SystemExit("too few compounds: raise --residents or lower --profile-compounds")
    tables = sampling_round(compounds, password=PASSWORD)
    connections.close_all()
    start = timezone.now()  # after every resident was registered
    events_of = {
        t["table"]: table_events(
            people[t["compound"]], prefix=f"{t['compound']:06d}", start=start, documents=documents
        )
        for t in tables
    }
    timed_tables = tables[: len(tables) - args.profile_compounds]
    left_out = tables[len(tables) - args.profile_compounds :]

    port = free_port()
    server = start_server(env, args.workers, port, os.path.join(var_dir, "gunicorn.log"))
    try:
        sessions = []
        for first in range(0, len(timed_tables), 16):  # 16 logins at a time
            part = timed_tables[first : first + 16]
            sessions += run_parallel(len(part), lambda i, part=part: login(port, part[i]["username"]))
        per_table = []
        for table, jar in zip(timed_tables, sessions, strict=True):
            per_table.append(
                [
                    (
                        table["table"],
                        jar,
                        json.dumps({"events": chunk}, separators=(",", ":")).encode(),
                        {e["id"] for e in chunk},
                    )
                    for chunk in batches(events_of[table["table"]], args.batch)
                ]
            )
        sent_events = sum(len(ids) for queue in per_table for *_rest, ids in queue)
        sent_scans = sum(sum(1 for e in events_of[t["table"]] if e["type"] == "sample") for t in timed_tables)
        before = server_counters(url)
        processes = {"web": worker_pids(server.pid), **database_pids(url)}
        cpu_before = {name: cpu_seconds(pids) for name, pids in processes.items()}
        run = post_batches(port, per_table, args.clients)
        cpu = {
            f"{name}_us_per_scan": round((cpu_seconds(pids) - cpu_before[name]) * 1e6 / sent_scans, 1)
            for name, pids in processes.items()
        }
        if sorted(database_pids(url)["backends"]) != sorted(processes["backends"]):
            cpu["backends_us_per_scan"] = None  # a connection was replaced: its CPU is not known
        database = counters_between(before, server_counters(url), sent_scans)
    finally:
        stop_server(server)

    with psycopg.connect(url) as conn:
        stored_samples = conn.execute("SELECT count(*) FROM testing_sample").fetchone()[0]
        closed_tubes = conn.execute(
            "SELECT count(*) FROM testing_tube WHERE closed_at IS NOT NULL"
        ).fetchone()[0]
        conn.execute("ANALYZE testing_sample")
        conn.execute("ANALYZE testing_tube")
        conn.commit()
    base = copy_baseline(url)
    profile = profile_sync(left_out, events_of, args.batch, args.profile_out)
    connections.close_all()

    tenth = max(1, len(run["latencies"]) // 10)
    in_order = run["latencies"]  # in the order the answers came
    latencies = sorted(in_order)
    ok = not run["problems"] and stored_samples == sent_scans
    return {
        "bench": "sampling_sync",
        "person_scans": sent_scans,
        "events": sent_events,
        "requests": len(run["latencies"]),
        "seconds": round(run["seconds"], 2),
        "scans_per_s": round(sent_scans / run["seconds"]),
        "events_per_s": round(sent_events / run["seconds"]),
        "batch": args.batch,
        "id_card_share": args.id_card_share,
        "clients": args.clients,
        "workers": args.workers,
        "server": f"gunicorn sync workers, DEBUG off, {args.workers} workers",
        "batch_latency_ms": {
            "median": round(statistics.median(latencies) * 1000, 1),
            "p95": round(latencies[int(len(latencies) * 0.95) - 1] * 1000, 1),
            "max": round(latencies[-1] * 1000, 1),
            "median_first_tenth": round(statistics.median(in_order[:tenth]) * 1000, 1),
            "median_last_tenth": round(statistics.median(in_order[-tenth:]) * 1000, 1),
        },
        "client_cpu_seconds": round(run["client_cpu_seconds"], 2),
        "database_during_run": database,
        # CPU per scan: the gunicorn workers, this database's backends (their connections are
        # kept: DB_CONN_MAX_AGE), PostgreSQL's own processes (shared with other databases)
        "cpu_during_run": {**cpu, "backends": len(processes["backends"])},
        "all_stored": not run["problems"],
        "problems": run["problems"][:5],
        "sample_rows": stored_samples,
        "sample_rows_match": stored_samples == sent_scans,
        "closed_tubes": closed_tubes,
        "copy_rows": base["tubes"] + base["samples"],
        "copy_seconds": round(base["seconds"], 3),
        "copy_rows_per_s": round((base["tubes"] + base["samples"]) / base["seconds"]),
        "copy_scans_per_s": round(base["samples"] / base["seconds"]),
        "copy_wal_bytes_per_scan": round(base["wal_bytes"] / base["samples"]),
        "copy_without_foreign_keys_rows_per_s": round(
            (base["tubes"] + base["samples"]) / base["no_fk_seconds"]
        ),
        "sync_vs_copy": round((sent_scans / run["seconds"]) / (base["samples"] / base["seconds"]), 3),
        "residents": sum(len(v) for v in people.values()),
        "compounds": len(timed_tables),
        "status_rows": statuses,
        "profile": profile,
        "db": "postgresql",
        "cpus": os.cpu_count(),
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "ok": ok,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--residents", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1000, help="events per request")
    parser.add_argument(
        "--id-card-share",
        type=float,
        default=0.0,
        help="share of people sent as a scanned ID number instead of a roster pick (resident id)",
    )
    parser.add_argument("--clients", type=int, default=4, help="client threads posting at once")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument(
        "--profile-compounds",
        type=int,
        default=3,
        help="compounds left out of the timed run, for the profile",
    )
    parser.add_argument("--profile-out", help="write the cProfile listing of one batch here")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    if args.profile_compounds < 2:
        parser.error("--profile-compounds must be at least 2")
    url = args.database_url or f"postgres://postgres@127.0.0.1:5432/tongxin_bench_sampling_{os.getpid()}"
    created = create_database(url)
    var_dir = tempfile.mkdtemp(prefix="tongxin-bench-sampling-")
    env = bench_environment(url, var_dir)
    try:
        prepare_database(env, args.residents, args.seed, collectstatic=True)
        os.environ.update(env)
        sys.path.insert(0, str(ROOT / "src"))
        result = measure(args, env, url, var_dir)
    finally:
        if created and not args.keep:
            drop_database(url)
        shutil.rmtree(var_dir, ignore_errors=True)
    print(json.dumps(result, ensure_ascii=False))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
