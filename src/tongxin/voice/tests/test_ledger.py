"""The requests ledger (诉求台账): the span of days it reads, its rows and answers in the .xlsx, the
audit row, who may take it, and a query count that does not grow with the rows."""

import datetime
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from tongxin.accounts.models import Role
from tongxin.core.models import AuditLog
from tongxin.voice.actions import requests as actions
from tongxin.voice.selectors.ledger import Span, ledger_span, requests_ledger

from .request_helpers import make_request, manager

TODAY = datetime.date(2026, 11, 29)


def at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def sheet_rows(content: bytes) -> list[tuple]:
    return list(load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True))


def test_the_span_is_the_last_30_days_unless_named():
    assert ledger_span(today=TODAY) == Span(datetime.date(2026, 10, 31), TODAY)
    assert ledger_span("2026-11-01", "2026-11-02", today=TODAY) == Span(
        datetime.date(2026, 11, 1), datetime.date(2026, 11, 2)
    )


@pytest.mark.parametrize(
    ("start", "end", "field", "message"),
    [
        ("2026-13-01", "", "start", "日期格式应为 YYYY-MM-DD"),
        ("", "2026-11-30", "end", "结束日期不能晚于今天"),
        ("2026-11-20", "2026-11-19", "start", "开始日期不能晚于结束日期"),
        ("2025-11-01", "2026-11-29", "start", "一次最多导出366天"),
    ],
)
def test_a_span_that_cannot_be_used_is_refused_with_its_reason(start, end, field, message):
    with pytest.raises(ValidationError) as refused:
        ledger_span(start, end, today=TODAY)
    assert refused.value.message_dict == {field: [message]}


def test_the_ledger_holds_the_days_requests_with_answers_and_target(world, client):
    boss = manager(world)
    day = timezone.localdate() - datetime.timedelta(days=1)  # every time in it is past
    quick = make_request(world, household=world.home_a1, text="快递能进吗", received_at=at(day, 0, 5))
    actions.request_answer(actor=boss, request=quick, text="可以", at=at(day, 0, 35))
    actions.request_answer(actor=boss, request=quick, text="补充：北门", at=at(day, 0, 40))
    actions.request_close(actor=boss, request=quick, at=at(day, 0, 50))
    slow = make_request(world, text='=HYPERLINK("http://x")', asker="群友-王", received_at=at(day, 0, 10))
    actions.request_answer(actor=boss, request=slow, text="已处理", at=at(day, 3, 10))
    make_request(world, text="昨天的", received_at=at(day - datetime.timedelta(days=1), 23))
    make_request(world, compound=world.compound_b, actor=world.users[Role.PLATFORM_ADMIN], text="乙小区")

    rows = requests_ledger(boss, world.compound_a.pk, Span(day, day))
    assert [row.text for row in rows] == ["快递能进吗", '=HYPERLINK("http://x")']
    assert [(row.minutes_to_answer, row.within_target) for row in rows] == [(30, True), (180, False)]

    client.force_login(boss)
    response = client.get(
        reverse("voice:ledger"),
        {"compound": world.compound_a.pk, "start": day.isoformat(), "end": day.isoformat(), "download": "1"},
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert response["Cache-Control"].startswith("max-age=0")
    client_rows = sheet_rows(response.content)
    assert client_rows[1][:4] == ("收到时间", "渠道", "房号", "提出人")
    first, second = client_rows[2], client_rows[3]
    assert first[2] == str(world.home_a1)
    assert first[6] == "快递能进吗"
    assert first[7] == "已办结"
    assert first[10] == 30 and first[11] == "是"
    assert first[12].splitlines()[1].endswith("补充：北门")
    assert second[3] == "群友-王"
    assert second[6] == '\'=HYPERLINK("http://x")'  # kept as text, never run
    assert second[11] == "否"
    assert len(client_rows) == 4
    log = AuditLog.objects.get(fields="requests_ledger")
    assert (log.action, log.actor_id, log.detail["count"]) == ("export", boss.pk, 2)


def test_volunteers_residents_and_other_compounds_do_not_get_the_ledger(world, client):
    with pytest.raises(PermissionDenied):
        requests_ledger(world.users[Role.VOLUNTEER], world.compound_a.pk, ledger_span())
    with pytest.raises(Http404):
        requests_ledger(manager(world), world.compound_b.pk, ledger_span())
    for role in (Role.VOLUNTEER, Role.RESIDENT):
        client.force_login(world.users[role])
        assert client.get(reverse("voice:ledger"), {"compound": world.compound_a.pk}).status_code == 403
    client.force_login(manager(world))
    response = client.get(reverse("voice:ledger"), {"compound": world.compound_b.pk, "download": "1"})
    assert response.status_code == 404
    assert not AuditLog.objects.filter(fields="requests_ledger").exists()


def test_the_form_refuses_bad_days_on_the_page(world, client):
    client.force_login(manager(world))
    response = client.get(
        reverse("voice:ledger"), {"compound": world.compound_a.pk, "start": "2026-11-20", "end": "2026-11-19"}
    )
    assert response.status_code == 400
    assert "开始日期不能晚于结束日期" in response.content.decode()
    page = client.get(reverse("voice:ledger"), {"compound": world.compound_a.pk})
    assert page.status_code == 200 and "导出 Excel" in page.content.decode()


def test_the_export_reads_in_a_fixed_number_of_queries(world, client, django_assert_max_num_queries):
    boss = manager(world)
    for index in range(12):
        request = make_request(
            world, household=world.home_a1 if index % 2 else world.home_a2, text=f"问题{index}"
        )
        actions.request_answer(actor=boss, request=request, text="答复")
    client.force_login(boss)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("voice:ledger"), {"compound": world.compound_a.pk, "download": "1"})
    assert len(sheet_rows(response.content)) == 2 + 12
