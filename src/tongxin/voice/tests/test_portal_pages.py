"""The portal's pages: logging in by phone and code (one household or a choice of several) or by
the household's link, the home page with each of its parts, sending a request for oneself or an
elderly member, a request's answers, a notice, and the team's page of a household's link."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tongxin.access.tests.gate_helpers import hold, set_status
from tongxin.accounts.models import Role
from tongxin.core.models import AuditLog
from tongxin.registry.actions import household_ensure
from tongxin.registry.tests.factories import make_resident
from tongxin.supplies.tests.parcel_helpers import intake
from tongxin.testing.tests.round_helpers import make_round
from tongxin.voice.actions.notices import notice_create
from tongxin.voice.actions.portal import portal_link_token
from tongxin.voice.actions.requests import request_answer
from tongxin.voice.models import Channel, Request
from tongxin.voice.tests.portal_helpers import (
    issue_pass,
    manager,
    portal_user,
    recording_sms,
    sent_code,
    slot_for,
)
from tongxin.voice.tests.request_helpers import JPEG, PDF, make_request

ELDER_PHONE = "13812345678"


@pytest.fixture
def sms(settings):
    return recording_sms(settings)


def assert_csp_clean(html: str) -> None:
    """No inline style attributes or scripts (the Content Security Policy refuses them)."""
    assert " style=" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)


# -- logging in ------------------------------------------------------------------------------------


def test_log_in_by_phone_and_code(client, world, sms):
    page = client.get(reverse("portal:login"))
    assert page.status_code == 200 and "获取验证码" in page.content.decode()
    assert_csp_clean(page.content.decode())
    assert "no-cache" in page["Cache-Control"]
    response = client.post(reverse("portal:login"), {"phone": "138 1234 5678"})
    assert response.status_code == 302 and response["Location"] == reverse("portal:verify")
    verify = client.get(reverse("portal:verify")).content.decode()
    assert "138****5678" in verify and ELDER_PHONE not in verify
    response = client.post(reverse("portal:verify"), {"code": sent_code(sms, ELDER_PHONE)})
    assert response.status_code == 302 and response["Location"] == reverse("portal:home")
    home = client.get(reverse("portal:home"))
    assert home.status_code == 200
    assert home.wsgi_request.user.username == f"portal-r{world.elder.pk}"
    assert AuditLog.objects.filter(action="portal_login", ip="127.0.0.1").count() == 1


def test_an_unknown_phone_sees_the_same_page_as_a_known_one(client, world, sms):
    known = client.post(reverse("portal:login"), {"phone": ELDER_PHONE}, follow=True).content.decode()
    client.session.flush()
    unknown = client.post(reverse("portal:login"), {"phone": "13011112222"}, follow=True).content.decode()
    assert "如果该手机号已在社区登记，验证码已发送到138****5678，5分钟内有效" in known
    assert "如果该手机号已在社区登记，验证码已发送到130****2222，5分钟内有效" in unknown
    assert len(sms) == 1


def test_a_bad_phone_or_code_is_told_plainly(client, world, sms):
    response = client.post(reverse("portal:login"), {"phone": "12345"})
    assert response.status_code == 400 and "请输入11位手机号" in response.content.decode()
    response = client.post(reverse("portal:login"), {"phone": ""})
    assert response.status_code == 400 and "请输入手机号" in response.content.decode()
    client.post(reverse("portal:login"), {"phone": ELDER_PHONE})
    response = client.post(reverse("portal:verify"), {"code": "12"})
    assert response.status_code == 400 and "请输入6位数字验证码" in response.content.decode()
    wrong = f"{(int(sent_code(sms, ELDER_PHONE)) + 1) % 1000000:06d}"
    response = client.post(reverse("portal:verify"), {"code": wrong})
    assert response.status_code == 400 and "验证码不正确或已过期，请重新获取" in response.content.decode()
    response = client.post(reverse("portal:login"), {"phone": ELDER_PHONE})
    assert response.status_code == 400 and "验证码已发送，请60秒后再试" in response.content.decode()


def test_the_code_page_without_a_phone_goes_back_to_the_phone(client, world):
    assert client.get(reverse("portal:verify"))["Location"] == reverse("portal:login")
    assert client.get(reverse("portal:choose"))["Location"] == reverse("portal:login")


def test_a_phone_of_two_households_chooses_one(client, world, sms):
    other = make_resident(world.home_b, name="王秀兰", phone=ELDER_PHONE, relation="parent")
    client.post(reverse("portal:login"), {"phone": ELDER_PHONE})
    response = client.post(reverse("portal:verify"), {"code": sent_code(sms, ELDER_PHONE)})
    assert response["Location"] == reverse("portal:choose")
    page = client.get(reverse("portal:choose")).content.decode()
    assert f"{world.home_a1}（王秀兰）" in page and f"{world.home_b}（王秀兰）" in page
    response = client.post(reverse("portal:choose"), {"resident": world.neighbour.pk})
    assert response.status_code == 400 and "请选择列表中的住户" in response.content.decode()
    response = client.post(reverse("portal:choose"), {"resident": other.pk})
    assert response["Location"] == reverse("portal:home")
    home = client.get(reverse("portal:home"))
    assert home.wsgi_request.user.household_id == world.home_b.pk
    assert "赵四" in home.content.decode() and "王小明" not in home.content.decode()


def test_the_household_link_logs_in_and_a_bad_one_says_so(client, world):
    issue_pass(world, world.elder)
    url = reverse("portal:link", args=[portal_link_token(world.home_a1)])
    shown = client.get(url)  # a confirm page: a link preview logs nobody in
    assert shown.status_code == 200 and "进入我的家" in shown.content.decode()
    assert "_auth_user_id" not in client.session
    response = client.post(url)
    assert response["Location"] == reverse("portal:home")
    assert client.get(reverse("portal:home")).wsgi_request.user.username == f"portal-h{world.home_a1.pk}"
    client.logout()
    response = client.get(reverse("portal:link", args=["forged:token"]))
    assert response.status_code == 400
    assert "登录链接无效或已过期，请联系社区重新获取" in response.content.decode()


def test_visitors_go_to_the_portal_login_and_staff_to_their_home(client, world):
    for name, args in (
        ("portal:home", []),
        ("portal:ask", []),
        ("portal:request", [1]),
        ("portal:notice", [1]),
    ):
        response = client.get(reverse(name, args=args))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("portal:login"))
    client.force_login(manager(world))
    assert client.get(reverse("portal:home"))["Location"] == reverse("registry:home")
    assert client.get(reverse("portal:login")).status_code == 200


def test_a_resident_already_logged_in_skips_the_login(client, world):
    client.force_login(world.users[Role.RESIDENT])
    assert client.get(reverse("portal:login"))["Location"] == reverse("portal:home")
    assert client.get(reverse("registry:home"))["Location"] == reverse("portal:home")


# -- the home page ---------------------------------------------------------------------------------


@pytest.fixture
def furnished(world):
    """The elder's household with a notice, a testing slot, a red member, passes, a parcel and an
    answered request."""
    notice_create(
        actor=manager(world), compound=world.compound_a, title="明日核酸", body="请<b>带好</b>出入证"
    )
    round_ = make_round(world)
    slot_for(world, world.a1u1, round_=round_)
    set_status(world.elder, holds=[])
    set_status(world.child, holds=[hold("red", "case")])
    elder_pass = issue_pass(world, world.elder)
    intake(world, world.home_a1, tracking_number="SF-MINE")
    asked = make_request(world, household=world.home_a1, text="<script>alert(1)</script>想买药")
    request_answer(actor=manager(world), request=asked, text="已安排志愿者送药")
    return {"pass": elder_pass, "request": asked, "round": round_}


def test_the_home_page_shows_each_part_of_the_household(
    client, world, furnished, django_assert_max_num_queries
):
    client.force_login(portal_user(world))
    with django_assert_max_num_queries(15):
        response = client.get(reverse("portal:home"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"]
    assert_csp_clean(html)
    assert "voice/portal.css" in html
    assert "甲小区" in html and str(world.home_a1) in html
    assert "明日核酸" in html and "请&lt;b&gt;带好&lt;/b&gt;出入证" in html
    assert "下楼检测，带好出入证" in html and "1号采样点" in html
    assert re.search(r"王秀兰<span class=\"portal-tag\">老人</span>", html)
    assert '<span class="portal-color color-green">绿码</span>' in html
    assert '<span class="portal-color color-red">红码</span>' in html
    assert "阳性感染者" in html
    assert html.count("<svg") == 1 and furnished["pass"].number in html
    assert "SF-MINE" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;想买药" in html and "<script>alert" not in html
    assert "已安排志愿者送药" in html and "已答复" in html
    assert reverse("portal:ask") in html and reverse("supplies:mine_requests") in html


def test_the_home_page_of_a_bare_household_says_there_is_nothing_yet(client, world):
    client.force_login(portal_user(world, resident=world.neighbour))
    html = client.get(reverse("portal:home")).content.decode()
    assert "暂无检测安排，请留意社区通知。" in html
    assert "暂无通知。" in html and "还没有提交过诉求。" in html and "近两周没有快递。" in html
    assert "<svg" not in html


def test_a_resident_account_without_a_household_is_told_so(client, world):
    from tongxin.registry.tests.factories import make_user

    client.force_login(make_user(Role.RESIDENT, username="nohome"))
    response = client.get(reverse("portal:home"))
    assert response.status_code == 200 and "账号尚未关联住户，请联系社区。" in response.content.decode()
    assert client.get(reverse("portal:ask")).status_code == 404


def test_the_home_page_queries_do_not_grow_with_the_household(client, world, django_assert_max_num_queries):
    for n in range(6):
        member = make_resident(world.home_a1, name=f"家人{n}", phone="", relation="other")
        issue_pass(world, member)
        make_request(world, household=world.home_a1, text=f"第{n}个问题")
        notice_create(actor=manager(world), compound=world.compound_a, title=f"通知{n}", body="正文")
    client.force_login(portal_user(world))
    with django_assert_max_num_queries(30):  # the members' statuses computed together, once
        client.get(reverse("portal:home"))
    with django_assert_max_num_queries(15):  # as for a household of two
        response = client.get(reverse("portal:home"))
    assert response.content.decode().count("<svg") == 6


# -- sending a request -----------------------------------------------------------------------------


def test_a_member_sends_a_request_for_an_elderly_parent(client, world):
    client.force_login(portal_user(world, resident=world.child))
    page = client.get(reverse("portal:ask"))
    html = page.content.decode()
    assert page.status_code == 200 and "王秀兰（老人）" in html and "可为家中老人代办" in html
    assert_csp_clean(html)
    response = client.post(
        reverse("portal:ask"),
        {"resident": world.elder.pk, "category": "medical", "text": "  奶奶的降压药吃完了  "},
    )
    created = Request.objects.get()
    assert response["Location"] == reverse("portal:request", args=[created.pk])
    assert (created.household_id, created.resident_id, created.asker, created.channel, created.category) == (
        world.home_a1.pk,
        world.elder.pk,
        "王小明",
        Channel.PORTAL,
        "medical",
    )
    assert created.text == "奶奶的降压药吃完了" and created.urgent
    detail = client.get(response["Location"]).content.decode()
    assert "王小明为王秀兰代办" in detail and "社区工作人员正在处理，请耐心等待答复。" in detail


def test_a_request_for_oneself_with_a_photo_and_a_suggested_category(client, world):
    client.force_login(portal_user(world))
    photo = SimpleUploadedFile("p.jpg", JPEG, content_type="image/jpeg")
    client.post(
        reverse("portal:ask"),
        {"resident": world.elder.pk, "category": "", "text": "快递能进小区吗", "attachments": [photo]},
    )
    created = Request.objects.get()
    assert (created.resident_id, created.asker, created.category) == (world.elder.pk, "", "access")
    assert [a.name for a in created.attachments.all()] == ["p.jpg"]


def test_a_bad_request_is_refused_with_its_reason(client, world):
    client.force_login(portal_user(world))
    response = client.post(reverse("portal:ask"), {"resident": world.elder.pk, "text": "   "})
    assert response.status_code == 400 and "请填写诉求内容" in response.content.decode()
    response = client.post(reverse("portal:ask"), {"resident": world.neighbour.pk, "text": "帮帮忙"})
    assert response.status_code == 400 and "请选择本户的家人" in response.content.decode()
    text_file = SimpleUploadedFile("a.txt", b"hello world" * 10, content_type="text/plain")
    response = client.post(
        reverse("portal:ask"), {"resident": world.elder.pk, "text": "看附件", "attachments": [text_file]}
    )
    assert response.status_code == 400 and "附件" in response.content.decode()
    assert not Request.objects.exists()


def test_the_request_page_shows_its_answers(client, world):
    asked = make_request(world, household=world.home_a1, text="什么时候解封")
    request_answer(actor=manager(world), request=asked, text="预计周五解封", channel=Channel.PRIVATE)
    client.force_login(portal_user(world))
    html = client.get(reverse("portal:request", args=[asked.pk])).content.decode()
    assert "什么时候解封" in html and "预计周五解封" in html and "私信" in html and "已答复" in html


def test_a_notice_page_shows_the_whole_text_escaped(client, world):
    notice = notice_create(
        actor=manager(world), compound=world.compound_a, title="清扫通知", body="周六上午\n<i>清扫楼道</i>"
    )
    client.force_login(portal_user(world))
    html = client.get(reverse("portal:notice", args=[notice.pk])).content.decode()
    assert "清扫通知" in html and "周六上午<br>&lt;i&gt;清扫楼道&lt;/i&gt;" in html


# -- the team's page of a household's link -----------------------------------------------------------


def test_the_team_shows_a_households_link_as_a_qr_code_audited(client, world):
    issue_pass(world, world.elder)
    client.force_login(manager(world))
    response = client.get(reverse("portal:household_link", args=[world.home_a1.pk]))
    html = response.content.decode()
    assert response.status_code == 200 and "no-cache" in response["Cache-Control"]
    assert html.count("<svg") == 1 and "30天内有效" in html and "voice/portal.js" in html
    assert_csp_clean(html)
    log = AuditLog.objects.get(action="reveal", fields="portal_link")
    assert (log.actor_id, log.object_id, log.ip) == (manager(world).pk, str(world.home_a1.pk), "127.0.0.1")


def test_the_households_link_page_is_scoped(client, world):
    issue_pass(world, world.elder)
    url = reverse("portal:household_link", args=[world.home_a1.pk])
    assert client.get(url)["Location"].startswith(reverse("accounts:login"))
    client.force_login(manager(world))
    assert client.get(reverse("portal:household_link", args=[world.home_b.pk])).status_code == 404
    empty = household_ensure(unit=world.a1u1, room="102")
    response = client.get(reverse("portal:household_link", args=[empty.pk]))
    assert response.status_code == 400 and "该户没有有效的出入证，请先办理出入证" in response.content.decode()
    client.force_login(world.users[Role.VOLUNTEER])
    assert client.get(url).status_code == 403
    client.force_login(world.users[Role.RESIDENT])
    assert client.get(url).status_code == 404
    client.force_login(world.users[Role.GRID_WORKER])
    assert client.get(url).status_code == 200
    assert client.get(reverse("portal:household_link", args=[world.home_a2.pk])).status_code == 404
    assert AuditLog.objects.filter(action="reveal", fields="portal_link").count() == 1


def test_the_registrys_household_page_links_the_team_to_the_households_link(client, world):
    link = reverse("portal:household_link", args=[world.home_a1.pk])
    client.force_login(manager(world))
    assert link in client.get(reverse("registry:household", args=[world.home_a1.pk])).content.decode()
    client.force_login(world.users[Role.VOLUNTEER])
    assert link not in client.get(reverse("registry:household", args=[world.home_a1.pk])).content.decode()


def test_the_staff_login_page_points_residents_to_the_portal_login(client, world):
    html = client.get(reverse("accounts:login")).content.decode()
    assert f'<a href="{reverse("portal:login")}">用手机号和验证码登录</a>' in html


def test_the_resident_opens_a_notices_image_and_attachment_and_his_requests_files(client, world):
    notice = notice_create(
        actor=manager(world),
        compound=world.compound_a,
        title="核酸安排",
        body="见附件",
        image=SimpleUploadedFile("p.jpg", JPEG, content_type="image/jpeg"),
        attachment=SimpleUploadedFile("a.pdf", PDF, content_type="application/pdf"),
    )
    client.force_login(portal_user(world))
    client.post(
        reverse("portal:ask"),
        {
            "resident": world.elder.pk,
            "text": "看我拍的照片",
            "attachments": [SimpleUploadedFile("mine.jpg", JPEG, content_type="image/jpeg")],
        },
    )
    asked = Request.objects.get()
    html = client.get(reverse("portal:notice", args=[notice.pk])).content.decode()
    image_url = reverse("voice:notice_image", args=[notice.pk])
    attachment_url = reverse("voice:notice_attachment", args=[notice.pk])
    assert f'src="{image_url}"' in html and f'href="{attachment_url}"' in html
    assert client.get(image_url)["Content-Type"] == "image/jpeg"
    assert client.get(attachment_url)["Content-Type"] == "application/pdf"
    file = asked.attachments.get()
    file_url = reverse("voice:request_attachment", args=[asked.pk, file.pk])
    assert f'href="{file_url}"' in client.get(reverse("portal:request", args=[asked.pk])).content.decode()
    served = client.get(file_url)
    assert served.status_code == 200 and b"".join(served.streaming_content) == JPEG
