#!/usr/bin/env python
"""Benchmark `tongxin synth` on a fresh PostgreSQL database, against plain COPY baselines.

Creates the database (DATABASE_URL, or postgres://postgres@127.0.0.1:5432/tongxin_bench_<pid>),
migrates it, times `tongxin synth --residents N`, then, in the same run and database:
- baseline_copy_seconds: a plain COPY of the same N resident rows (exported from the synth table,
  so no generation or encryption) into a table with the same indexes and unique constraint;
- baseline_copy_no_indexes_seconds: the same COPY into a table with no index at all.
Prints one JSON object and drops the databases it created (unless --keep).

    .venv/bin/python bench/synth.py --residents 1000000
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
TONGXIN = ROOT / ".venv" / "bin" / "tongxin"


def admin_url(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/postgres")), parts.path.lstrip("/")


def create_database(url: str) -> bool:
    admin, name = admin_url(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return False
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return True


def drop_database(url: str) -> None:
    admin, name = admin_url(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def timed_copy(conn, table: str, source) -> float:
    source.seek(0)
    started = time.perf_counter()
    with conn.cursor().copy(sql.SQL("COPY {} FROM STDIN").format(sql.Identifier(table))) as copy:
        while block := source.read(1 << 20):
            copy.write(block)
    conn.commit()
    return time.perf_counter() - started


def baselines(url: str) -> dict:
    with psycopg.connect(url) as conn, tempfile.TemporaryFile(dir=os.environ.get("TMPDIR")) as rows:
        with conn.cursor().copy("COPY registry_resident TO STDOUT") as copy:
            for block in copy:
                rows.write(block)
        conn.execute("CREATE TABLE bench_copy_indexed (LIKE registry_resident INCLUDING ALL)")
        conn.execute("CREATE TABLE bench_copy_plain (LIKE registry_resident INCLUDING DEFAULTS)")
        conn.commit()
        indexes = conn.execute(
            "SELECT count(*) FROM pg_index WHERE indrelid = 'bench_copy_indexed'::regclass"
        ).fetchone()[0]
        indexed = timed_copy(conn, "bench_copy_indexed", rows)
        plain = timed_copy(conn, "bench_copy_plain", rows)
        conn.execute("DROP TABLE bench_copy_indexed, bench_copy_plain")
        conn.commit()
    return {"baseline_copy_seconds": indexed, "baseline_copy_no_indexes_seconds": plain, "indexes": indexes}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--keep", action="store_true", help="keep the database (for bench/reads.py)")
    args = parser.parse_args()
    url = args.database_url or f"postgres://postgres@127.0.0.1:5432/tongxin_bench_{os.getpid()}"
    created = create_database(url)
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": os.environ.get("DEBUG", "1")}
    try:
        subprocess.run([str(TONGXIN), "migrate", "--noinput", "-v0"], env=env, check=True)
        started = time.perf_counter()
        out = subprocess.run(
            [str(TONGXIN), "synth", "--residents", str(args.residents), "--seed", str(args.seed)],
            env=env,
            check=True,
            stdout=subprocess.PIPE,
            text=True,
        )
        wall = time.perf_counter() - started
        summary = json.loads(out.stdout.strip().splitlines()[-1])
        base = baselines(url)
        result = {
            "residents": args.residents,
            "synth_seconds": round(summary["seconds"], 2),
            "synth_wall_seconds": round(wall, 2),
            "baseline_copy_seconds": round(base["baseline_copy_seconds"], 2),
            "baseline_copy_no_indexes_seconds": round(base["baseline_copy_no_indexes_seconds"], 2),
            "rows_per_second": round(args.residents / summary["seconds"]),
            "baseline_rows_per_second": round(args.residents / base["baseline_copy_seconds"]),
            "resident_indexes": base["indexes"],
            "synth_phases": summary["phases"],
            "households": summary["households"],
            "compounds": summary["compounds"],
            "workers": summary["workers"],
            "cpus": os.cpu_count(),
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "database_url": url if args.keep else None,
        }
    finally:
        if created and not args.keep:
            drop_database(url)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
