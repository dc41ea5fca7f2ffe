"""A team's day of a campaign as .xlsx, the door list volunteers print and carry: one row per door
in building, unit and room order, with an empty column to sign. Rooms kept as text; no cell may
start as a formula."""

from django.utils.translation import gettext as _
from openpyxl import Workbook

from tongxin.core.spreadsheets import cell as _cell
from tongxin.core.spreadsheets import workbook_bytes
from tongxin.supplies.units import unit_label


def write_doors(rows, *, campaign, day, team) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("上门清单"))
    label = unit_label(campaign.item.unit)
    sheet.append(
        [
            _cell(
                sheet, f"{campaign.name} · {day:%Y-%m-%d} · " + _("第%(team)s组") % {"team": team}, bold=True
            ),
        ]
    )
    headers = [_("楼栋"), _("单元"), _("房号"), _("人数"), _("应发（%(unit)s）") % {"unit": label}]
    headers += [_("结果"), _("上门次数"), _("备注"), _("签收")]
    sheet.append([_cell(sheet, header, bold=True) for header in headers])
    for visit in rows:
        sheet.append(
            [
                _cell(sheet, visit.building.number, text=True),
                _cell(sheet, visit.unit.number, text=True),
                _cell(sheet, visit.household.room, text=True),
                _cell(sheet, visit.people),
                _cell(sheet, float(visit.share)),
                _cell(sheet, str(visit.get_outcome_display())),
                _cell(sheet, visit.attempts),
                _cell(sheet, visit.note),
                _cell(sheet, ""),
            ]
        )
    return workbook_bytes(workbook)


def file_name(campaign, day, team) -> str:
    return f"{campaign.name}{day:%Y%m%d}第{team}组上门清单.xlsx"
