"""Database helpers shared by the modules that move many rows at once."""

import contextlib

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
