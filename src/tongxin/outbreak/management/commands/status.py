"""`tongxin status RESIDENT [--at ISO] --format json`: one resident's status as the gates read it."""

import datetime
import json

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from tongxin.outbreak.status import status_read
from tongxin.registry.models import Resident


class Command(BaseCommand):
    help = "Print a resident's status: colour, overdue flag, reasons, until when, risk level."

    def add_arguments(self, parser):
        parser.add_argument("resident", type=int, help="the resident's id")
        parser.add_argument("--at", help="the moment to read the status at (ISO 8601; default now)")
        parser.add_argument("--format", choices=["json", "text"], default="text")

    def handle(self, *args, resident: int, at: str | None, format: str, **options):
        moment = None
        if at:
            try:
                moment = datetime.datetime.fromisoformat(at)
            except ValueError as exc:
                raise CommandError(f"--at: not an ISO 8601 date-time: {at!r}") from exc
            if timezone.is_naive(moment):
                moment = timezone.make_aware(moment)
        try:
            status = status_read(resident, at=moment)
        except Resident.DoesNotExist as exc:
            raise CommandError(f"no resident with id {resident}") from exc
        data = status.to_dict()
        if format == "json":
            shown = {key: data[key] for key in ("color", "overdue", "reasons", "until", "risk_level")}
            self.stdout.write(json.dumps(shown, ensure_ascii=False))
            return
        line = data["color"] + (" overdue" if data["overdue"] else "")
        if data["until"]:
            line += f" until {data['until']}"
        self.stdout.write(line)
        for reason in data["reasons"]:
            self.stdout.write(f"  {reason}")
        if data["risk_level"]:
            self.stdout.write(f"  risk level: {data['risk_level_label']} ({data['risk_level']})")
