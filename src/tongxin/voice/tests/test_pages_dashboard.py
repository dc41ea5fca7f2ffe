"""The overview (/voice/): the report's figures of the day and since the start, the late requests,
the links; who sees it, the day picker, a fixed number of queries."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from tongxin.accounts.models import Role
from tongxin.voice.actions import requests as actions
from tongxin.voice.actions.hotline import hotline_log
from tongxin.voice.actions.notices import notice_create

from .request_helpers import ago, make_request, manager

pytestmark = pytest.mark.django_db
INDEX = reverse("voice:index")


def figures(html: str, section: str) -> dict[str, int]:
    """{label: number} of the counts under the heading `section`."""
    part = html[html.index(f">{section}</h2>") :]
    part = part[: part.index("</dl>")]
    return {label: int(n) for label, n in re.findall(r"<dt>([^<]+)</dt><dd>(\d+)</dd>", part)}


@pytest.mark.parametrize(
    "role", [Role.PLATFORM_ADMIN, Role.OFFICIAL, Role.COMPOUND_MANAGER, Role.GRID_WORKER, Role.VOLUNTEER]
)
def test_the_team_sees_the_figures_and_the_late_requests(as_role, world, role):
    boss = manager(world)
    late = make_request(world, asker="幸福一家", text="<b>快递</b>能进吗", received_at=ago(180))
    answered = make_request(world, text="什么时候解封", received_at=ago(20))
    actions.request_answer(actor=boss, request=answered, text="等通知")
    actions.request_close(actor=boss, request=answered)
    make_request(world, household=world.home_a2, text="二号楼", received_at=ago(10))
    notice_create(actor=boss, compound=world.compound_a, title="通知", body="正文")
    hotline_log(
        actor=boss, compound=world.compound_a, caller="王", phone="", asked="核酸几点", answered="九点"
    )
    answer = as_role(role).get(f"{INDEX}?compound={world.compound_a.pk}")
    assert answer.status_code == 200
    assert answer["Cache-Control"].startswith("max-age=0")
    html = answer.content.decode()
    received = 2 if role == Role.GRID_WORKER else 3  # building 2 is not the grid worker's
    expected = {"发布通知": 1, "收到诉求": received, "已答复": 1, "解决问题": 1, "接听热线": 1}
    if timezone.localtime(ago(180)).date() == timezone.localdate():
        assert figures(html, "今日") == expected
    assert figures(html, "累计") == expected
    late_part = html[html.index('id="late-title"') :]
    assert reverse("voice:request", args=[late.pk]) in late_part and "幸福一家" in late_part
    assert "&lt;b&gt;快递&lt;/b&gt;能进吗" in late_part and "<b>快递</b>" not in html
    assert reverse("voice:request_new") in html and reverse("voice:requests") in html


def test_a_past_day_shows_that_days_figures(as_role, world):
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    make_request(
        world,
        text="昨天的",
        received_at=timezone.make_aware(datetime.datetime.combine(yesterday, datetime.time(12))),
    )
    client = as_role(Role.COMPOUND_MANAGER)
    html = client.get(f"{INDEX}?compound={world.compound_a.pk}&day={yesterday:%Y-%m-%d}").content.decode()
    assert figures(html, f"{yesterday:%Y-%m-%d}")["收到诉求"] == 1
    today = client.get(f"{INDEX}?compound={world.compound_a.pk}").content.decode()
    assert figures(today, "今日")["收到诉求"] == 0 and figures(today, "累计")["收到诉求"] == 1
    assert "没有超时未答复的诉求" not in today  # yesterday's is late now


def test_a_resident_is_sent_home_another_compound_is_not_found(as_role, world):
    resident = as_role(Role.RESIDENT).get(INDEX)
    assert resident.status_code == 302 and resident["Location"] == reverse("registry:home")
    client = as_role(Role.COMPOUND_MANAGER)
    assert client.get(f"{INDEX}?compound={world.compound_b.pk}").status_code == 404
    assert client.get(f"{INDEX}?compound=abc").status_code == 404


def test_one_compound_is_shown_at_once_and_an_admin_chooses(as_role, world):
    html = as_role(Role.COMPOUND_MANAGER).get(INDEX).content.decode()
    assert "甲小区 · 事事有回应" in html
    choose = as_role(Role.PLATFORM_ADMIN).get(INDEX).content.decode()
    assert "请选择小区" in choose and f"{INDEX}?compound={world.compound_b.pk}" in choose


def test_the_nav_links_the_voice_pages(as_role, world):
    html = as_role(Role.COMPOUND_MANAGER).get(f"{INDEX}?compound={world.compound_a.pk}").content.decode()
    nav = html[html.index('class="measures voice-nav"') :]
    nav = nav[: nav.index("</nav>")]
    assert f"{reverse('voice:requests')}?compound={world.compound_a.pk}" in nav
    assert 'class="chip current"' in nav


def test_the_overview_takes_a_fixed_number_of_queries(as_role, world, django_assert_max_num_queries):
    for n in range(2):
        make_request(world, text=f"快递{n}", received_at=ago(200))
    client = as_role(Role.COMPOUND_MANAGER)
    with django_assert_max_num_queries(30) as few:
        assert client.get(f"{INDEX}?compound={world.compound_a.pk}").status_code == 200
    for n in range(8):
        make_request(
            world, household=world.home_a1 if n % 2 else world.home_a2, text=f"解封{n}", received_at=ago(200)
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(f"{INDEX}?compound={world.compound_a.pk}").status_code == 200


def test_the_overview_draws_requests_by_category_and_channel_as_bars(as_role, world):
    make_request(world, text="快递能进吗", channel="group", category="access")
    make_request(world, text="快递什么时候送", channel="group", category="access")
    make_request(world, text="我家老人要买药", channel="hotline", category="medical")
    html = as_role(Role.COMPOUND_MANAGER).get(INDEX, {"compound": world.compound_a.pk}).content.decode()
    bars = re.findall(r"<dt>([^<]+)</dt><dd><progress max=\"(\d+)\" value=\"(\d+)\">", html)
    assert bars == [("出入", "3", "2"), ("就医", "3", "1"), ("微信群消息", "3", "2"), ("热线电话", "3", "1")]


def test_the_overview_has_no_bars_before_any_request(as_role, world):
    html = as_role(Role.COMPOUND_MANAGER).get(INDEX, {"compound": world.compound_a.pk}).content.decode()
    assert "<progress" not in html
