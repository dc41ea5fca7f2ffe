"""The stock's Excel files: the balances of a compound's stores, and one item's history.

Written in openpyxl's write-only mode, Chinese headers in the first row. Text typed by people (item,
store, team and donor names, notes) can start with "=": such a cell is written with a leading
apostrophe so that Excel shows it instead of running it.
"""

from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from tongxin.core.spreadsheets import cell, workbook_bytes
from tongxin.supplies.selectors.stock import room_of
from tongxin.supplies.units import unit_label

QUANTITY_FORMAT = "0.######"


def _cell(sheet, value, *, bold: bool = False) -> WriteOnlyCell:
    if isinstance(value, Decimal):
        value = float(value.normalize())
    return cell(sheet, value, bold=bold)


def write_balances(rows, *, compound) -> bytes:
    """`rows`: the selector's BalanceRow list."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("库存"))
    sheet.append([_cell(sheet, h, bold=True) for h in (_("仓库"), _("物资"), _("数量"), _("单位"))])
    for row in rows:
        sheet.append(
            [
                _cell(sheet, row.store),
                _cell(sheet, row.item),
                _cell(sheet, row.quantity),
                _cell(sheet, unit_label(row.unit)),
            ]
        )
    return workbook_bytes(workbook)


def write_history(moves, *, item) -> bytes:
    """`moves`: the item's StockMove rows with their stores, household, donation and user."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("出入库记录"))
    headers = (
        _("时间"),
        _("类型"),
        _("数量"),
        _("单位"),
        _("仓库"),
        _("对方仓库"),
        _("住户"),
        _("队伍"),
        _("捐赠方"),
        _("金额（元）"),
        _("经办人"),
        _("备注"),
    )
    sheet.append([_cell(sheet, h, bold=True) for h in headers])
    unit = unit_label(item.unit)
    for move in moves:
        sheet.append(
            [
                _cell(sheet, timezone.localtime(move.at).strftime("%Y-%m-%d %H:%M")),
                _cell(sheet, str(move.get_kind_display())),
                _cell(sheet, move.quantity),
                _cell(sheet, unit),
                _cell(sheet, move.store.name),
                _cell(sheet, move.other_store.name if move.other_store else ""),
                _cell(sheet, room_of(move.household)),
                _cell(sheet, move.team),
                _cell(sheet, move.donation.donor if move.donation else ""),
                _cell(sheet, move.price),
                _cell(sheet, move.by.username if move.by else ""),
                _cell(sheet, move.note),
            ]
        )
    return workbook_bytes(workbook)


def balances_file_name(compound) -> str:
    return f"{compound.name}库存{timezone.localdate():%Y%m%d}.xlsx"


def history_file_name(item) -> str:
    return f"{item.name}出入库记录{timezone.localdate():%Y%m%d}.xlsx"
