"""Data for the mass-testing benchmarks (bench/sampling.py, bench/lab.py); not a benchmark itself.

- `bench_environment`: the environment of a production-like run (DEBUG off, fresh SECRET_KEY and
  FIELD_ENCRYPTION_KEY, collected static files in a temporary TONGXIN_VAR) shared by `tongxin
  synth`, the app server and the benchmark process, so every part encrypts and signs alike;
- `prepare_database`: migrate, `tongxin synth --residents N`, collectstatic;
- `store_statuses`: every resident's stored status row (`outbreak_residentstatus`), as a city in
  an outbreak has them (gates read them); one INSERT ... SELECT, the rows `status_recompute` writes
  for a resident with no health facts (no holds, no risk area), with the last sampling time;
- `sampling_round`: a round over some compounds, one sampling point and table and one logged-in
  volunteer per compound (bench/sampling.py);
- `table_events`: a sampling table's events as the device sends them: tube_open, the people
  swabbed into it, tube_close;
- `load_sampled_rounds`, `flag_residents` and `write_lab_file`: closed pooled tubes and their
  person-samples for several past rounds and every resident's status row, generated inside
  PostgreSQL (INSERT ... SELECT; the secondary indexes and constraints of the three tables dropped
  around the load and recreated as they were); yellow flags on a share of the residents; the lab's
  CSV file of the tubes' results (bench/lab.py).
"""

import base64
import datetime as dt
import os
import secrets
import subprocess
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TONGXIN = ROOT / ".venv" / "bin" / "tongxin"
VOLUNTEER_PREFIX = "bench-volunteer-"


def bench_environment(url: str, var_dir: str) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "SECURE_COOKIES": "0",  # plain HTTP on the loopback
        "TONGXIN_VAR": var_dir,
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "tongxin.config.settings",
    }


def prepare_database(env: dict, residents: int, seed: int, *, collectstatic: bool = False) -> dict:
    """Migrate, synth, (collect static files); returns synth's summary."""
    import json

    subprocess.run([str(TONGXIN), "migrate", "--noinput", "-v0"], env=env, check=True)
    out = subprocess.run(
        [str(TONGXIN), "synth", "--residents", str(residents), "--seed", str(seed)],
        env=env,
        check=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    if collectstatic:
        subprocess.run(
            [str(TONGXIN), "collectstatic", "--noinput", "-v0"],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return json.loads(out.stdout.strip().splitlines()[-1])


def store_statuses(conn, *, commit: bool = True) -> int:
    """One stored status row per resident (no holds, green), last sampled at their latest
    sample if any."""
    cur = conn.execute(
        "INSERT INTO outbreak_residentstatus "
        "(resident_id, compound_id, holds, last_sampled_at, risk_level, risk_area_id, computed_at) "
        "SELECT r.id, r.compound_id, '[]'::jsonb, s.at, '', NULL, now() FROM registry_resident r "
        "LEFT JOIN (SELECT resident_id, max(sampled_at) AS at FROM testing_sample GROUP BY 1) s "
        "ON s.resident_id = r.id ON CONFLICT (resident_id) DO NOTHING"
    )
    if commit:
        conn.commit()
    return cur.rowcount


# --- sampling sync (bench/sampling.py) -------------------------------------------------------------


def sampling_round(compound_ids: list[int], *, password: str, pool_size: int = 10) -> list[dict]:
    """Today's round over these compounds: per compound one point, one table, one volunteer
    (all volunteers share `password`, hashed once). Runs inside the benchmark's Django."""
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from tongxin.accounts.models import Role, User
    from tongxin.testing.models import RoundCompound, SamplingPoint, SamplingTable, TestRound

    round_ = TestRound.objects.create(name="全员核酸", day=timezone.localdate(), pool_size=pool_size)
    RoundCompound.objects.bulk_create([RoundCompound(round=round_, compound_id=c) for c in compound_ids])
    points = SamplingPoint.objects.bulk_create(
        [SamplingPoint(round=round_, compound_id=c, name="1号采样点") for c in compound_ids]
    )
    tables = SamplingTable.objects.bulk_create(
        [
            SamplingTable(
                point=p, round=round_, compound_id=p.compound_id, label="1号台", pool_size=pool_size
            )
            for p in points
        ]
    )
    hashed = make_password(password)
    users = User.objects.bulk_create(
        [
            User(
                username=f"{VOLUNTEER_PREFIX}{t.compound_id}",
                password=hashed,
                role=Role.VOLUNTEER,
                compound_id=t.compound_id,
                is_active=True,
            )
            for t in tables
        ]
    )
    return [
        {"compound": t.compound_id, "table": t.pk, "username": u.username, "user": u.pk}
        for t, u in zip(tables, users, strict=True)
    ]


def residents_by_compound(conn, compound_ids: list[int]) -> dict[int, list[int]]:
    """Each compound's residents in the order they come down: by building, unit, household."""
    people: dict[int, list[int]] = {c: [] for c in compound_ids}
    rows = conn.execute(
        "SELECT compound_id, id FROM registry_resident WHERE compound_id = ANY(%s) "
        "ORDER BY compound_id, building_id, unit_id, household_id, id",
        [compound_ids],
    )
    for compound_id, resident_id in rows:
        people[compound_id].append(resident_id)
    return people


def table_events(
    residents: list[int],
    *,
    prefix: str,
    start: dt.datetime,
    pool_size: int = 10,
    documents: dict[int, str] | None = None,
) -> list[dict]:
    """A table's events in the device's order: per tube of `pool_size` people (the last one may
    hold fewer) tube_open, one sample per person, tube_close; times 1 ms apart, ids made here as on
    the device. Tube codes start with "T" (10 in 1 by TONGXIN_TUBE_POOL_PREFIXES). A person is
    sent as the page sends a roster pick, {"resident": id}, or, for those in `documents`, as a
    scanned ID card, {"document": number}."""
    documents = documents or {}
    events = []
    tick = dt.timedelta(milliseconds=1)
    at = start
    for number, first in enumerate(range(0, len(residents), pool_size)):
        code = f"T{prefix}{number:05d}"
        events.append({"id": str(uuid.uuid4()), "type": "tube_open", "at": at.isoformat(), "tube": code})
        for resident_id in residents[first : first + pool_size]:
            at += tick
            events.append(
                {
                    "id": str(uuid.uuid4()),
                    "type": "sample",
                    "at": at.isoformat(),
                    "tube": code,
                    "person": {"document": documents[resident_id]}
                    if resident_id in documents
                    else {"resident": resident_id},
                }
            )
        at += tick
        events.append({"id": str(uuid.uuid4()), "type": "tube_close", "at": at.isoformat(), "tube": code})
        at += tick
    return events


def id_card_numbers(conn, resident_ids: list[int]) -> dict[int, str]:
    """These residents' ID numbers, decrypted (inside the benchmark's Django, whose key encrypted
    them)."""
    from tongxin.core.crypto import decrypt

    rows = conn.execute(
        "SELECT id, document_cipher FROM registry_resident WHERE id = ANY(%s)", [resident_ids]
    )
    return {pk: decrypt(cipher) for pk, cipher in rows}


def batches(events: list[dict], size: int) -> list[list[dict]]:
    return [events[i : i + size] for i in range(0, len(events), size)]


# --- lab results (bench/lab.py) --------------------------------------------------------------------

LAB_TABLES = ("testing_tube", "testing_sample", "outbreak_residentstatus")


def plan_quotas(counts: dict[int, int], *, rounds: int, tubes: int, pool_size: int) -> list[list[int]]:
    """People sampled per round and compound (in `sorted(counts)` order), each a multiple of the
    pool size so every tube is full, the same share of every compound, `tubes` full tubes in all."""
    compounds = sorted(counts)
    total = sum(counts.values())
    per_round = [tubes // rounds + (1 if r < tubes % rounds else 0) for r in range(rounds)]
    if max(per_round) > sum(n // pool_size for n in counts.values()):
        raise SystemExit(f"{tubes} tubes in {rounds} rounds need more than {total} residents")
    quotas = []
    for wanted in per_round:
        share = wanted * pool_size / total
        row = [int(counts[c] * share) // pool_size * pool_size for c in compounds]
        missing, index = wanted - sum(row) // pool_size, 0
        while missing > 0:  # what rounding down left, a tube at a time, where people are left
            if row[index] + pool_size <= counts[compounds[index]]:
                row[index] += pool_size
                missing -= 1
            index = (index + 1) % len(compounds)
        quotas.append(row)
    return quotas


def _drop_secondaries(conn, table: str) -> tuple[list[tuple[str, str]], list[str]]:
    """Drop the table's constraints (but its primary key) and its indexes not behind a constraint;
    returns their definitions for `_restore_secondaries`."""
    from psycopg import sql

    constraints = conn.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype <> 'p' ORDER BY contype DESC, conname",
        [table],
    ).fetchall()
    indexes = conn.execute(
        "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = %s::regclass AND NOT i.indisprimary AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = i.indrelid)",
        [table],
    ).fetchall()
    for name, _definition in constraints:
        conn.execute(
            sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(sql.Identifier(table), sql.Identifier(name))
        )
    for name, _definition in indexes:
        conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
    return constraints, [definition for _name, definition in indexes]


def _restore_secondaries(conn, table: str, saved: tuple[list[tuple[str, str]], list[str]]) -> None:
    """Recreate what `_drop_secondaries` dropped, as it was (foreign keys validated)."""
    from psycopg import sql

    constraints, indexes = saved
    for definition in indexes:
        conn.execute(definition)
    for name, definition in constraints:
        conn.execute(
            sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                sql.Identifier(table), sql.Identifier(name), sql.SQL(definition)
            )
        )


def load_sampled_rounds(conn, *, tubes: int, rounds: int, pool_size: int = 10) -> dict:
    """`rounds` closed rounds on the days before today over every compound, together `tubes`
    closed pooled tubes of `pool_size` people (result pending) and their person-samples, one
    table per compound and round. Generated in PostgreSQL: tubes from generate_series, samples
    from the residents numbered within their compound (shifted by round, so each round misses
    other people); ids are taken from the sequences first so samples point at their tubes."""
    import time

    started = time.perf_counter()
    phases = {}
    counts = dict(conn.execute("SELECT compound_id, count(*) FROM registry_resident GROUP BY 1").fetchall())
    quotas = plan_quotas(counts, rounds=rounds, tubes=tubes, pool_size=pool_size)
    compounds = sorted(counts)
    today = conn.execute("SELECT (now() AT TIME ZONE 'Asia/Shanghai')::date").fetchone()[0]

    conn.execute("SET maintenance_work_mem = '1GB'")
    conn.execute("SET work_mem = '256MB'")
    conn.execute(
        "CREATE TEMP TABLE bench_plan (round_id bigint, compound_id bigint, table_id bigint, "
        "people int, residents int, first_tube bigint, shift int, starts_at timestamptz)"
    )
    sequence = conn.execute("SELECT pg_get_serial_sequence('testing_tube', 'id')").fetchone()[0]
    first_tube = conn.execute("SELECT nextval(%s)", [sequence]).fetchone()[0]
    next_tube = first_tube
    plan = []
    for r in range(rounds):
        day = today - dt.timedelta(days=rounds - r)
        round_id = conn.execute(
            "INSERT INTO testing_testround (name, day, starts_at, pool_size, sealed_household_tubes, "
            "isolated_single_tubes, state, note, version, created_at) "
            "VALUES ('全员核酸', %s, '06:00', %s, true, true, 'closed', '', 1, now()) RETURNING id",
            [day, pool_size],
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO testing_roundcompound (round_id, compound_id) SELECT %s, unnest(%s::bigint[])",
            [round_id, compounds],
        )
        points = dict(
            conn.execute(
                "INSERT INTO testing_samplingpoint (round_id, compound_id, name, location) "
                "SELECT %s, c, '1号采样点', '' FROM unnest(%s::bigint[]) c RETURNING compound_id, id",
                [round_id, compounds],
            ).fetchall()
        )
        tables = dict(
            conn.execute(
                "INSERT INTO testing_samplingtable (point_id, round_id, compound_id, label, pool_size, mode) "
                "SELECT p, %s, c, '1号台', %s, 'station' FROM unnest(%s::bigint[], %s::bigint[]) AS x(c, p) "
                "RETURNING compound_id, id",
                [round_id, pool_size, compounds, [points[c] for c in compounds]],
            ).fetchall()
        )
        morning = dt.datetime.combine(day, dt.time(6), tzinfo=dt.timezone(dt.timedelta(hours=8)))
        for index, (c, people) in enumerate(zip(compounds, quotas[r], strict=True)):
            if not people:
                continue
            # compounds start a few seconds apart from 06:00 to 09:00
            starts = morning + dt.timedelta(seconds=(index * 10800 // len(compounds)))
            plan.append(
                (round_id, c, tables[c], people, counts[c], next_tube, (r * 7919) % counts[c], starts)
            )
            next_tube += people // pool_size
    with conn.cursor().copy("COPY bench_plan FROM STDIN") as copy:
        for row in plan:
            copy.write_row(row)
    last_tube = next_tube - 1
    conn.execute("SELECT setval(%s, %s)", [sequence, max(last_tube, first_tube)])
    phases["plan"] = time.perf_counter() - started

    conn.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the checks queued so far, before altering tables
    saved = {table: _drop_secondaries(conn, table) for table in LAB_TABLES}
    phases["drop_indexes"] = time.perf_counter() - started - sum(phases.values())

    # one tube per `pool_size` people: opened at the compound's start plus a minute a tube,
    # closed 50 s later; the people in it swabbed in the 40 s in between
    conn.execute(
        "INSERT INTO testing_tube (id, code, round_id, table_id, compound_id, kind, pool_size, people, "
        "opened_at, closed_at, bag_id, result, result_at, scan_id, opened_by_id) "
        "SELECT p.first_tube + k, 'T' || lpad((p.first_tube + k)::text, 10, '0'), p.round_id, p.table_id, "
        "p.compound_id, 'pool', %(size)s, %(size)s, p.starts_at + k * interval '1 minute', "
        "p.starts_at + k * interval '1 minute' + interval '50 seconds', NULL, 'pending', NULL, "
        "gen_random_uuid(), NULL FROM bench_plan p, generate_series(0, p.people / %(size)s - 1) AS k",
        {"size": pool_size},
    )
    phases["tubes"] = time.perf_counter() - started - sum(phases.values())
    conn.execute(
        "INSERT INTO testing_sample (scan_id, round_id, tube_id, resident_id, compound_id, building_id, "
        "unit_id, sampled_at, is_retest, table_id, recorded_by_id) "
        "SELECT gen_random_uuid(), p.round_id, p.first_tube + q.slot / %(size)s, r.id, r.compound_id, "
        "r.building_id, r.unit_id, p.starts_at + (q.slot / %(size)s) * interval '1 minute' "
        "+ (q.slot %% %(size)s + 1) * (interval '40 seconds' / %(size)s), false, p.table_id, NULL "
        "FROM (SELECT id, compound_id, building_id, unit_id, row_number() OVER "
        "(PARTITION BY compound_id ORDER BY building_id, unit_id, household_id, id) - 1 AS n "
        "FROM registry_resident) r JOIN bench_plan p ON p.compound_id = r.compound_id "
        "CROSS JOIN LATERAL (SELECT ((r.n + p.residents - p.shift) %% p.residents)::int AS slot) q "
        "WHERE q.slot < p.people",
        {"size": pool_size},
    )
    phases["samples"] = time.perf_counter() - started - sum(phases.values())

    statuses = store_statuses(conn, commit=False)
    phases["statuses"] = time.perf_counter() - started - sum(phases.values())
    for table in LAB_TABLES:
        _restore_secondaries(conn, table, saved[table])
    phases["rebuild_indexes"] = time.perf_counter() - started - sum(phases.values())
    conn.commit()
    counted_tubes = conn.execute("SELECT count(*) FROM testing_tube").fetchone()[0]
    counted_samples = conn.execute("SELECT count(*) FROM testing_sample").fetchone()[0]
    return {
        "tubes": counted_tubes,
        "samples": counted_samples,
        "rounds": rounds,
        "status_rows": statuses,
        "first_tube": first_tube,
        "last_tube": last_tube,
        "phases": {k: round(v, 2) for k, v in phases.items()},
    }


def flag_residents(share: float, *, seed: int) -> int:
    """A yellow time-space overlap flag (时空伴随) on `share` of the residents, set the day before
    the first round, and their stored statuses recomputed: the residents whose status a negative
    result can change. Runs inside the benchmark's Django."""
    import random

    from django.utils import timezone

    from tongxin.outbreak.models import StatusFlag
    from tongxin.outbreak.status import status_recompute
    from tongxin.registry.models import Resident
    from tongxin.testing.models import TestRound

    rows = list(Resident.objects.values_list("pk", "compound_id"))
    chosen = random.Random(seed).sample(rows, int(len(rows) * share))
    first = TestRound.objects.order_by("day").values_list("day", flat=True).first() or timezone.localdate()
    since = timezone.make_aware(dt.datetime.combine(first - dt.timedelta(days=1), dt.time(20)))
    StatusFlag.objects.bulk_create(
        [
            StatusFlag(resident_id=pk, compound_id=compound, kind=StatusFlag.Kind.OVERLAP, starts_at=since)
            for pk, compound in chosen
        ],
        batch_size=5000,
    )
    ids = [pk for pk, _compound in chosen]
    for first_id in range(0, len(ids), 20_000):
        status_recompute(ids[first_id : first_id + 20_000])
    return len(ids)


def write_lab_file(conn, path: str, *, positives: int, seed: int, plate: int = 94) -> dict:
    """The lab's CSV (管码,结果,检测时间): one row per closed tube, in the order the tubes were
    made; `positives` of them positive, spread through the file, the rest negative. The result
    time is the plate's, as a lab's export gives it: tubes go `plate` to a PCR plate (96 wells less
    two controls), reported 6 h after the plate's last tube was closed."""
    import random

    rng = random.Random(seed)
    total = conn.execute("SELECT count(*) FROM testing_tube WHERE closed_at IS NOT NULL").fetchone()[0]
    positive_rows = set(rng.sample(range(total), min(positives, total)))
    codes = []
    written = 0
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write("管码,结果,检测时间\n")
        rows = conn.execute(
            "SELECT code, to_char((max(closed_at) OVER (PARTITION BY (n - 1) / %s) + interval '6 hours') "
            "AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI:SS') "
            "FROM (SELECT code, closed_at, row_number() OVER (ORDER BY id) AS n FROM testing_tube "
            "WHERE closed_at IS NOT NULL) t ORDER BY n",
            [plate],
        )
        for code, at in rows:
            positive = written in positive_rows
            if positive:
                codes.append(code)
            out.write(f"{code},{'阳性' if positive else '阴性'},{at}\n")
            written += 1
    return {"rows": written, "positive_tubes": codes, "bytes": os.path.getsize(path)}
