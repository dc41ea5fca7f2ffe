import pytest
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext

from tongxin.core.db import prepared_cursor

pytestmark = pytest.mark.django_db


def test_a_prepared_statement_answers_is_counted_and_on_postgresql_is_planned_once():
    with CaptureQueriesContext(connection) as captured:
        for value in (1, 2):
            with prepared_cursor() as cursor:
                cursor.execute("SELECT %s + 1", [value])
                assert cursor.fetchone()[0] == value + 1
    assert len(captured.captured_queries) == 2  # query-count tests see these statements too
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement = 'SELECT $1 + 1'")
            assert cursor.fetchone()[0] == 1


def test_database_errors_come_out_as_djangos():
    with pytest.raises(DatabaseError) as raised, prepared_cursor() as cursor:
        cursor.execute("SELECT no_such_column FROM django_migrations WHERE id = %s", [1])
    assert type(raised.value).__module__ == "django.db.utils"


def test_turned_off_nothing_is_prepared(settings):
    settings.TONGXIN_DB_PREPARE = False
    for value in (1, 2):
        with prepared_cursor() as cursor:
            cursor.execute("SELECT %s + 7", [value])
            assert cursor.fetchone()[0] == value + 7
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%%+ 7'")
            assert cursor.fetchone()[0] == 0
