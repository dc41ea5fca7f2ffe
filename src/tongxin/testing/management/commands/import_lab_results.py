"""tongxin import-lab-results FILE [--round ID] [--format json|text] [--user USERNAME]"""

import json
from pathlib import Path

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from tongxin.accounts.models import User
from tongxin.testing.actions.lab import lab_file_apply
from tongxin.testing.models import TestRound


class Command(BaseCommand):
    help = (
        "Apply a lab result file (.csv in UTF-8, UTF-8 with BOM or GBK/GB18030, or .xlsx; columns "
        "管码/tube, 结果/result, 检测时间/time) all-or-nothing: one bad row and nothing is applied. "
        "Acts as the platform unless --user names an account (which must see health data and the "
        "tubes' compounds). With --round every tube must belong to that round. "
        "--format json prints exactly one JSON object: "
        '{"rows", "applied", "positive_tubes", "people_under_review", "errors": [{"row", "column", '
        '"code", "message"}]}. Exit status 1 when the file has errors (nothing applied), else 0.'
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the .csv or .xlsx file")
        parser.add_argument("--round", type=int, help="the round's id: every tube must be of this round")
        parser.add_argument("--format", choices=("json", "text"), default="text")
        parser.add_argument("--user", help="act as this account instead of the platform")

    def handle(self, *args, file, round=None, format="text", user=None, **options):
        path = Path(file)
        try:
            content = path.read_bytes()
        except OSError as error:
            raise CommandError(f"cannot read {file}: {error.strerror}") from None
        round_ = None
        if round is not None:
            round_ = TestRound.objects.filter(pk=round).first()
            if round_ is None:
                raise CommandError(f"no round with id {round}")
        actor = None
        if user:
            actor = User.objects.filter(username=user, is_active=True).first()
            if actor is None:
                raise CommandError(f"no active user {user!r}")
        try:
            report = lab_file_apply(actor=actor, file_name=path.name, content=content, round=round_)
        except PermissionDenied as error:
            raise CommandError(str(error)) from None
        if format == "json":
            self.stdout.write(json.dumps(report.to_dict(), ensure_ascii=False))
        else:
            self._write_text(report)
        if report.errors:
            raise CommandError(f"{len(report.errors)} error(s); nothing was applied", returncode=1)

    def _write_text(self, report) -> None:
        state = "applied" if report.applied else "not applied"
        self.stdout.write(
            f"{state}: rows {report.rows}, applied {report.applied}, positive tubes "
            f"{report.positive_tubes}, people under review {report.people_under_review}"
        )
        for error in report.errors:
            self.stdout.write(f"row {error['row'] or '-'}\t{error['column']}\t{error['message']}")
