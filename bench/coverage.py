#!/usr/bin/env python
"""Benchmark a round's coverage (应检尽检) on PostgreSQL, against raw SQL counts of the same data.

Creates a database (DATABASE_URL, or postgres://postgres@127.0.0.1:5432/tongxin_bench_coverage_<pid>),
migrates it, fills it with `tongxin synth --residents N`, then loads, in SQL inside the database
(INSERT ... SELECT, no round trips per row), one round covering every compound of the city:
about 95 % of the people living here sampled into 10-person tubes (plus a tenth of those away),
most tubes negative, a fifth awaiting their result, one in a thousand positive with its people's
retests (half of them back negative, a tenth positive), a fifth of the people not sampled exempted
with a reason, and one in forty of the others in central isolation (tested there). Then, in the
same run and database:

- compound_ms: one compound's coverage (by building and unit) plus its whole missed list with
  full phones, as a compound manager sees them (the audit row of the view included): the median
  and the worst of --repeat calls, each part's median (compound_coverage_ms,
  compound_missed_list_ms) and the compound's figures; the compound is one with a positive pool
  and someone in central isolation, so that every column is read;
- baseline_compound_ms: the raw SQL counts of the same compound (its living residents, its samples
  of the round), the floor any coverage page pays;
- city_seconds: the city-wide summary by compound (`round_coverage` for the platform admin), the
  median of --city-repeat calls;
- baseline_city_seconds: raw SQL counts of the same data grouped by compound (living residents,
  samples of the round);
- check: the summary's sampled total against an independent SQL count of the same rows.

Runs with DEBUG off, as production does (keys of its own unless SECRET_KEY and
FIELD_ENCRYPTION_KEY are set). The load average before and after the measures is printed with
them: rerun on a quiet machine before comparing. Prints one JSON object and drops the database it created (unless --keep).

    .venv/bin/python bench/coverage.py                       # 3,500,000 residents
    .venv/bin/python bench/coverage.py --residents 200000    # a quick run
"""

import argparse
import base64
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synth import create_database, drop_database  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TONGXIN = ROOT / ".venv" / "bin" / "tongxin"

# Deterministic "random" picks from ids, so that reruns load the same round.
LOAD_SQL = [
    (
        "round",
        """
        INSERT INTO testing_testround (name, day, starts_at, pool_size, sealed_household_tubes,
            isolated_single_tubes, state, note, version, created_at)
        VALUES ('全市全员核酸', current_date, '06:00', 10, true, true, 'sampling', 'bench', 1, now())
        RETURNING id
        """,
    ),
    (
        "covers",
        """
        INSERT INTO testing_roundcompound (round_id, compound_id)
        SELECT %(round)s, id FROM registry_compound
        """,
    ),
    (
        "chosen",
        """
        CREATE TEMP TABLE bench_chosen AS
        SELECT id, compound_id, building_id, unit_id, household_id,
               (row_number() OVER (PARTITION BY unit_id ORDER BY id) - 1) / 10 AS tube_no
          FROM registry_resident
         WHERE (presence = 'living' AND abs(hashint8(id)::bigint) %% 100 < 95)
            OR (presence = 'away' AND abs(hashint8(id)::bigint) %% 10 = 0)
        """,
    ),
    (
        "tubes",
        """
        INSERT INTO testing_tube (code, round_id, compound_id, kind, pool_size, people, opened_at,
            closed_at, result, result_at, scan_id)
        SELECT 'T' || unit_id || '-' || tube_no, %(round)s, compound_id, 'pool', 10, count(*),
               now() - interval '3 hours', now() - interval '2 hours',
               CASE WHEN (unit_id * 31 + tube_no) %% 1000 = 7 THEN 'positive'
                    WHEN (unit_id * 31 + tube_no) %% 5 = 0 THEN 'pending'
                    ELSE 'negative' END,
               CASE WHEN (unit_id * 31 + tube_no) %% 5 = 0
                     AND (unit_id * 31 + tube_no) %% 1000 <> 7 THEN NULL
                    ELSE now() - interval '30 minutes' END,
               gen_random_uuid()
          FROM bench_chosen
         GROUP BY unit_id, compound_id, tube_no
        """,
    ),
    (
        "samples",
        """
        INSERT INTO testing_sample (scan_id, round_id, tube_id, resident_id, compound_id,
            building_id, unit_id, sampled_at, is_retest)
        SELECT gen_random_uuid(), %(round)s, t.id, c.id, c.compound_id, c.building_id, c.unit_id,
               now() - interval '150 minutes', false
          FROM bench_chosen c
          JOIN testing_tube t ON t.code = 'T' || c.unit_id || '-' || c.tube_no
        """,
    ),
    (
        "retests",
        """
        INSERT INTO testing_retest (round_id, resident_id, household_id, compound_id, pool_tube_id,
            pool_sampled_at, state, created_at, closed_at)
        SELECT %(round)s, s.resident_id, r.household_id, s.compound_id, s.tube_id, s.sampled_at,
               CASE WHEN s.resident_id %% 2 = 0 THEN 'negative'
                    WHEN s.resident_id %% 10 = 1 THEN 'positive' ELSE 'open' END, now(),
               CASE WHEN s.resident_id %% 2 = 0 OR s.resident_id %% 10 = 1 THEN now() END
          FROM testing_sample s
          JOIN testing_tube t ON t.id = s.tube_id AND t.result = 'positive'
          JOIN registry_resident r ON r.id = s.resident_id
         WHERE s.round_id = %(round)s
        """,
    ),
    (
        "exemptions",
        """
        INSERT INTO testing_exemption (round_id, resident_id, compound_id, reason, note, created_at)
        SELECT %(round)s, r.id, r.compound_id,
               (ARRAY['away', 'moved_out', 'hospital', 'elsewhere', 'other'])[1 + abs(hashint8(r.id * 5)::bigint) %% 5],
               '', now()
          FROM registry_resident r
         WHERE r.presence = 'living' AND abs(hashint8(r.id)::bigint) %% 100 >= 95 AND abs(hashint8(r.id * 3)::bigint) %% 5 = 0
        """,
    ),
    (
        "isolations",
        """
        INSERT INTO outbreak_isolation (compound_id, resident_id, name, kind, rule, starts_on,
            planned_end_on, test_days, release_reason, version, created_at)
        SELECT r.compound_id, r.id, r.name, 'central', 'close_contact', current_date - 2,
               current_date + 3, '[]', '', 1, now()
          FROM registry_resident r
         WHERE r.presence = 'living' AND abs(hashint8(r.id * 7)::bigint) %% 40 = 3
           AND NOT EXISTS (SELECT 1 FROM bench_chosen c WHERE c.id = r.id)
        """,
    ),
]


def load_round(url: str) -> tuple[int, dict]:
    """The round and its samples, results, retests, exemptions and isolations; seconds per step."""
    seconds = {}
    with psycopg.connect(url) as conn:
        # The rows are made from rows already there: skip the foreign-key triggers, which would
        # otherwise check ~20 million references at commit (a bulk load's usual shortcut).
        conn.execute("SET session_replication_role = replica")
        round_id = None
        for name, statement in LOAD_SQL:
            started = time.perf_counter()
            cursor = conn.execute(statement, {"round": round_id})
            if name == "round":
                round_id = cursor.fetchone()[0]
            seconds[name] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()
        conn.commit()
        seconds["commit"] = round(time.perf_counter() - started, 2)
    with psycopg.connect(url, autocommit=True) as conn:
        started = time.perf_counter()
        conn.execute("VACUUM ANALYZE")
        seconds["vacuum_analyze"] = round(time.perf_counter() - started, 2)
    return round_id, seconds


def timed(function, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return times


def measure(args, round_id: int) -> dict:
    import django

    django.setup()
    from django.db import connection
    from django.db.models import Exists, OuterRef

    from tongxin.accounts.models import Role, User
    from tongxin.outbreak.models import Isolation
    from tongxin.registry.models import Compound, Resident
    from tongxin.testing.models import Sample, TestRound, Tube
    from tongxin.testing.selectors import coverage

    round_ = TestRound.objects.get(pk=round_id)
    compounds = list(Compound.objects.order_by("pk").values_list("pk", flat=True))
    # A compound with something in every column: a positive pool, someone in central isolation.
    busy = (
        Compound.objects.filter(
            Exists(Tube.objects.filter(round=round_, compound=OuterRef("pk"), result="positive")),
            Exists(Isolation.objects.filter(compound=OuterRef("pk"), kind="central")),
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    busy = list(busy)
    compound = Compound.objects.get(pk=busy[len(busy) // 2] if busy else compounds[len(compounds) // 2])
    admin = User.objects.create(username="bench_admin", role=Role.PLATFORM_ADMIN)
    manager = User.objects.create(username="bench_manager", role=Role.COMPOUND_MANAGER, compound=compound)

    def one_compound():
        report = coverage.compound_coverage(manager, round_, compound.pk)
        with coverage.index_reads():
            missed = coverage.missed_people(
                manager, round_, coverage.missed_list(manager, round_, compound.pk)
            )
        return report, missed

    def baseline_compound():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM registry_resident WHERE compound_id = %s AND presence = 'living'",
                [compound.pk],
            )
            cursor.fetchone()
            cursor.execute(
                "SELECT count(*) FROM testing_sample WHERE round_id = %s AND compound_id = %s",
                [round_.pk, compound.pk],
            )
            cursor.fetchone()

    def baseline_city():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT compound_id, count(*) FROM registry_resident WHERE presence = 'living'"
                " GROUP BY compound_id"
            )
            cursor.fetchall()
            cursor.execute(
                "SELECT compound_id, count(*) FROM testing_sample WHERE round_id = %s GROUP BY compound_id",
                [round_.pk],
            )
            cursor.fetchall()

    def coverage_only():
        coverage.compound_coverage(manager, round_, compound.pk)

    def missed_only():
        with coverage.index_reads():
            coverage.missed_people(manager, round_, coverage.missed_list(manager, round_, compound.pk))

    report, missed = one_compound()  # warm the connection, the caches and the pages
    timed(one_compound, 5)
    timed(baseline_compound, 5)
    compound_times = timed(one_compound, args.repeat)
    compound_baseline = timed(baseline_compound, args.repeat)
    coverage_times = timed(coverage_only, args.repeat)
    missed_times = timed(missed_only, args.repeat)

    city = coverage.round_coverage(admin, round_)  # warm
    city_times = timed(lambda: coverage.round_coverage(admin, round_), args.city_repeat)
    city_baseline = timed(baseline_city, args.city_repeat)

    sampled = Sample.objects.filter(round_id=round_.pk).values("resident_id").distinct().count()
    return {
        "residents": Resident.objects.count(),
        "compounds": len(compounds),
        "repeat": args.repeat,
        "compound_ms": round(statistics.median(compound_times) * 1000, 1),
        "compound_worst_ms": round(max(compound_times) * 1000, 1),
        "compound_coverage_ms": round(statistics.median(coverage_times) * 1000, 1),
        "compound_missed_list_ms": round(statistics.median(missed_times) * 1000, 1),
        "baseline_compound_ms": round(statistics.median(compound_baseline) * 1000, 2),
        "compound": {
            "residents": Resident.objects.filter(compound=compound).count(),
            "units": sum(len(b.children) for b in report.buildings),
            **report.total.as_dict(health=True),
            "missed_listed": len(missed),
        },
        "city_repeat": args.city_repeat,
        "city_seconds": round(statistics.median(city_times), 2),
        "city_worst_seconds": round(max(city_times), 2),
        "baseline_city_seconds": round(statistics.median(city_baseline), 2),
        "city": city.total.as_dict(health=True),
        "check": {
            "sampled_sql": sampled,
            "sampled_summary": city.total.sampled,
            "equal": sampled == city.total.sampled,
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--residents", type=int, default=3_500_000)
    parser.add_argument(
        "--repeat", type=int, default=50, help="calls of the one-compound read; the median is reported"
    )
    parser.add_argument("--city-repeat", type=int, default=5, help="calls of the city-wide summary")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--keep", action="store_true", help="keep the database and print its URL")
    args = parser.parse_args()
    url = args.database_url or f"postgres://postgres@127.0.0.1:5432/tongxin_bench_coverage_{os.getpid()}"
    created = create_database(url)
    # Measured as production runs: DEBUG off (no query log), so with keys (this run's own unless set).
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DEBUG": "",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or base64.b64encode(os.urandom(32)).decode(),
        "FIELD_ENCRYPTION_KEY": os.environ.get("FIELD_ENCRYPTION_KEY")
        or base64.b64encode(os.urandom(32)).decode(),
    }
    try:
        subprocess.run([str(TONGXIN), "migrate", "--noinput", "-v0"], env=env, check=True)
        started = time.perf_counter()
        subprocess.run(
            [str(TONGXIN), "synth", "--residents", str(args.residents), "--seed", str(args.seed)],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        synth_seconds = time.perf_counter() - started
        round_id, load_seconds = load_round(url)
        os.environ.update(env)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongxin.config.settings")
        load_before = [round(x, 2) for x in os.getloadavg()]
        result = measure(args, round_id)
        result["load_average_before"] = load_before
        result.update(
            synth_seconds=round(synth_seconds, 1),
            load_seconds=load_seconds,
            cpus=os.cpu_count(),
            load_average_after=[round(x, 2) for x in os.getloadavg()],
        )
        if args.keep:
            result["database_url"] = url
        from django.db import connections

        connections.close_all()
    finally:
        if created and not args.keep:
            drop_database(url)
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
