"""Database helpers shared by the modules that move many rows at once."""

import contextlib
import time

from django.conf import settings
from django.db import connection


@contextlib.contextmanager
def server_bound_cursor():
    """A cursor whose parameters travel apart from the SQL (PostgreSQL's extended protocol).

    Django's psycopg cursors bind parameters on the client, quoting each value into the SQL text:
    for a statement that takes arrays of thousands of values (`unnest(%s::bigint[])`) the quoting
    costs more than the statement. This cursor runs in the same connection and transaction as the
    ORM. On other databases it is Django's own cursor."""
    connection.ensure_connection()
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            yield cursor
        return
    import psycopg

    with psycopg.Cursor(connection.connection) as cursor:
        yield cursor


# psycopg prepares a statement after this many executions of it in a connection when the caller
# leaves it the choice; the prepared cursor below asks explicitly, so other cursors never reach it.
_PREPARE_ONLY_WHEN_ASKED = 2**31 - 1


class _PreparingCursor:
    """The part of a DB-API cursor the hot paths use, over a psycopg cursor that prepares every
    statement it runs; database errors come out as Django's, and the statements are logged where
    Django logs its own (tests count them)."""

    def __init__(self, cursor):
        self._cursor = cursor

    def execute(self, sql, params=()):
        start = time.monotonic()
        with connection.wrap_database_errors:
            self._cursor.execute(sql, params, prepare=True)
        if connection.queries_logged:
            connection.queries_log.append({"sql": sql, "time": f"{time.monotonic() - start:.3f}"})

    def fetchone(self):
        return self._cursor.fetchone()

    def fetchall(self):
        return self._cursor.fetchall()

    @property
    def rowcount(self):
        return self._cursor.rowcount


@contextlib.contextmanager
def prepared_cursor():
    """A cursor for the few statements run thousands of times a second (a gate's check): on
    PostgreSQL each is planned once per connection (prepared on first use, its parameters bound on
    the server) instead of on every run, which cost a gate's check more than running them. Needs
    persistent connections (`DB_CONN_MAX_AGE`, on by default) and, behind a transaction-mode
    pooler, one that keeps prepared statements (PgBouncer 1.21+ with `max_prepared_statements`);
    `TONGXIN_DB_PREPARE=0` turns it off (Django's own cursor then).
    Same connection and transaction as the ORM. On other databases it is Django's own cursor."""
    connection.ensure_connection()
    if connection.vendor != "postgresql" or not settings.TONGXIN_DB_PREPARE:
        with connection.cursor() as cursor:
            yield cursor
        return
    import psycopg

    raw = connection.connection
    if raw.prepare_threshold is None:
        raw.prepare_threshold = _PREPARE_ONLY_WHEN_ASKED
    with psycopg.Cursor(raw) as cursor:
        yield _PreparingCursor(cursor)
