"""What a database dump, a search or a misconfigured server could expose."""

import os
import subprocess
import sys

import pytest
from cryptography.exceptions import InvalidTag
from django.db import connection

from tongxin.accounts.models import Role
from tongxin.core import crypto
from tongxin.registry import selectors
from tongxin.registry.models import Resident


def raw_row(resident) -> dict:
    table = Resident._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)} WHERE id = %s", [resident.pk])  # noqa: S608
        columns = [column[0] for column in cursor.description]
        return dict(zip(columns, cursor.fetchone(), strict=True))


def test_the_database_row_holds_no_full_id_number_or_phone(world):
    number = crypto.decrypt(world.elder.document_cipher)
    row = raw_row(world.elder)
    leaks = [
        column
        for column, value in row.items()
        for secret in (number, number[:17], "13812345678", "12345678")
        if value is not None and secret in str(value)
    ]
    assert leaks == []
    assert (row["document_masked"], row["phone_masked"]) == ("150105********" + number[-4:], "138****5678")
    assert row["document_hash"] == crypto.lookup_hash("doc:mainland_id", number)


def test_cipher_text_differs_each_time_and_needs_the_key(world, settings):
    assert crypto.encrypt("13812345678") != crypto.encrypt("13812345678")
    settings.FIELD_ENCRYPTION_KEY = "b3RoZXIta2V5LW90aGVyLWtleS1vdGhlci1rZXktMDA="
    with pytest.raises(InvalidTag):
        crypto.decrypt(world.elder.phone_cipher)


def test_the_lookup_hash_finds_exactly_that_resident(world):
    number = crypto.decrypt(world.elder.document_cipher)
    admin = world.users[Role.PLATFORM_ADMIN]
    assert list(selectors.resident_search(admin, number)) == [world.elder]
    spaced = f"{number[:6]} {number[6:14]} {number[14:].lower()}"
    assert list(selectors.resident_search(admin, spaced)) == [world.elder]


@pytest.mark.parametrize("cut", [slice(0, 17), slice(0, 14), slice(0, 6), slice(6, 18), slice(-4, None)])
def test_part_of_an_id_number_matches_nobody(world, cut):
    number = crypto.decrypt(world.elder.document_cipher)
    assert list(selectors.resident_search(world.users[Role.PLATFORM_ADMIN], number[cut])) == []


def test_part_of_a_phone_matches_nobody(world):
    admin = world.users[Role.PLATFORM_ADMIN]
    assert list(selectors.resident_search(admin, "1381234567")) == []
    assert list(selectors.resident_search(admin, "5678")) == []
    assert list(selectors.resident_search(admin, "13812345678")) == [world.elder]


def import_settings(tmp_path, **env) -> subprocess.CompletedProcess:
    clean = {"PATH": os.environ.get("PATH", ""), "TONGXIN_VAR": str(tmp_path), **env}
    return subprocess.run(
        [sys.executable, "-c", "import tongxin.config.settings"],
        env=clean,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


REAL_SECRET = "a-real-secret-key-with-enough-length-and-randomness-0123456789"
REAL_FIELD_KEY = "cmVhbC1maWVsZC1rZXktcmVhbC1maWVsZC1rZXktMDA="


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"SECRET_KEY": REAL_SECRET},
        {"FIELD_ENCRYPTION_KEY": REAL_FIELD_KEY},
        {"SECRET_KEY": "", "FIELD_ENCRYPTION_KEY": REAL_FIELD_KEY},
    ],
    ids=["no-keys", "no-field-key", "no-secret", "empty-secret"],
)
def test_without_debug_the_default_keys_are_refused(tmp_path, env):
    result = import_settings(tmp_path, DEBUG="0", **env)
    assert result.returncode == 1
    assert "DEBUG is off: set SECRET_KEY and FIELD_ENCRYPTION_KEY" in result.stderr


def test_without_debug_real_keys_start(tmp_path):
    result = import_settings(tmp_path, DEBUG="0", SECRET_KEY=REAL_SECRET, FIELD_ENCRYPTION_KEY=REAL_FIELD_KEY)
    assert (result.returncode, result.stderr) == (0, "")


def test_with_debug_the_development_keys_are_allowed(tmp_path):
    assert import_settings(tmp_path, DEBUG="1").returncode == 0
