"""The voice demo: a day of 丁香苑小区 (24 requests from the WeChat groups, three common questions
each answered by one notice, answers one by one, hand-overs to supplies, late ones, calls, template
notices, robots never called, the demo resident's portal) and 煤田公交小区's report figures (210
messages, 11 calls, 20 problems solved); a second run adds nothing."""

import datetime

import pytest
from django.utils import timezone

from tongxin.accounts.models import User
from tongxin.core.models import AuditLog
from tongxin.registry.demo import load_demo as load_registry
from tongxin.registry.models import Compound, Household
from tongxin.supplies.models import SupplyRequest
from tongxin.voice import similarity
from tongxin.voice.demo import day
from tongxin.voice.demo import load_demo as load_voice
from tongxin.voice.models import (
    Answer,
    Channel,
    Delivery,
    Endpoint,
    HotlineCall,
    Notice,
    QuestionGroup,
    Request,
    State,
)
from tongxin.voice.selectors.counts import compound_counts
from tongxin.voice.selectors.notices import notices_for_household
from tongxin.voice.selectors.requests import household_requests, late_requests

pytestmark = pytest.mark.django_db

DXY_FIGURES = {
    "requests": 28,  # 24 from the groups, 2 from hotline calls, 2 from the resident's portal
    "requests_from_groups": 24,
    "answered": 25,
    "closed": 6,
    "late": 3,
    "common_questions_answered": 3,
    "handed_to_supplies": 3,
    "calls": 5,
    "notices_published": 5,  # 3 answers to common questions, 2 from templates
    "notices_scheduled": 1,
    "robots": 2,
    "robot_deliveries_pending": 10,  # 5 notices to both robots
    "resident_requests": 3,
    "resident_notices": 5,
}
MTGJ_FIGURES = {
    "wechat_groups": 5,
    "notices_published": 210,
    "calls": 11,
    "calls_answered": 11,
    "requests": 20,
    "problems_solved": 20,
}
MODELS = (Request, Answer, QuestionGroup, Notice, Delivery, Endpoint, HotlineCall, SupplyRequest, AuditLog)


def _rows() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


def test_the_demo_day_of_dingxiang_and_the_figures_of_meitian(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("the demo must not call a robot")

    monkeypatch.setattr("tongxin.voice.senders._post_json", no_network)
    load_registry()
    now = timezone.now()
    summary = load_voice(now=now)
    assert summary == {"DXY": DXY_FIGURES, "MTGJ": MTGJ_FIGURES}

    dingxiang = Compound.objects.get(code="DXY")
    manager = User.objects.get(username="manager")
    grid = User.objects.get(username="grid")
    from_groups = Request.objects.filter(compound=dingxiang, channel=Channel.GROUP)
    assert from_groups.count() == 24
    assert all(now - datetime.timedelta(hours=10) < r.received_at < now for r in from_groups)

    # Three common questions, each answered once by its own notice that every request records.
    groups = list(QuestionGroup.objects.filter(compound=dingxiang).order_by("pk"))
    assert [g.requests.count() for g in groups] == [5, 4, 4]
    # Found in the order of their oldest message: 解封 (9 hours ago), 核酸, 快递.
    common_of = {c["title"]: c for c in day.COMMON}
    assert [g.notice.title for g in groups] == [
        "关于小区解封时间的说明",
        "今明两天核酸检测安排",
        "关于快递进小区的说明",
    ]
    for group in groups:
        common = common_of[group.notice.title]
        assert {r.text for r in group.requests.all()} == {m[3] for m in common["messages"]}
        assert set(group.requests.values_list("state", flat=True)) == {State.ANSWERED}
        answers = Answer.objects.filter(request__group=group)
        assert answers.count() == group.requests.count()
        assert set(answers.values_list("notice_id", "channel", "text")) == {
            (group.notice_id, Channel.GROUP, common["body"])
        }
        assert group.notice.published_at is not None and group.notice.audience == "compound"
        assert sorted(group.notice.deliveries.values_list("channel", "status")) == [
            ("dingtalk", "pending"),
            ("portal", "sent"),
            ("wecom", "pending"),
        ]
    assert Notice.objects.filter(compound=dingxiang, answered_groups__isnull=False).distinct().count() == 3

    # The individual questions: handed over to supplies, answered privately, or late.
    handed = from_groups.filter(supply_request__isnull=False).select_related("supply_request")
    assert sorted(r.supply_request.kind for r in handed) == ["medicine", "vegetables", "water"]
    assert {r.supply_request.source for r in handed} == {f"voice:{r.pk}" for r in handed}
    assert set(handed.values_list("state", flat=True)) == {State.ANSWERED}
    medicine = handed.get(supply_request__kind="medicine")
    assert medicine.urgent and medicine.household.building.number == "3"
    private = Answer.objects.filter(request__in=from_groups, channel=Channel.PRIVATE)
    assert private.count() == 8
    assert from_groups.filter(state=State.CLOSED).count() == 4
    late = list(late_requests(manager, dingxiang.pk, now))
    assert [r.text for r in late] == [
        "暖气不热，家里只有十五度",
        "孩子上网课要打印作业，打印机没墨了",
        "楼上卫生间漏水，已经渗到我家天花板了",
    ]
    assert [(r.state, r.holder_id) for r in late] == [
        (State.NEW, None),
        (State.ACKNOWLEDGED, grid.pk),
        (State.NEW, None),
    ]

    # The hotline: five calls, two of which became requests answered by the hotline.
    calls = HotlineCall.objects.filter(compound=dingxiang)
    assert calls.count() == 5
    assert calls.filter(request__isnull=False).count() == 2
    assert not calls.filter(phone_masked__in=[c[2] for c in day.CALLS]).exists()
    assert set(
        Answer.objects.filter(request__channel=Channel.HOTLINE, request__compound=dingxiang).values_list(
            "channel", flat=True
        )
    ) == {Channel.HOTLINE}

    # Notices from the templates; tomorrow's testing notice scheduled, not yet published.
    assert sorted(
        Notice.objects.filter(compound=dingxiang).exclude(template="").values_list("template", flat=True)
    ) == [
        "cleanup",
        "testing_unit",
        "testing_unit",
    ]
    scheduled = Notice.objects.get(compound=dingxiang, published_at__isnull=True)
    assert scheduled.title == "1号楼2单元核酸检测通知" and scheduled.scheduled_at > now

    # The robots: masked addresses on a host that never resolves; nothing sent, nothing tried.
    robots = Endpoint.objects.filter(compound=dingxiang).order_by("pk")
    assert [(e.kind, e.active) for e in robots] == [("wecom", True), ("dingtalk", True)]
    assert all(e.url_masked.startswith("https://") and ".invalid/" in e.url_masked for e in robots)
    assert all("dxy-demo" not in e.url_masked for e in robots)
    robot_deliveries = Delivery.objects.filter(endpoint__compound=dingxiang)
    assert set(robot_deliveries.values_list("status", "attempts")) == {("pending", 0)}

    # The demo resident's portal: her three requests with their answers, five notices.
    resident = User.objects.get(username="resident")
    cleanup_day = timezone.localdate(now - datetime.timedelta(minutes=550)) + datetime.timedelta(days=1)
    home = Household.objects.get(pk=resident.household_id)
    mine = list(household_requests(resident, home.pk))
    assert [(r.channel, r.state, len(r.answers.all())) for r in mine] == [
        (Channel.PORTAL, State.ANSWERED, 1),
        (Channel.PORTAL, State.CLOSED, 1),
        (Channel.GROUP, State.ANSWERED, 1),
    ]
    assert mine[2].answers.all()[0].notice.title == "关于小区解封时间的说明"
    assert [n.title for n in notices_for_household(resident, home)] == [
        "关于快递进小区的说明",
        "关于小区解封时间的说明",
        "今明两天核酸检测安排",
        f"{cleanup_day.month}月{cleanup_day.day}日环境清洁消杀通知",
        "1号楼1单元核酸检测通知",
    ]

    # 煤田公交小区: the report's figures on the counts page, in its sealed days.
    meitian = Compound.objects.get(code="MTGJ")
    counts = compound_counts(User.objects.get(username="manager_mt"), meitian, now=now)
    assert (counts["notices"], counts["calls"], counts["received"], counts["answered"], counts["closed"]) == (
        210,
        11,
        20,
        20,
        20,
    )
    assert counts["late"] == 0
    notices = Notice.objects.filter(compound=meitian)
    assert notices.filter(template="testing_unit").count() == 24 * 8
    assert not Delivery.objects.filter(notice__compound=meitian).exclude(channel="portal").exists()
    first = timezone.localdate(now) - datetime.timedelta(days=20)
    assert {timezone.localdate(n.published_at) for n in notices} == {
        first + datetime.timedelta(days=n) for n in range(9)
    }
    assert Request.objects.filter(compound=meitian, channel=Channel.HOTLINE).count() == 6

    # A second run adds nothing and says the same.
    before = _rows()
    assert load_voice(now=timezone.now()) == summary
    assert _rows() == before


def test_the_demo_common_questions_are_found_by_similarity_alone():
    """The texts of the day group into exactly the three common questions (the individual ones,
    the elder's request with any name, stay single), so that `groups_suggest` finds them."""
    texts = [m[3] for c in day.COMMON for m in c["messages"]]
    texts += [row[3].format(room="3号楼1单元101室", elder="王奶奶") for row in day.INDIVIDUAL]
    grouped = [g for g in similarity.group_texts(texts, threshold=0.35) if len(g) > 1]
    assert grouped == [[0, 1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]


def test_the_demos_answers_meet_their_targets(monkeypatch):
    """Every request answered one by one met its target (the ledger's 按时答复); the only ones that
    waited longer are the first askers of a common question, answered by its one notice."""
    from tongxin.voice.selectors.requests import answer_minutes

    monkeypatch.setattr("tongxin.voice.senders._post_json", lambda *args, **kwargs: None)
    load_registry()
    load_voice()
    answered = Request.objects.filter(first_answer_at__isnull=False)
    assert answered.count() > 40
    missed = [
        r
        for r in answered
        if r.first_answer_at - r.received_at > datetime.timedelta(minutes=answer_minutes(r.urgent))
        or r.first_answer_at < r.received_at
    ]
    assert len(missed) == 6
    assert all(r.group_id is not None and r.first_answer_at == r.group.answered_at for r in missed)
