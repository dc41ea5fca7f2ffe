"""Leave a fifth of each status page free on PostgreSQL: every sampling batch moves thousands of
residents' last sampling time, and with room on the page (the column is in no index) each update
stays in place instead of writing a new row version elsewhere and a new primary-key entry."""

from django.db import migrations


def set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE outbreak_residentstatus SET (fillfactor = 80)")


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE outbreak_residentstatus RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("outbreak", "0002_status_holding_index")]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor)]
