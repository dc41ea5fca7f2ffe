#!/usr/bin/env python
"""Benchmark the resident status lookup against a bare primary-key read, on PostgreSQL.

Creates a database (DATABASE_URL, or postgres://postgres@127.0.0.1:5432/tongxin_bench_status_<pid>),
migrates it, fills it with `tongxin synth --residents N`, gives some residents holds (yellow flags,
isolations, pool positives, samples), then in the same run and database measures:
- recompute_residents_per_second: `status_recompute` of every resident (the stored rows);
- lookups_per_second: `status_read` of --lookups random residents (one primary-key read of
  ResidentStatus, holds dropped by time and the overdue flag worked out at read time);
- baseline_pk_reads_per_second: `Resident.objects.get(pk=...)` of the same residents;
- baseline_raw_pk_reads_per_second: the same read as one raw SQL statement, no ORM.
Prints one JSON object and drops the database it created (unless --keep).

    .venv/bin/python bench/status.py --residents 200000 --lookups 20000
"""

import argparse
import datetime as dt
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synth import create_database, drop_database  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TONGXIN = ROOT / ".venv" / "bin" / "tongxin"


def give_holds(ids: list[int], rng: random.Random) -> dict:
    """Holds on a share of residents, as in a compound a few days into an outbreak."""
    from django.utils import timezone

    from tongxin.outbreak.models import Isolation, StatusFlag, TestFact
    from tongxin.registry.models import Resident

    now = timezone.now()
    today = timezone.localdate()
    compound_of = dict(Resident.objects.values_list("id", "compound_id"))
    sampled = rng.sample(ids, len(ids) // 2)
    flagged = rng.sample(ids, len(ids) // 20)
    isolated = rng.sample(ids, len(ids) // 50)
    pooled = rng.sample(ids, len(ids) // 100)
    facts = [
        TestFact(
            resident_id=pk,
            compound_id=compound_of[pk],
            sampled_at=now - dt.timedelta(hours=rng.randint(1, 70)),
            method="pool",
            result="negative",
        )
        for pk in sampled
    ] + [
        TestFact(
            resident_id=pk,
            compound_id=compound_of[pk],
            sampled_at=now - dt.timedelta(hours=10),
            method="pool",
            result="pool_positive",
            result_at=now - dt.timedelta(hours=2),
        )
        for pk in pooled
    ]
    TestFact.objects.bulk_create(facts, batch_size=5000)
    StatusFlag.objects.bulk_create(
        [
            StatusFlag(
                resident_id=pk,
                compound_id=compound_of[pk],
                kind="overlap",
                starts_at=now - dt.timedelta(days=1),
            )
            for pk in flagged
        ],
        batch_size=5000,
    )
    Isolation.objects.bulk_create(
        [
            Isolation(
                resident_id=pk,
                compound_id=compound_of[pk],
                name="bench",
                kind=rng.choice(["central", "home", "monitoring"]),
                rule="close_contact",
                starts_on=today - dt.timedelta(days=2),
                planned_end_on=today + dt.timedelta(days=3),
            )
            for pk in isolated
        ],
        batch_size=5000,
    )
    return {"test_facts": len(facts), "flags": len(flagged), "isolations": len(isolated)}


def rate(count: int, seconds: float) -> int:
    return round(count / seconds) if seconds else 0


def measure(args) -> dict:
    import django

    django.setup()
    from django.db import connection

    from tongxin.outbreak.models import ResidentStatus
    from tongxin.outbreak.status import status_read, status_recompute
    from tongxin.registry.models import Resident

    rng = random.Random(args.seed)
    ids = list(Resident.objects.order_by("pk").values_list("pk", flat=True))
    holds = give_holds(ids, rng)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    started = time.perf_counter()
    status_recompute(ids)
    recompute = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE outbreak_residentstatus")
    colours = {"red": 0, "yellow": 0, "green": 0}

    sample = [rng.choice(ids) for _ in range(args.lookups)]
    for pk in sample[:1000]:  # warm the connection and the cache pages
        status_read(pk)
        Resident.objects.get(pk=pk)

    figures = {}
    for _round in range(args.rounds):
        started = time.perf_counter()
        for pk in sample:
            Resident.objects.get(pk=pk)
        figures.setdefault("baseline", []).append(time.perf_counter() - started)

        started = time.perf_counter()
        with connection.cursor() as cursor:
            for pk in sample:
                cursor.execute("SELECT * FROM registry_resident WHERE id = %s", [pk])
                cursor.fetchone()
        figures.setdefault("raw", []).append(time.perf_counter() - started)

        started = time.perf_counter()
        for pk in sample:
            colours[status_read(pk).color] += 1
        figures.setdefault("status", []).append(time.perf_counter() - started)

    best = {key: min(values) for key, values in figures.items()}
    return {
        "residents": len(ids),
        "lookups": args.lookups,
        "rounds": args.rounds,
        "lookups_per_second": rate(args.lookups, best["status"]),
        "baseline_pk_reads_per_second": rate(args.lookups, best["baseline"]),
        "baseline_raw_pk_reads_per_second": rate(args.lookups, best["raw"]),
        "lookup_vs_baseline": round(best["baseline"] / best["status"], 2),
        "recompute_seconds": round(recompute, 2),
        "recompute_residents_per_second": rate(len(ids), recompute),
        "status_rows": ResidentStatus.objects.count(),
        "holds_given": holds,
        "colours_read": {key: value // args.rounds for key, value in colours.items()},
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--residents", type=int, default=200_000)
    parser.add_argument("--lookups", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds; the best is reported")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    url = args.database_url or f"postgres://postgres@127.0.0.1:5432/tongxin_bench_status_{os.getpid()}"
    created = create_database(url)
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": os.environ.get("DEBUG", "1")}
    try:
        subprocess.run([str(TONGXIN), "migrate", "--noinput", "-v0"], env=env, check=True)
        subprocess.run(
            [str(TONGXIN), "synth", "--residents", str(args.residents), "--seed", str(args.seed)],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        os.environ.update(env)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongxin.config.settings")
        result = measure(args)
        result.update(cpus=os.cpu_count(), load_average_after=[round(x, 2) for x in os.getloadavg()])
        from django.db import connections

        connections.close_all()
    finally:
        if created and not args.keep:
            drop_database(url)
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
