"""tongxin import-residents FILE --compound CODE [--dry-run] [--valid-only] [--format json|text]"""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tongxin.registry.actions import residents_import
from tongxin.registry.models import Compound


class Command(BaseCommand):
    help = (
        "Import residents from an .xlsx or .csv (UTF-8, UTF-8 with BOM, GBK/GB18030) into a compound. "
        "Every bad row is reported with its row number, column and reason. Without --valid-only the "
        "import is all-or-nothing. Exit status: 1 whenever the file has invalid rows and --valid-only "
        "is not given (dry run included), or when the file itself cannot be used (unreadable, empty, a "
        "required column missing, too many rows); otherwise 0. "
        "--format json prints exactly one JSON object: "
        '{"rows", "valid", "invalid": [{"row", "column", "reason"}], "created", "updated", "unchanged"}.'
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the .xlsx or .csv file")
        parser.add_argument("--compound", required=True, help="the compound's code")
        parser.add_argument("--dry-run", action="store_true", help="check and count, write nothing")
        parser.add_argument(
            "--valid-only", action="store_true", help="write the valid rows, report the invalid ones"
        )
        parser.add_argument("--format", choices=("json", "text"), default="text")

    def handle(self, *args, file, compound, dry_run, valid_only, format, **options):
        target = Compound.objects.filter(code=compound).first()
        if target is None:
            raise CommandError(f"no compound with code {compound!r}")
        path = Path(file)
        try:
            content = path.read_bytes()
        except OSError as error:
            raise CommandError(f"cannot read {file}: {error.strerror}") from None
        report = residents_import(
            actor=None,
            compound=target,
            file_name=path.name,
            content=content,
            dry_run=dry_run,
            valid_only=valid_only,
        )
        if format == "json":
            self.stdout.write(json.dumps(report.to_dict(), ensure_ascii=False))
        else:
            self._write_text(report)
        if report.file_error or (report.invalid and not valid_only):
            raise CommandError(f"{len(report.invalid)} error(s); nothing was written", returncode=1)

    def _write_text(self, report) -> None:
        mode = "dry run" if report.dry_run else ("imported" if report.applied else "not imported")
        self.stdout.write(
            f"{mode}: rows {report.rows}, valid {report.valid}, invalid rows {report.invalid_rows}, "
            f"created {report.created}, updated {report.updated}, unchanged {report.unchanged}"
        )
        for error in report.invalid:
            self.stdout.write(f"row {error['row']}\t{error['column']}\t{error['reason']}")
