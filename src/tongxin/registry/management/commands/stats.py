"""`tongxin stats [--compound CODE] [--format json|text]`: registry counts for operators and scripts."""

import json

from django.core.management.base import BaseCommand, CommandError
from django.http import Http404

from tongxin.core.system import system_user
from tongxin.registry import selectors


class Command(BaseCommand):
    help = "Print counts of buildings, units, households, residents, elderly, tags and presence."

    def add_arguments(self, parser):
        parser.add_argument("--compound", metavar="CODE", help="one compound's code (default: everything)")
        parser.add_argument("--format", choices=("json", "text"), default="json")

    def handle(self, *args, compound=None, format="json", **options):
        user = system_user()
        target = None
        if compound:
            try:
                target = selectors.compound_by_code(user, compound)
            except Http404:
                raise CommandError(f"unknown compound code: {compound}") from None
        stats = selectors.compound_stats(user, target)
        if format == "json":
            self.stdout.write(json.dumps(stats, ensure_ascii=False))
        else:
            width = max(len(key) for key in stats)
            for key, value in stats.items():
                self.stdout.write(f"{key:<{width}}  {value}")
