"""`tongxin synth --residents N [--compounds M] [--seed S]`: a synthetic city for benchmarks."""

import json

from django.core.management.base import BaseCommand, CommandError

from tongxin.registry.synth import SynthError, stderr_progress, synth


class Command(BaseCommand):
    help = (
        "Generate a city-scale synthetic registry (compounds of about 2,000 residents) for benchmarks. "
        "Progress goes to stderr, a JSON summary to stdout."
    )

    def add_arguments(self, parser):
        parser.add_argument("--residents", type=int, required=True, metavar="N")
        parser.add_argument("--compounds", type=int, metavar="M", help="default: N / 2000")
        parser.add_argument("--seed", type=int, default=1, metavar="S")
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--append", action="store_true", help="add to existing data of the same seed")
        mode.add_argument("--reset", action="store_true", help="replace existing data of the same seed")
        parser.add_argument(
            "--workers", type=int, metavar="W", help="generator processes (default: 2 for large N)"
        )

    def handle(self, *args, **options):
        try:
            result = synth(
                residents=options["residents"],
                compounds=options["compounds"],
                seed=options["seed"],
                append=options["append"],
                reset=options["reset"],
                workers=options["workers"],
                progress=stderr_progress,
            )
        except SynthError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False))
