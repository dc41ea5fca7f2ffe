#!/usr/bin/env python
"""Benchmark applying a lab result file (`tongxin import-lab-results`), against a plain COPY of it.

Creates a database (DATABASE_URL, or postgres://postgres@127.0.0.1:5432/tongxin_bench_lab_<pid>),
migrates it, fills it with `tongxin synth` (by default enough residents for --rounds rounds at 95 %
coverage: 3,510,000 for the full size, about Hohhot), then generates inside PostgreSQL --rounds
closed rounds on the days before today whose --tubes closed 10-in-1 tubes hold --tubes x 10
person-samples (every tube full; each round samples a different 95 % of every compound) and
every resident's stored status row, VACUUM ANALYZE, puts a yellow time-space overlap flag on
--flagged of the residents (1 %: the people whose status a negative can change, recomputed),
CHECKPOINT, and writes the lab's CSV file: one row per tube (管码,结果,检测时间; one result time
per PCR plate of 94 tubes, 6 h after its last tube closed), --positives of them positive. Then, in
the same run and database:

- copy_seconds: the same file COPied into a temporary table (tube code, result, result time
  parsed as a timestamptz), read from disk and streamed as the command reads it;
- sql_update_seconds: the floor of the write, one UPDATE of every tube's result from the copied
  table (pending to the file's result, as the import does), rolled back, then VACUUM and
  CHECKPOINT so the import finds the table as generated;
- seconds: `tongxin import-lab-results FILE --format json` as a process, from start to exit
  (startup_seconds: the same command's start with --help, for what Django's start costs);

Checks the command's report (rows and applied = tubes, positive tubes, people under review = the
positive tubes' people, no errors) and the database (no tube left pending). Prints one JSON object
and drops the database it created (unless --keep).

    .venv/bin/python bench/lab.py                      # 1,000,000 tubes, 10,000,000 person-samples
    .venv/bin/python bench/lab.py --tubes 100000       # a quick run, under a minute
"""

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synth import create_database, drop_database  # noqa: E402
from testing_data import (  # noqa: E402
    ROOT,
    TONGXIN,
    bench_environment,
    flag_residents,
    load_sampled_rounds,
    prepare_database,
    write_lab_file,
)

POOL_SIZE = 10
COVERAGE = 0.95
COMPOUND_SIZE = 2000  # synth's compounds


def default_residents(tubes: int, rounds: int) -> int:
    people = math.ceil(tubes * POOL_SIZE / rounds / COVERAGE)
    return math.ceil(people / COMPOUND_SIZE) * COMPOUND_SIZE


def run_command(args: list[str], env: dict) -> tuple[int, str, float, str]:
    """(exit status, stdout, seconds, stderr) of a child process."""
    started = time.perf_counter()
    child = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = child.communicate()
    seconds = time.perf_counter() - started
    if child.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(args)} failed ({child.returncode}):\n{err.decode()[-3000:]}")
    return child.returncode, out.decode(), seconds, err.decode()


def copy_file(conn, path: str) -> float:
    conn.execute("SET TIME ZONE 'Asia/Shanghai'")
    conn.execute("CREATE TEMP TABLE lab_copy (code varchar(40), result text, result_at timestamptz)")
    conn.commit()
    started = time.perf_counter()
    with (
        open(path, "rb") as source,
        conn.cursor().copy("COPY lab_copy FROM STDIN (FORMAT csv, HEADER)") as copy,
    ):
        while block := source.read(1 << 20):
            copy.write(block)
    conn.commit()
    return time.perf_counter() - started


def update_floor(conn) -> float:
    """One UPDATE of every tube from the copied file (the pending tubes' change the import makes),
    rolled back."""
    conn.execute("ANALYZE lab_copy")
    conn.commit()
    conn.execute("SET LOCAL work_mem = '256MB'")
    started = time.perf_counter()
    conn.execute(
        "UPDATE testing_tube t SET result = CASE c.result WHEN '阳性' THEN 'positive' ELSE 'negative' END, "
        "result_at = c.result_at FROM lab_copy c WHERE t.code = c.code"
    )
    seconds = time.perf_counter() - started
    conn.rollback()
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tubes", type=int, default=1_000_000, help="closed 10-in-1 tubes, the file's rows")
    parser.add_argument("--rounds", type=int, default=3, help="rounds the tubes are spread over")
    parser.add_argument("--residents", type=int, help="default: enough for the rounds at 95 %% coverage")
    parser.add_argument("--positives", type=int, default=5, help="positive tubes in the file")
    parser.add_argument(
        "--flagged",
        type=float,
        default=0.01,
        help="share of residents with a yellow flag (their status a negative can change); default 0.01",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--keep", action="store_true", help="keep the database and the lab file")
    args = parser.parse_args()
    residents = args.residents or default_residents(args.tubes, args.rounds)
    url = args.database_url or f"postgres://postgres@127.0.0.1:5432/tongxin_bench_lab_{os.getpid()}"
    created = create_database(url)
    var_dir = tempfile.mkdtemp(prefix="tongxin-bench-lab-")
    env = bench_environment(url, var_dir)
    lab_file = os.path.join(var_dir, "lab-results.csv")
    load_before = [round(x, 2) for x in os.getloadavg()]
    try:
        started = time.perf_counter()
        synth = prepare_database(env, residents, args.seed)
        synth_seconds = time.perf_counter() - started
        os.environ.update(env)
        sys.path.insert(0, str(ROOT / "src"))
        import django

        django.setup()
        from django.db import connections

        with psycopg.connect(url) as conn:
            started = time.perf_counter()
            data = load_sampled_rounds(conn, tubes=args.tubes, rounds=args.rounds, pool_size=POOL_SIZE)
        with psycopg.connect(url, autocommit=True) as conn:
            step = time.perf_counter()
            conn.execute("VACUUM ANALYZE")
            data["phases"]["vacuum_analyze"] = round(time.perf_counter() - step, 2)
        step = time.perf_counter()
        flagged = flag_residents(args.flagged, seed=args.seed)
        connections.close_all()
        data["phases"]["flags"] = round(time.perf_counter() - step, 2)
        with psycopg.connect(url, autocommit=True) as conn:
            step = time.perf_counter()
            conn.execute("ANALYZE outbreak_statusflag")
            conn.execute("CHECKPOINT")
            data["phases"]["checkpoint"] = round(time.perf_counter() - step, 2)
        with psycopg.connect(url) as conn:
            step = time.perf_counter()
            lab = write_lab_file(conn, lab_file, positives=args.positives, seed=args.seed)
            data["phases"]["lab_file"] = round(time.perf_counter() - step, 2)
        generation_seconds = time.perf_counter() - started

        with psycopg.connect(url) as conn:
            copy_seconds = copy_file(conn, lab_file)
            floor_seconds = update_floor(conn)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM testing_tube")  # the rolled-back versions gone, as before the floor
            conn.execute("CHECKPOINT")
        with psycopg.connect(url) as conn:
            _status, _out, startup_seconds, _err = run_command(
                [str(TONGXIN), "import-lab-results", "--help"], env
            )
            status, out, seconds, err = run_command(
                [str(TONGXIN), "import-lab-results", lab_file, "--format", "json"], env
            )
            try:
                report = json.loads(out.strip().splitlines()[-1])
            except (IndexError, json.JSONDecodeError):
                raise SystemExit(  # noqa: B904 (the command's own output says why)
                    f"import-lab-results printed no JSON (exit {status}):\n{out[-2000:]}\n{err[-3000:]}"
                )
            conn.commit()
            pending = conn.execute("SELECT count(*) FROM testing_tube WHERE result = 'pending'").fetchone()[0]
            positive = conn.execute("SELECT count(*) FROM testing_tube WHERE result = 'positive'").fetchone()[
                0
            ]
            retests = conn.execute("SELECT count(*) FROM testing_retest").fetchone()[0]
    finally:
        if created and not args.keep:
            drop_database(url)
        if not args.keep:
            shutil.rmtree(var_dir, ignore_errors=True)

    people = positive * POOL_SIZE
    ok = (
        status == 0
        and not report.get("errors")
        and report.get("rows") == lab["rows"] == args.tubes
        and report.get("applied") == args.tubes
        and report.get("positive_tubes") == len(lab["positive_tubes"]) == positive
        and report.get("people_under_review") == people
        and pending == 0
    )
    result = {
        "bench": "lab_results",
        "tubes": lab["rows"],
        "person_samples": data["samples"],
        "seconds": round(seconds, 2),
        "tubes_per_s": round(lab["rows"] / seconds),
        "person_samples_per_s": round(data["samples"] / seconds),
        "copy_seconds": round(copy_seconds, 2),
        "copy_rows_per_s": round(lab["rows"] / copy_seconds),
        "sql_update_seconds": round(floor_seconds, 2),
        "startup_seconds": round(startup_seconds, 2),
        "import_vs_copy": round(seconds / copy_seconds, 1),
        "report": {key: value for key, value in report.items() if key != "errors"},
        "errors": report.get("errors", [])[:5],
        "retests": retests,
        "tubes_left_pending": pending,
        "file_bytes": lab["bytes"],
        "residents": residents,
        "rounds": args.rounds,
        "synth_seconds": round(synth_seconds, 1),
        "synth_workers": synth.get("workers"),
        "generation_seconds": round(generation_seconds, 1),
        "generation_phases": data["phases"],
        "status_rows": data["status_rows"],
        "flagged_residents": flagged,
        "db": "postgresql",
        "cpus": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "lab_file": lab_file if args.keep else None,
        "database_url": url if args.keep else None,
        "ok": ok,
    }
    print(json.dumps(result, ensure_ascii=False))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
