"""`tongxin demo`: load the two demo compounds of the source report and one login per role."""

import json
import time

from django.core.management.base import BaseCommand

from tongxin.registry.demo import load_demo


class Command(BaseCommand):
    help = "Load the demo compounds (丁香苑, 煤田公交) and the demo logins; safe to run again."

    def handle(self, *args, **options):
        started = time.perf_counter()
        summary = load_demo()
        summary["seconds"] = round(time.perf_counter() - started, 2)
        for code, info in summary["compounds"].items():
            state = (
                f"{info['residents_created']} residents created" if info["residents_created"] else "present"
            )
            self.stdout.write(f"demo: {info['name']} ({code}): {state}")
        self.stdout.write(json.dumps(summary, ensure_ascii=False))
