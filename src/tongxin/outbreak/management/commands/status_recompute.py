"""`tongxin status-recompute [--compound CODE]`: store every resident's status again.

Statuses are recomputed whenever a fact changes; run this after changing TONGXIN_RULE_SET or
TONGXIN_RULES (isolation ends, validity and levels come from the rule set) or after loading
residents by other means than the registry's actions.
"""

import json
import sys
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from tongxin.outbreak.status import CHUNK, status_recompute
from tongxin.registry.models import Compound, Resident


class Command(BaseCommand):
    help = "Recompute and store the status of every resident (or of one compound's)."

    def add_arguments(self, parser):
        parser.add_argument("--compound", help="only this compound's residents (its code)")

    def handle(self, *args, compound=None, **options):
        residents = Resident.objects.order_by("pk")
        if compound:
            found = Compound.objects.filter(code=compound).first()
            if found is None:
                raise CommandError(f"no compound with code {compound!r}")
            residents = residents.filter(compound=found)
        ids = list(residents.values_list("pk", flat=True))
        started = time.perf_counter()
        for start in range(0, len(ids), CHUNK):
            with transaction.atomic():
                status_recompute(ids[start : start + CHUNK])
            done = min(start + CHUNK, len(ids))
            rate = done / max(time.perf_counter() - started, 1e-9)
            print(f"status-recompute: {done:,}/{len(ids):,} residents, {rate:,.0f}/s", file=sys.stderr)
        seconds = round(time.perf_counter() - started, 2)
        self.stdout.write(json.dumps({"residents": len(ids), "seconds": seconds}))
