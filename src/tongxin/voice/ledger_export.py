"""The requests ledger (诉求台账) as .xlsx: one row per request, oldest first, with when it came, from
whom and where, what was asked, its category, state and holder, when it was first answered and
whether within the target, every answer, when it was closed. No phone numbers.

Cells typed by residents go through core.spreadsheets, so "=HYPERLINK(…)" stays text."""

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook

from tongxin.core.spreadsheets import cell, workbook_bytes

TEXT_COLUMNS = {2, 3}  # the room and the asker


def _time(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def _who(request) -> str:
    return request.asker or (request.resident.name if request.resident_id else "")


def _answers(request) -> str:
    return "\n".join(
        f"{_time(answer.at)} {answer.get_channel_display()}：{answer.text}"
        for answer in request.answers.all()
    )


def write_ledger(rows, *, compound, span) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("诉求台账"))
    sheet.append(
        [
            cell(
                sheet,
                f"{compound.name} {_('诉求台账')} {span.start:%Y-%m-%d} – {span.end:%Y-%m-%d}",
                bold=True,
            )
        ]
    )
    headers = [
        _("收到时间"),
        _("渠道"),
        _("房号"),
        _("提出人"),
        _("类别"),
        _("紧急"),
        _("内容"),
        _("状态"),
        _("经办人"),
        _("首次答复时间"),
        _("答复用时（分钟）"),
        _("按时答复"),
        _("答复"),
        _("共性问题"),
        _("办结时间"),
    ]
    sheet.append([cell(sheet, header, bold=True) for header in headers])
    for request in rows:
        values = [
            _time(request.received_at),
            request.get_channel_display(),
            str(request.household) if request.household_id else "",
            _who(request),
            request.get_category_display(),
            _("是") if request.urgent else "",
            request.text,
            request.get_state_display(),
            str(request.holder) if request.holder_id else "",
            _time(request.first_answer_at),
            request.minutes_to_answer,
            "" if request.within_target is None else (_("是") if request.within_target else _("否")),
            _answers(request),
            request.group.label if request.group_id else "",
            _time(request.closed_at),
        ]
        sheet.append([cell(sheet, value, text=index in TEXT_COLUMNS) for index, value in enumerate(values)])
    return workbook_bytes(workbook)


def ledger_file_name(compound, span) -> str:
    return f"{compound.name}诉求台账{span.start:%Y%m%d}-{span.end:%Y%m%d}.xlsx"
