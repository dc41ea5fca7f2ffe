"""Leave half of each tube page free on PostgreSQL: a lab file sets the result of a million tubes,
and with room on the page (and no index on the changed columns) each update stays in place
instead of writing a new row version elsewhere and new entries in every index."""

from django.db import migrations


def set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE testing_tube SET (fillfactor = 50)")


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE testing_tube RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("testing", "0001_mass_testing")]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor)]
