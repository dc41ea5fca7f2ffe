"""`tongxin send-notices`: publish the notices now due and send their pending or failed
deliveries; delete the portal login codes past use; prints the counts as JSON (for cron, every
minute)."""

import json

from django.core.management.base import BaseCommand

from tongxin.voice.actions.notices import send_due
from tongxin.voice.actions.portal import portal_codes_purge


class Command(BaseCommand):
    help = "Publish due notices and send their deliveries (WeCom, DingTalk, SMS)."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=100, help="most deliveries sent in one run")

    def handle(self, *args, limit: int, **options):
        counts = send_due(limit=limit)
        counts["portal_codes_purged"] = portal_codes_purge()
        self.stdout.write(json.dumps(counts, ensure_ascii=False))
