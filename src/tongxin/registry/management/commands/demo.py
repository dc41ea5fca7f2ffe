"""`tongxin demo`: load the two demo compounds of the source report and one login per role, then
each later module's part of the story (an app's `demo.load_demo()`, in INSTALLED_APPS order)."""

import importlib
import json
import time

from django.apps import apps
from django.core.management.base import BaseCommand

from tongxin.registry.demo import load_demo


def module_demos():
    """(label, load_demo) of every installed tongxin app after the registry that has a demo module."""
    for config in apps.get_app_configs():
        if not config.name.startswith("tongxin.") or config.name == "tongxin.registry":
            continue
        try:
            module = importlib.import_module(f"{config.name}.demo")
        except ModuleNotFoundError as error:
            if error.name == f"{config.name}.demo":
                continue
            raise
        yield config.label, module.load_demo


class Command(BaseCommand):
    help = "Load the demo compounds (丁香苑, 煤田公交), the demo logins and each module's story; safe to run again."

    def handle(self, *args, **options):
        started = time.perf_counter()
        summary = load_demo()
        for code, info in summary["compounds"].items():
            state = (
                f"{info['residents_created']} residents created" if info["residents_created"] else "present"
            )
            self.stdout.write(f"demo: {info['name']} ({code}): {state}")
        for label, load in module_demos():
            summary[label] = load()
            self.stdout.write(f"demo: {label}: {json.dumps(summary[label], ensure_ascii=False)}")
        summary["seconds"] = round(time.perf_counter() - started, 2)
        self.stdout.write(json.dumps(summary, ensure_ascii=False))
