#!/usr/bin/env python
"""Time the registry's main reads on a synth database, against a primary-key read as the baseline.

    .venv/bin/python bench/synth.py --residents 1000000 --keep      # prints its database_url
    DATABASE_URL=postgres://... .venv/bin/python bench/reads.py

Each read runs --repeat times (after one warm-up); the JSON gives the median and worst in ms, for
the platform admin (every compound) and for a compound manager (one compound).
"""

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongxin.config.settings")
os.environ.setdefault("DEBUG", "1")


def timed(fn, repeat: int) -> dict:
    fn()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return {"median_ms": round(statistics.median(samples), 2), "max_ms": round(max(samples), 2)}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL"):
        parser.error("set DATABASE_URL to a database loaded by `tongxin synth`")

    import django

    django.setup()
    from tongxin.accounts.models import Role, User
    from tongxin.core.crypto import decrypt
    from tongxin.core.system import system_user
    from tongxin.registry import selectors
    from tongxin.registry.models import Compound, Resident

    admin = system_user()
    compounds = list(
        Compound.objects.filter(code__startswith="SYN").order_by("code").values_list("pk", flat=True)
    )
    if not compounds:
        parser.error("no synth compounds in this database")
    compound = Compound.objects.get(pk=compounds[len(compounds) // 2])
    manager = User(username="bench-manager", role=Role.COMPOUND_MANAGER, compound=compound, is_active=True)
    sample = Resident.objects.filter(compound=compound).exclude(phone_cipher="").order_by("pk").first()
    phone, name = decrypt(sample.phone_cipher), sample.name
    max_id = Resident.objects.order_by("-pk").values_list("pk", flat=True).first()
    rng = random.Random(1)

    def pk_read():
        return Resident.objects.filter(pk=rng.randint(1, max_id)).first()

    reads = {
        "primary_key_read (baseline)": pk_read,
        "compound_map admin": lambda: selectors.compound_map(admin, compound),
        "compound_map manager": lambda: selectors.compound_map(manager, compound),
        "search phone admin": lambda: list(selectors.resident_search(admin, phone)),
        "search phone manager": lambda: list(selectors.resident_search(manager, phone)),
        "search name admin": lambda: list(selectors.resident_search(admin, name)),
        "search name manager": lambda: list(selectors.resident_search(manager, name)),
        "stats city admin": lambda: selectors.compound_stats(admin),
        "stats compound manager": lambda: selectors.compound_stats(manager, compound),
    }
    result = {
        "residents": Resident.objects.count(),
        "compounds": len(compounds),
        "repeat": args.repeat,
        "search_name": name,
        "reads": {label: timed(fn, args.repeat) for label, fn in reads.items()},
    }
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
