#!/usr/bin/env python
"""Time importing and exporting N residents, against reading the same file with openpyxl alone.

    .venv/bin/python bench/import_export.py --residents 10000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<an empty database> .venv/bin/python bench/import_export.py

Without DATABASE_URL it uses a fresh SQLite file in a temporary directory. Prints one JSON object:
- baseline_openpyxl_read_seconds: openpyxl read-only iteration over the .xlsx, nothing else;
- dry_run / import / reimport (the same file again: everything unchanged, nothing written);
- export_masked / export_revealed: the compound's residents to .xlsx.
"""

import argparse
import datetime
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongxin.config.settings")
os.environ.setdefault("DEBUG", "1")
if "DATABASE_URL" not in os.environ:
    os.environ["TONGXIN_VAR"] = tempfile.mkdtemp(prefix="tongxin-bench-")


def seconds(started: float) -> float:
    return round(time.perf_counter() - started, 3)


def workbook(rows: int) -> bytes:
    from openpyxl import Workbook

    from tongxin.core.documents import make_mainland_id

    book = Workbook(write_only=True)
    sheet = book.create_sheet("居民")
    sheet.append(["姓名", "身份证号", "手机号", "楼栋", "单元", "房号", "与户主关系", "独居", "备注"])
    first = datetime.date(1930, 1, 1)
    for n in range(rows):
        birth = first + datetime.timedelta(days=n % 30000)
        sheet.append(
            [
                f"居民{n}",
                make_mainland_id("150105", birth, n // 30000 * 2 + 1),
                f"139{n:08d}",
                f"{n % 20 + 1}号楼",
                f"{n // 20 % 4 + 1}单元",
                f"{n // 80 % 30 + 1}0{n % 2 + 1}",
                "户主" if n % 3 == 0 else "子女",
                "是" if n % 17 == 0 else "",
                "",
            ]
        )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--residents", type=int, default=10000)
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from openpyxl import load_workbook

    from tongxin.registry import actions

    call_command("migrate", verbosity=0)
    city = actions.area_ensure(level="city", code="150100", name="呼和浩特市")
    community = actions.area_ensure(level="community", code="150105999001", name="基准社区", parent=city)
    compound = actions.compound_ensure(code="BENCH-IMPORT", name="基准小区", community=community)
    for b in range(1, 21):
        building = actions.building_ensure(compound=compound, number=str(b))
        for u in range(1, 5):
            actions.unit_ensure(building=building, number=str(u))

    content = workbook(args.residents)
    figures: dict[str, object] = {
        "residents": args.residents,
        "database": connection.vendor,
        "file_bytes": len(content),
    }
    started = time.perf_counter()
    book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    sum(1 for _row in book.worksheets[0].iter_rows(values_only=True))
    figures["baseline_openpyxl_read_seconds"] = seconds(started)

    def run(dry_run: bool):
        return actions.residents_import(
            actor=None, compound=compound, file_name="bench.xlsx", content=content, dry_run=dry_run
        )

    for label, dry_run in (("dry_run", True), ("import", False), ("reimport", False)):
        started = time.perf_counter()
        report = run(dry_run)
        figures[f"{label}_seconds"] = seconds(started)
        counts = report.to_dict()
        figures[f"{label}_counts"] = {k: counts[k] for k in ("created", "updated", "unchanged")} | {
            "invalid": len(report.invalid)
        }
    for label, reason in (("export_masked", ""), ("export_revealed", "基准测试")):
        started = time.perf_counter()
        actions.residents_export(actor=None, compound=compound, reveal_reason=reason)
        figures[f"{label}_seconds"] = seconds(started)
    print(json.dumps(figures, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
