"""The notice pages: the list with each notice's deliveries, a new notice (template, audience,
channels, now or later, image and attachment), a notice's page with its delivery log and "send
now" (against the local robot), the A4 poster with the portal's QR, the notice's files served only
to whom it concerns; roles, scope and query counts."""

import datetime
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from tongxin.accounts.models import Role
from tongxin.core.models import AuditLog
from tongxin.voice.actions.notices import notice_create
from tongxin.voice.models import Delivery, Notice
from tongxin.voice.tests.notice_helpers import manager, robot_endpoint
from tongxin.voice.tests.request_helpers import STAFF

pytestmark = pytest.mark.django_db
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
PDF = b"%PDF-1.4\n" + b"0" * 64
GIF = b"GIF89a" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def a(name: str, world, *args, **params) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"compound": world.compound_a.pk, **params}.items())
    return f"{reverse(name, args=args)}?{query}"


def make_notice(world, compound=None, actor=None, **fields):
    args = {"title": "核酸检测通知", "body": "今天8点下楼核酸<b>请带证</b>", **fields}
    return notice_create(actor=actor or manager(world), compound=compound or world.compound_a, **args)


def upload(data: bytes, name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


def no_inline_code(html: str) -> None:
    """The Content Security Policy refuses inline styles and scripts: the pages carry none."""
    assert " style=" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)


# -- who sees the pages -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", STAFF)
def test_staff_see_the_list_and_a_notice(as_role, world, role):
    notice = make_notice(world)
    client = as_role(role)
    listing = client.get(a("voice:notices", world))
    assert listing.status_code == 200
    assert "no-cache" in listing["Cache-Control"] or "max-age=0" in listing["Cache-Control"]
    assert "核酸检测通知" in listing.content.decode()
    page = client.get(a("voice:notice", world, notice.pk))
    assert page.status_code == 200
    assert "max-age=0" in page["Cache-Control"]


@pytest.mark.parametrize("name", ["voice:notices", "voice:notice_new"])
def test_residents_refused_and_other_compound_not_found(as_role, world, name):
    assert as_role(Role.RESIDENT).get(a(name, world)).status_code == 403
    client = as_role(Role.COMPOUND_MANAGER)
    assert client.get(f"{reverse(name)}?compound={world.compound_b.pk}").status_code == 404
    assert client.get(f"{reverse(name)}?compound=abc").status_code == 404


def test_a_notice_of_another_compound_is_not_found(as_role, world):
    other = make_notice(world, compound=world.compound_b, actor=world.users[Role.PLATFORM_ADMIN])
    client = as_role(Role.COMPOUND_MANAGER)
    for name in ("voice:notice", "voice:notice_poster", "voice:notice_image"):
        assert client.get(reverse(name, args=[other.pk])).status_code == 404
    assert client.post(reverse("voice:notice_send", args=[other.pk])).status_code == 404
    resident = as_role(Role.RESIDENT)
    assert resident.get(reverse("voice:notice", args=[other.pk])).status_code == 403
    assert resident.get(reverse("voice:notice_poster", args=[other.pk])).status_code == 403


def test_anonymous_sent_to_login(client, world):
    notice = make_notice(world)
    for url in (a("voice:notices", world), reverse("voice:notice", args=[notice.pk])):
        response = client.get(url)
        assert response.status_code == 302 and "login" in response["Location"]


def test_admin_without_a_compound_chooses_one(as_role, world):
    response = as_role(Role.PLATFORM_ADMIN).get(reverse("voice:notices"))
    assert response.status_code == 200
    assert "请选择小区" in response.content.decode()


def test_volunteer_reads_but_may_not_write(as_role, world):
    notice = make_notice(world)
    client = as_role(Role.VOLUNTEER)
    listing = client.get(a("voice:notices", world)).content.decode()
    assert reverse("voice:notice_new") not in listing
    assert client.get(a("voice:notice_new", world)).status_code == 403
    assert client.post(a("voice:notice_new", world), {"title": "x", "body": "y"}).status_code == 403
    assert client.post(reverse("voice:notice_send", args=[notice.pk])).status_code == 403
    assert "立即发送" not in client.get(a("voice:notice", world, notice.pk)).content.decode()


# -- the list ---------------------------------------------------------------------------------------


def test_list_shows_each_notice_with_its_delivery_summary(as_role, world, robot):
    robot_endpoint(world, robot, "wecom", "一号楼群")
    make_notice(world, title="第一条", channels=("portal", "wecom"))
    later = timezone.now() + datetime.timedelta(hours=3)
    make_notice(world, title="第二条", scheduled_at=later)
    html = as_role(Role.COMPOUND_MANAGER).get(a("voice:notices", world)).content.decode()
    assert html.index("第二条") < html.index("第一条")  # newest first
    assert "共2条通知" in html
    assert "待发布" in html
    assert "企业微信·一号楼群 待发送" in html
    assert "居民端 已发送" in html
    assert "已发送 1 · 待发送 1 · 失败 0" in html
    assert "已发送 0 · 待发送 1 · 失败 0" in html
    no_inline_code(html)


def test_list_queries_do_not_grow_with_the_notices(as_role, world, robot, django_assert_max_num_queries):
    robot_endpoint(world, robot, "wecom", "一号楼群")
    client = as_role(Role.COMPOUND_MANAGER)
    for i in range(3):
        make_notice(world, title=f"通知{i}", channels=("portal", "wecom", "sms"))
    with django_assert_max_num_queries(12) as few:
        assert client.get(a("voice:notices", world)).status_code == 200
    for i in range(12):
        make_notice(world, title=f"更多{i}", channels=("portal", "wecom", "sms"))
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(a("voice:notices", world)).status_code == 200


# -- a new notice -----------------------------------------------------------------------------------


def test_template_picked_then_filled(as_role, world):
    client = as_role(Role.COMPOUND_MANAGER)
    picked = client.get(a("voice:notice_new", world, template="testing_unit")).content.decode()
    assert 'name="building"' in picked and 'name="end"' in picked
    filled = client.get(
        a(
            "voice:notice_new",
            world,
            template="testing_unit",
            fill=1,
            building=3,
            unit=2,
            start="08:00",
            end="09:30",
        )
    ).content.decode()
    assert 'value="3号楼2单元核酸检测通知"' in filled
    assert "3号楼2单元 08:00-09:30 下楼核酸" in filled
    assert 'name="template" value="testing_unit"' in filled
    assert re.search(r'name="audience" value="units"[^>]*checked', filled) is None  # no unit 3-2 in A
    unit = client.get(
        a(
            "voice:notice_new",
            world,
            template="testing_unit",
            fill=1,
            building=2,
            unit=1,
            start="8:00",
            end="9:00",
        )
    ).content.decode()
    assert re.search(r'name="audience" value="units"[^>]*checked', unit)
    assert re.search(rf'name="units" value="{world.a2u1.pk}"[^>]*checked', unit)
    assert not re.search(rf'name="units" value="{world.a1u1.pk}"[^>]*checked', unit)
    no_inline_code(filled)


def test_template_missing_value_named(as_role, world):
    html = (
        as_role(Role.COMPOUND_MANAGER)
        .get(a("voice:notice_new", world, template="cleanup", fill=1, date="5月3日"))
        .content.decode()
    )
    assert "模板缺少以下内容：start" in html


def test_create_now_with_image_and_attachment(as_role, world):
    client = as_role(Role.COMPOUND_MANAGER)
    response = client.post(
        a("voice:notice_new", world),
        {
            "title": " 停水通知 ",
            "body": "明天9点到12点停水",
            "audience": "compound",
            "channels": ["portal", "sms"],
            "template": "",
            "image": upload(JPEG, "图.jpg"),
            "attachment": upload(PDF, "安排.pdf"),
        },
    )
    notice = Notice.objects.get()
    assert response.status_code == 302
    assert response["Location"] == a("voice:notice", world, notice.pk)
    assert notice.title == "停水通知"
    assert notice.published_at is not None
    assert notice.image.name.endswith(".jpg") and notice.attachment.name.endswith(".pdf")
    assert "图" not in notice.image.name  # stored under a random name
    assert sorted(Delivery.objects.filter(notice=notice).values_list("channel", "status")) == [
        ("portal", "sent"),
        ("sms", "pending"),
    ]
    page = client.get(response["Location"]).content.decode()
    assert "通知已发布：停水通知" in page
    assert reverse("voice:notice_image", args=[notice.pk]) in page
    assert reverse("voice:notice_attachment", args=[notice.pk]) in page


def test_create_scheduled_later(as_role, world):
    at = timezone.localtime() + datetime.timedelta(days=1)
    response = as_role(Role.GRID_WORKER).post(
        a("voice:notice_new", world),
        {
            "title": "明日核酸",
            "body": "明天下楼核酸",
            "audience": "compound",
            "channels": ["portal"],
            "scheduled_at": at.strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert response.status_code == 302
    notice = Notice.objects.get()
    assert notice.published_at is None
    assert notice.scheduled_at == at.replace(second=0, microsecond=0)
    assert Delivery.objects.get(notice=notice).status == "pending"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"title": "  ", "body": "正文"}, "请填写通知标题"),
        ({"title": "标题", "body": ""}, "请填写通知正文"),
        ({"title": "标题", "body": "正文", "audience": "units"}, "请选择通知对象"),
        ({"title": "标题", "body": "正文", "channels": []}, "请至少选择一个发送渠道"),
        ({"title": "标题", "body": "正文", "scheduled_at": "2020-01-01T08:00"}, "计划发布时间已过"),
        ({"title": "标题", "body": "正文", "scheduled_at": "明天"}, "请填写正确的日期和时间"),
        (
            {"title": "标题", "body": "正文", "audience": "list", "rooms": "1-1-101\n9-9-909"},
            "本小区找不到这些房号：9-9-909",
        ),
        (
            {"title": "标题", "body": "正文", "image": upload(GIF, "a.jpg")},
            "附件只能是JPEG、PNG、WebP图片或PDF文件",
        ),
        ({"title": "标题", "body": "正文", "image": upload(PDF, "a.pdf")}, "图片只能是JPEG、PNG或WebP格式"),
        ({"title": "标题", "body": "正文", "attachment": upload(b"", "a.pdf")}, "所提交的是空文件"),
    ],
)
def test_bad_input_refused_with_a_clear_message(as_role, world, fields, message):
    data = {"audience": "compound", "channels": ["portal"], **fields}
    response = as_role(Role.COMPOUND_MANAGER).post(a("voice:notice_new", world), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Notice.objects.exists()


def test_robot_channel_offered_only_with_an_active_robot(as_role, world, robot):
    client = as_role(Role.COMPOUND_MANAGER)
    html = client.get(a("voice:notice_new", world)).content.decode()
    assert 'value="wecom"' not in html and "本小区还没有启用的群机器人" in html
    response = client.post(
        a("voice:notice_new", world),
        {"title": "t", "body": "b", "audience": "compound", "channels": ["wecom"]},
    )
    assert response.status_code == 400
    robot_endpoint(world, robot, "wecom", "一号楼群")
    assert 'value="wecom"' in client.get(a("voice:notice_new", world)).content.decode()


@pytest.mark.parametrize(
    ("audience", "pick", "expected"),
    [
        ("buildings", lambda w: {"buildings": [w.a2.pk]}, lambda w: [w.a2.pk]),
        ("units", lambda w: {"units": [w.a1u1.pk, w.a2u1.pk]}, lambda w: sorted([w.a1u1.pk, w.a2u1.pk])),
        (
            "list",
            lambda w: {"rooms": "2-1-201， 1号楼1单元101室"},
            lambda w: sorted([w.home_a1.pk, w.home_a2.pk]),
        ),
        ("sealed", lambda w: {}, lambda w: []),
    ],
)
def test_audience_parts(as_role, world, audience, pick, expected):
    data = {"title": "t", "body": "b", "audience": audience, "channels": ["portal"], **pick(world)}
    response = as_role(Role.COMPOUND_MANAGER).post(a("voice:notice_new", world), data)
    assert response.status_code == 302
    notice = Notice.objects.get()
    assert notice.audience == audience
    assert notice.audience_ids == expected(world)


def test_another_compounds_building_refused(as_role, world):
    data = {
        "title": "t",
        "body": "b",
        "audience": "buildings",
        "channels": ["portal"],
        "buildings": [world.b1.pk],
    }
    response = as_role(Role.COMPOUND_MANAGER).post(a("voice:notice_new", world), data)
    assert response.status_code == 400
    assert not Notice.objects.exists()


# -- a notice and its delivery log --------------------------------------------------------------------


def test_notice_page_shows_text_audience_and_deliveries(as_role, world, robot):
    robot_endpoint(world, robot, "wecom", "一号楼群")
    notice = make_notice(world, audience="units", audience_ids=[world.a2u1.pk], channels=("portal", "wecom"))
    html = as_role(Role.COMPOUND_MANAGER).get(a("voice:notice", world, notice.pk)).content.decode()
    assert "今天8点下楼核酸&lt;b&gt;请带证&lt;/b&gt;" in html  # escaped
    assert "指定单元" in html and "2号楼1单元" in html
    assert '<span class="audience-size">1户</span>' in html
    assert "一号楼群" in html
    assert "立即发送到期的记录" in html
    assert reverse("voice:notice_poster", args=[notice.pk]) in html
    no_inline_code(html)


def test_send_now_through_the_robot_and_a_failure_logged(as_role, world, robot):
    robot_endpoint(world, robot, "wecom", "一号楼群")
    notice = make_notice(world, channels=("portal", "wecom"))
    client = as_role(Role.COMPOUND_MANAGER)
    robot.status = 500
    response = client.post(reverse("voice:notice_send", args=[notice.pk]))
    assert response.status_code == 302
    wecom = Delivery.objects.get(notice=notice, channel="wecom")
    assert (wecom.status, wecom.attempts, wecom.last_error) == ("failed", 1, "HTTP 500")
    html = client.get(response["Location"]).content.decode()
    assert "已发送0条，失败1条（稍后自动重试），放弃0条" in html
    assert "HTTP 500" in html and "下次尝试" in html
    # Not due yet (retried after a minute): nothing sent again.
    client.post(reverse("voice:notice_send", args=[notice.pk]))
    assert len(robot.received) == 1
    Delivery.objects.filter(pk=wecom.pk).update(
        next_attempt_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    robot.status = 200
    client.post(reverse("voice:notice_send", args=[notice.pk]))
    wecom.refresh_from_db()
    assert (wecom.status, wecom.attempts, wecom.last_error, wecom.recipients) == ("sent", 2, "", 1)
    assert robot.received[-1]["json"]["markdown"]["content"].startswith("### 核酸检测通知")
    assert (
        AuditLog.objects.filter(
            object_type="voice.notice", object_id=str(notice.pk), fields="deliveries"
        ).count()
        == 3
    )


def test_send_now_on_a_scheduled_notice_refused(as_role, world):
    notice = make_notice(world, scheduled_at=timezone.now() + datetime.timedelta(hours=1))
    client = as_role(Role.COMPOUND_MANAGER)
    assert "立即发送" not in client.get(a("voice:notice", world, notice.pk)).content.decode()
    response = client.post(reverse("voice:notice_send", args=[notice.pk]), follow=True)
    assert "通知尚未发布，到计划时间后才会发送" in response.content.decode()


def test_send_is_post_only(as_role, world):
    notice = make_notice(world)
    assert (
        as_role(Role.COMPOUND_MANAGER).get(reverse("voice:notice_send", args=[notice.pk])).status_code == 405
    )


# -- the poster -----------------------------------------------------------------------------------


def test_poster_is_a_printable_page_with_the_portal_qr(as_role, world):
    notice = make_notice(world, image=upload(JPEG, "a.jpg"))
    response = as_role(Role.VOLUNTEER).get(reverse("voice:notice_poster", args=[notice.pk]))
    assert response.status_code == 200
    assert "max-age=0" in response["Cache-Control"]
    html = response.content.decode()
    assert "<svg viewBox=" in html and 'class="qr"' in html
    assert "http://testserver/portal/" in html
    assert "voice/poster.css" in html
    assert '<h1 class="poster-title">核酸检测通知</h1>' in html
    assert "&lt;b&gt;请带证" in html
    assert reverse("voice:notice_image", args=[notice.pk]) in html
    no_inline_code(html)


# -- the files ------------------------------------------------------------------------------------


def test_files_served_to_the_team_and_the_households_reached(client, as_role, world):
    to_a2 = make_notice(
        world,
        audience="units",
        audience_ids=[world.a2u1.pk],
        image=upload(JPEG, "a.jpg"),
        attachment=upload(PDF, "b.pdf"),
    )
    to_all = make_notice(world, image=upload(JPEG, "a.jpg"))
    image, attachment = (
        reverse(n, args=[to_a2.pk]) for n in ("voice:notice_image", "voice:notice_attachment")
    )
    staff = as_role(Role.VOLUNTEER)
    served = staff.get(image)
    assert served.status_code == 200
    assert served["Content-Type"] == "image/jpeg"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert "max-age=0" in served["Cache-Control"]
    assert b"".join(served.streaming_content) == JPEG
    pdf = staff.get(attachment)
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"] == f'inline; filename="notice-{to_a2.pk}-attachment.pdf"'
    # The resident of 1-1-101: the notice to unit 2-1 is not theirs; the one to everyone is.
    resident = as_role(Role.RESIDENT)
    assert resident.get(image).status_code == 404
    assert resident.get(attachment).status_code == 404
    assert resident.get(reverse("voice:notice_image", args=[to_all.pk])).status_code == 200
    assert resident.get(reverse("voice:notice_attachment", args=[to_all.pk])).status_code == 404  # none


def test_files_of_a_scheduled_notice_not_served_to_residents(as_role, world):
    later = make_notice(
        world, image=upload(JPEG, "a.jpg"), scheduled_at=timezone.now() + datetime.timedelta(hours=1)
    )
    url = reverse("voice:notice_image", args=[later.pk])
    assert as_role(Role.RESIDENT).get(url).status_code == 404
    assert as_role(Role.COMPOUND_MANAGER).get(url).status_code == 200


def test_files_of_another_compound_not_served(as_role, world):
    other = make_notice(
        world, compound=world.compound_b, actor=world.users[Role.PLATFORM_ADMIN], image=upload(JPEG, "a.jpg")
    )
    url = reverse("voice:notice_image", args=[other.pk])
    assert as_role(Role.COMPOUND_MANAGER).get(url).status_code == 404
    assert as_role(Role.RESIDENT).get(url).status_code == 404
    assert as_role(Role.PLATFORM_ADMIN).get(url).status_code == 200
