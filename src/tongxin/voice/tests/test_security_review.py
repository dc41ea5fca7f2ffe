"""The security review of the voice module: each finding fixed, pinned here.

- the household's portal link logged in on a plain GET (a chat app's link preview made a session):
  GET shows a confirm page, the POST (with CSRF) logs in;
- a group robot's webhook could point at this machine or the private network (SSRF), and its
  redirects were followed;
and what was checked and found right, pinned so it stays right: the session key cycled on login,
no staff account through the portal.
"""

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from tongxin.accounts.models import Role
from tongxin.core.models import AuditLog
from tongxin.registry.tests.factories import make_user
from tongxin.voice import senders
from tongxin.voice.actions.endpoints import endpoint_add
from tongxin.voice.actions.portal import portal_code_send, portal_link_token, portal_login_user
from tongxin.voice.models import Endpoint
from tongxin.voice.tests.portal_helpers import issue_pass, manager, recording_sms, sent_code
from tongxin.voice.tests.robot_server import RobotServer

ELDER_PHONE = "13812345678"
NOTICE = type("Notice", (), {"title": "通知", "body": "内容"})()


@pytest.fixture
def sms(settings):
    return recording_sms(settings)


# -- the household's link: GET shows, POST logs in -----------------------------------------------------


def test_a_link_preview_creates_no_session_and_no_login(client, world):
    issue_pass(world, world.elder)
    url = reverse("portal:link", args=[portal_link_token(world.home_a1)])
    response = client.get(url)
    assert response.status_code == 200
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert "no-cache" in response["Cache-Control"]
    body = response.content.decode()
    assert '<form method="post"' in body and "进入我的家" in body
    assert "_auth_user_id" not in client.session
    assert not AuditLog.objects.filter(action="portal_login").exists()
    # the same GET twice (a preview bot, then the resident) still logs nobody in
    client.get(url)
    assert "_auth_user_id" not in client.session


def test_the_link_logs_in_only_by_a_post_with_its_csrf_token(world):
    issue_pass(world, world.elder)
    url = reverse("portal:link", args=[portal_link_token(world.home_a1)])
    browser = Client(enforce_csrf_checks=True)
    shown = browser.get(url)
    assert browser.post(url).status_code == 403  # no token: a cross-site form cannot log anyone in
    assert "_auth_user_id" not in browser.session
    token = shown.context["csrf_token"]
    response = browser.post(url, {"csrfmiddlewaretoken": str(token)})
    assert response.status_code == 302 and response["Location"] == reverse("portal:home")
    user = browser.get(reverse("portal:home")).wsgi_request.user
    assert user.username == f"portal-h{world.home_a1.pk}" and user.role == Role.RESIDENT
    assert AuditLog.objects.filter(action="portal_login").count() == 1


def test_a_bad_link_is_refused_on_the_get_already(client, world):
    response = client.get(reverse("portal:link", args=["forged:token"]))
    assert response.status_code == 400
    assert "登录链接无效或已过期，请联系社区重新获取" in response.content.decode()
    assert client.post(reverse("portal:link", args=["forged:token"])).status_code == 400
    assert "_auth_user_id" not in client.session
    assert AuditLog.objects.filter(action="login_failed").count() == 2


def test_the_link_answers_no_other_method(client, world):
    issue_pass(world, world.elder)
    url = reverse("portal:link", args=[portal_link_token(world.home_a1)])
    assert client.put(url).status_code == 405
    assert "_auth_user_id" not in client.session


# -- session fixation: the key changes at login -------------------------------------------------------


def test_code_login_cycles_the_session_key(client, world, sms):
    client.get(reverse("portal:login"))
    client.post(reverse("portal:login"), {"phone": ELDER_PHONE})
    before = client.session.session_key
    assert before
    client.post(reverse("portal:verify"), {"code": sent_code(sms, ELDER_PHONE)})
    after = client.session.session_key
    assert after != before
    assert not SessionStore().exists(before)
    assert client.session["_auth_user_id"]


def test_link_login_cycles_the_session_key(client, world):
    issue_pass(world, world.elder)
    url = reverse("portal:link", args=[portal_link_token(world.home_a1)])
    client.get(reverse("portal:login"))
    session = client.session
    session["planted"] = "x"
    session.save()
    before = session.session_key
    client.post(url)
    assert client.session.session_key != before


def test_a_staff_session_is_replaced_not_reused_by_a_portal_login(client, world):
    issue_pass(world, world.elder)
    client.force_login(manager(world))
    before = client.session.session_key
    client.post(reverse("portal:link", args=[portal_link_token(world.home_a1)]))
    user = client.get(reverse("portal:home")).wsgi_request.user
    assert user.role == Role.RESIDENT and user.username == f"portal-h{world.home_a1.pk}"
    assert client.session.session_key != before


# -- robots' webhooks: no SSRF ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/x",
        "https://localhost/x",
        "https://robot.localhost/x",
        "https://10.1.2.3/cgi-bin/webhook/send?key=x",
        "https://172.16.0.1/x",
        "https://192.168.1.1/x",
        "https://169.254.169.254/latest/meta-data/",
        "https://100.64.0.1/x",
        "https://0.0.0.0/x",
        "https://[::1]/x",
        "https://[fd00::1]/x",
        "https://[::ffff:10.0.0.1]/x",
        "https://intranet/x",
        "https://printer.local/x",
    ],
)
def test_a_robot_may_not_point_at_this_machine_or_the_private_network(url, settings):
    settings.DEBUG = True  # DEBUG alone does not open it
    settings.TONGXIN_WEBHOOK_ALLOW_LOCAL = False
    with pytest.raises(ValidationError) as exc:
        senders.check_webhook_url(url)
    assert exc.value.messages == ["机器人地址不能指向本机或内网"]


def test_a_robot_with_credentials_in_its_url_is_refused(settings):
    settings.TONGXIN_WEBHOOK_ALLOW_LOCAL = False
    with pytest.raises(ValidationError) as exc:
        senders.check_webhook_url("https://user:pw@qyapi.weixin.qq.com/x")
    assert exc.value.messages == ["机器人地址不能包含用户名或密码"]


def test_public_robots_still_pass(settings):
    settings.TONGXIN_WEBHOOK_ALLOW_LOCAL = False
    url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc"
    assert senders.check_webhook_url(url) == url
    assert senders.check_webhook_url("https://8.8.8.8/x") == "https://8.8.8.8/x"


def test_the_endpoint_page_refuses_a_private_robot_beside_its_field(client, world, settings):
    settings.TONGXIN_WEBHOOK_ALLOW_LOCAL = False
    client.force_login(manager(world))
    response = client.post(
        f"{reverse('voice:endpoints')}?compound={world.compound_a.pk}",
        {"kind": "wecom", "name": "内网", "url": "https://192.168.0.10/hook", "secret": ""},
    )
    assert response.status_code == 400
    assert response.context["form"].errors["url"] == ["机器人地址不能指向本机或内网"]
    assert not Endpoint.objects.exists()


def test_endpoint_add_refuses_the_metadata_address(world, settings):
    settings.TONGXIN_WEBHOOK_ALLOW_LOCAL = False
    with pytest.raises(ValidationError) as exc:
        endpoint_add(
            actor=manager(world),
            compound=world.compound_a,
            kind="dingtalk",
            name="元数据",
            url="https://169.254.169.254/latest",
        )
    assert exc.value.code == "webhook_local"


def test_a_public_name_resolving_to_a_private_address_is_not_connected(settings, monkeypatch):
    """DNS rebinding: the name passes the check, the address it resolves to when sending does not."""
    settings.TONGXIN_WEBHOOK_ALLOW_LOCAL = False
    settings.TONGXIN_WEBHOOK_TIMEOUT_SECONDS = 1
    asked = []

    def resolve(host, port, *args, **kwargs):
        asked.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    def no_connect(*args, **kwargs):  # pragma: no cover - must not be reached
        raise AssertionError("connected")

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    monkeypatch.setattr(socket.socket, "connect", no_connect)
    result = senders.send_wecom("https://robot.example.com/cgi-bin/webhook/send?key=x", NOTICE)
    assert asked == ["robot.example.com"]
    assert result == senders.SendResult(False, error="机器人地址不能指向本机或内网")


class _Redirecting:
    """A robot answering 302 to another address (the robot server's)."""

    def __init__(self, target: str):
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self.send_response(302)
                self.send_header("Location", target)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_a_robots_redirect_is_not_followed(settings):
    settings.TONGXIN_WEBHOOK_ALLOW_LOCAL = True  # both servers are local; the redirect still is not
    settings.TONGXIN_WEBHOOK_TIMEOUT_SECONDS = 2
    with RobotServer() as robot, _Redirecting(robot.url()) as hook:
        result = senders.send_wecom(hook, NOTICE)
        assert result == senders.SendResult(False, error="HTTP 302")
        assert robot.received == []


def test_env_proxies_are_not_used_for_robots(settings, monkeypatch):
    settings.TONGXIN_WEBHOOK_ALLOW_LOCAL = True
    settings.TONGXIN_WEBHOOK_TIMEOUT_SECONDS = 2
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    with RobotServer() as robot:
        assert senders.send_wecom(robot.url(), NOTICE) == senders.SendResult(True, recipients=1)
        assert len(robot.received) == 1


# -- the code's SMS: no timing difference between a known and an unknown phone -----------------------


class SlowSms:
    """A gateway taking its time (a real one's round trip)."""

    sent: list = []
    done = threading.Event()

    def send(self, phones, text):
        time.sleep(0.6)
        SlowSms.sent.append((list(phones), text))
        SlowSms.done.set()
        return senders.SendResult(True, recipients=len(phones))


def test_the_code_sms_goes_out_in_the_background_so_timing_tells_nothing(world, settings):
    settings.TONGXIN_SMS_PROVIDER = "tongxin.voice.tests.test_security_review.SlowSms"
    settings.TONGXIN_PORTAL_SMS_BACKGROUND = True
    SlowSms.sent, SlowSms.done = [], threading.Event()
    started = time.monotonic()
    known = portal_code_send(phone=ELDER_PHONE, address="203.0.113.1")
    known_took = time.monotonic() - started
    started = time.monotonic()
    unknown = portal_code_send(phone="13011112222", address="203.0.113.1")
    unknown_took = time.monotonic() - started
    assert known == unknown.__class__(phone_masked="138****5678", minutes=5)
    assert unknown.phone_masked == "130****2222"
    assert known_took < 0.4 and unknown_took < 0.4  # the gateway's 0.6 s is not waited for
    assert SlowSms.done.wait(5)
    assert SlowSms.sent == [([ELDER_PHONE], SlowSms.sent[0][1])]
    assert "验证码" in SlowSms.sent[0][1]


def test_the_background_is_the_default(settings):
    assert getattr(settings, "TONGXIN_PORTAL_SMS_BACKGROUND", True) is True


# -- no staff account through the portal ---------------------------------------------------------------


@pytest.mark.parametrize("flag", ["is_staff", "is_superuser"])
def test_a_portal_named_account_with_staff_rights_is_refused(world, flag):
    username = f"portal-r{world.elder.pk}"
    make_user(Role.RESIDENT, username=username, household=world.home_a1, **{flag: True})
    with pytest.raises(PermissionDenied):
        portal_login_user(household=world.home_a1, resident=world.elder)
    assert not AuditLog.objects.filter(action="portal_login").exists()


def test_a_portal_named_staff_role_is_refused(world):
    make_user(Role.COMPOUND_MANAGER, username=f"portal-h{world.home_a1.pk}", compound=world.compound_a)
    with pytest.raises(PermissionDenied):
        portal_login_user(household=world.home_a1, via="link")


def test_a_code_login_never_yields_the_staff_account_of_the_same_phone(client, world, sms):
    """A manager who is also a resident (his phone registered in a household) gets the resident
    account, never his staff one."""
    staff = manager(world)
    client.post(reverse("portal:login"), {"phone": ELDER_PHONE})
    client.post(reverse("portal:verify"), {"code": sent_code(sms, ELDER_PHONE)})
    user = client.get(reverse("portal:home")).wsgi_request.user
    assert user.pk != staff.pk and user.role == Role.RESIDENT and not user.is_staff
    assert not user.has_usable_password()


# -- the API is never cached ---------------------------------------------------------------------------


def test_the_voice_api_answers_are_never_cached(client, world):
    issue_pass(world, world.elder)
    client.force_login(portal_login_user(household=world.home_a1, resident=world.elder))
    response = client.get("/api/v1/voice/portal/")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    client.force_login(manager(world))
    response = client.get(f"/api/v1/voice/requests?compound={world.compound_a.pk}")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


# -- checked and found right: scope, IDOR, methods, files, redirects, CSRF, escaping -------------------

EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def records(world):
    """A request of 1-1-101 (building 1) with a photo, one of 2-1-201 (building 2), a notice of
    compound A for unit 1-1 only with an image and a PDF."""
    from tongxin.voice.actions.notices import notice_create
    from tongxin.voice.models import Audience
    from tongxin.voice.tests.request_helpers import JPEG, PDF, make_request

    mine = make_request(world, household=world.home_a1, text=EVIL, attachments=[JPEG])
    theirs = make_request(world, household=world.home_a2, text="二号楼的事", attachments=[PDF])
    notice = notice_create(
        actor=manager(world),
        compound=world.compound_a,
        title=EVIL,
        body=EVIL,
        audience=Audience.UNITS,
        audience_ids=[world.a1u1.pk],
        image=JPEG,
        attachment=PDF,
    )
    return type(
        "Records",
        (),
        {
            "mine": mine,
            "theirs": theirs,
            "notice": notice,
            "photo": mine.attachments.get(),
            "pdf": theirs.attachments.get(),
        },
    )


def _record_urls(records, world):
    return [
        reverse("voice:request", kwargs={"pk": records.mine.pk}),
        reverse(
            "voice:request_attachment", kwargs={"pk": records.mine.pk, "attachment_id": records.photo.pk}
        ),
        reverse("voice:notice", args=[records.notice.pk]),
        reverse("voice:notice_poster", args=[records.notice.pk]),
        reverse("voice:notice_image", args=[records.notice.pk]),
        reverse("voice:notice_attachment", args=[records.notice.pk]),
        reverse("portal:household_link", args=[world.home_a1.pk]),
    ]


def test_another_compounds_manager_finds_none_of_its_records(client, world, records):
    issue_pass(world, world.elder)
    client.force_login(make_user(Role.COMPOUND_MANAGER, username="manager-b", compound=world.compound_b))
    for url in _record_urls(records, world):
        assert client.get(url).status_code == 404, url
    for name in ("voice:requests", "voice:notices", "voice:hotline", "voice:groups", "voice:endpoints"):
        assert client.get(f"{reverse(name)}?compound={world.compound_a.pk}").status_code == 404, name
    url = f"/api/v1/voice/requests/{records.mine.pk}"
    assert client.get(url).status_code == 404


def test_a_grid_worker_finds_only_his_buildings_requests_and_files(client, world, records):
    client.force_login(world.users[Role.GRID_WORKER])  # building 1 only
    assert client.get(reverse("voice:request", kwargs={"pk": records.mine.pk})).status_code == 200
    other = reverse(
        "voice:request_attachment", kwargs={"pk": records.theirs.pk, "attachment_id": records.pdf.pk}
    )
    assert client.get(other).status_code == 404
    # another request's file id under his own request's path: not found either
    mixed = reverse(
        "voice:request_attachment", kwargs={"pk": records.mine.pk, "attachment_id": records.pdf.pk}
    )
    assert client.get(mixed).status_code == 404


def test_a_resident_opens_only_his_households_files(client, world, records):
    client.force_login(portal_login_user(household=world.home_a2, resident=world.neighbour))
    photo = reverse(
        "voice:request_attachment", kwargs={"pk": records.mine.pk, "attachment_id": records.photo.pk}
    )
    assert client.get(photo).status_code == 404
    assert (
        client.get(reverse("voice:notice_image", args=[records.notice.pk])).status_code == 404
    )  # unit 1-1 only
    assert client.get(reverse("voice:request", kwargs={"pk": records.mine.pk})).status_code == 403
    client.force_login(portal_login_user(household=world.home_a1, resident=world.elder))
    response = client.get(photo)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    response = client.get(reverse("voice:notice_attachment", args=[records.notice.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"


def test_files_are_served_typed_by_their_bytes_with_nosniff_and_a_disposition(client, world, records):
    client.force_login(manager(world))
    for url, kind in (
        (
            reverse(
                "voice:request_attachment", kwargs={"pk": records.mine.pk, "attachment_id": records.photo.pk}
            ),
            "image/jpeg",
        ),
        (reverse("voice:notice_image", args=[records.notice.pk]), "image/jpeg"),
        (reverse("voice:notice_attachment", args=[records.notice.pk]), "application/pdf"),
    ):
        response = client.get(url)
        assert response["Content-Type"] == kind
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Disposition"].startswith("inline; filename")
        assert "no-cache" in response["Cache-Control"]


@pytest.mark.parametrize(
    "data",
    [
        b"<html><script>alert(1)</script></html>",
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
        b"GIF89a<script>",
        b"<?xml version='1.0'?><svg/>",
    ],
)
def test_html_svg_and_others_are_refused_whatever_their_name(data):
    from tongxin.voice.attachments import checked_file

    upload = SimpleUploadedFile("photo.jpg", data, content_type="image/jpeg")
    with pytest.raises(ValidationError) as exc:
        checked_file(upload)
    assert exc.value.message_dict == {"attachments": ["附件只能是JPEG、PNG、WebP图片或PDF文件"]}


def test_a_file_over_the_limit_is_refused(settings):
    from tongxin.voice.attachments import checked_file

    settings.TONGXIN_VOICE_ATTACHMENT_MAX_BYTES = 100
    with pytest.raises(ValidationError) as exc:
        checked_file(b"\xff\xd8\xff" + b"0" * 200)
    assert exc.value.message_dict["attachments"][0].startswith("附件不能超过")


@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("voice:request_acknowledge", "request"),
        ("voice:request_start", "request"),
        ("voice:request_answer", "request"),
        ("voice:request_close", "request"),
        ("voice:request_reopen", "request"),
        ("voice:request_hand_over", "request"),
        ("voice:notice_send", "notice"),
        ("voice:groups_suggest", None),
        ("voice:groups_merge", None),
        ("voice:hotline_log", None),
    ],
)
def test_no_state_change_answers_a_get(client, world, records, name, kwargs):
    client.force_login(manager(world))
    args = {"request": {"pk": records.mine.pk}, "notice": {"notice_id": records.notice.pk}}.get(kwargs, {})
    assert client.get(reverse(name, kwargs=args)).status_code == 405


def test_state_changes_need_the_csrf_token(world, records, sms):
    browser = Client(enforce_csrf_checks=True)
    assert browser.post(reverse("portal:login"), {"phone": ELDER_PHONE}).status_code == 403
    assert sms == []
    browser.force_login(manager(world))
    url = reverse("voice:request_acknowledge", kwargs={"pk": records.mine.pk})
    assert browser.post(url).status_code == 403
    browser.force_login(portal_login_user(household=world.home_a1, resident=world.elder))
    response = browser.post(
        "/api/v1/voice/portal/requests", {"text": "水管坏了"}, content_type="application/json"
    )
    assert response.status_code == 403


def test_roles_that_may_not_act_are_refused(client, world, records):
    client.force_login(world.users[Role.VOLUNTEER])
    endpoints = f"{reverse('voice:endpoints')}?compound={world.compound_a.pk}"
    assert client.get(endpoints).status_code == 403
    assert client.post(reverse("voice:notice_send", args=[records.notice.pk])).status_code == 403
    assert client.get(reverse("portal:household_link", args=[world.home_a1.pk])).status_code == 403
    client.force_login(portal_login_user(household=world.home_a1, resident=world.elder))
    for name in ("voice:requests", "voice:notices", "voice:hotline", "voice:groups", "voice:endpoints"):
        assert client.get(f"{reverse(name)}?compound={world.compound_a.pk}").status_code == 403, name
    assert client.get(reverse("portal:household_link", args=[world.home_a1.pk])).status_code == 404


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/",
        "https://evil.example/portal/",
        "/\\evil.example",
        "/accounts/",
        "/portal/@evil.example",
    ],
)
def test_next_never_leaves_the_portal(client, world, sms, target):
    client.post(f"{reverse('portal:login')}?next={target}", {"phone": ELDER_PHONE, "next": target})
    response = client.post(
        f"{reverse('portal:verify')}?next={target}", {"code": sent_code(sms, ELDER_PHONE), "next": target}
    )
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith("/portal/") and "//" not in location
    assert location in (reverse("portal:home"), target)


def test_resident_text_is_escaped_in_pages_rows_portal_and_poster(client, world, records):
    client.force_login(manager(world))
    pages = [
        client.get(reverse("voice:request", kwargs={"pk": records.mine.pk})),
        client.get(f"{reverse('voice:requests')}?compound={world.compound_a.pk}"),
        client.post(
            reverse("voice:request_acknowledge", kwargs={"pk": records.mine.pk}), HTTP_HX_REQUEST="true"
        ),
        client.get(reverse("voice:notice_poster", args=[records.notice.pk])),
        client.get(reverse("voice:notice", args=[records.notice.pk])),
    ]
    client.force_login(portal_login_user(household=world.home_a1, resident=world.elder))
    pages += [
        client.get(reverse("portal:home")),
        client.get(reverse("portal:request", args=[records.mine.pk])),
        client.get(reverse("portal:notice", args=[records.notice.pk])),
    ]
    for page in pages:
        body = page.content.decode()
        assert page.status_code == 200, page.request["PATH_INFO"]
        assert "<script>alert" not in body and "<img src=x" not in body, page.request["PATH_INFO"]
        assert "&lt;script&gt;alert(" in body, page.request["PATH_INFO"]
        assert "style=" not in body.replace('rel="stylesheet"', ""), page.request["PATH_INFO"]


def test_the_json_api_keeps_resident_text_as_data(client, world, records):
    client.force_login(portal_login_user(household=world.home_a1, resident=world.elder))
    response = client.get(f"/api/v1/voice/portal/requests/{records.mine.pk}")
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response.json()["text"] == EVIL


# -- a resident's words in a robot's markdown or an SMS: plain text ------------------------------------

CRAFTED = '领补贴[点此](https://evil.example) <font color="warning">急</font>\n### 假通知 @all 】'


def _notice(title: str, body: str = "请大家按时下楼。"):
    return type("Notice", (), {"title": title, "body": body})()


def test_a_title_from_a_residents_text_is_no_link_heading_or_tag_in_a_robot_post():
    notice = _notice(CRAFTED)
    plain = (
        '领补贴［点此］（https://evil.example） ＜font color="warning"＞急＜/font＞ ＃＃＃ 假通知 ＠all ］'
    )
    assert senders.plain_title(CRAFTED) == plain
    assert senders.wecom_payload(notice)["markdown"]["content"] == f"### {plain}\n\n请大家按时下楼。"
    assert senders.wecom_payload(notice, msgtype="text")["text"]["content"] == f"{plain}\n请大家按时下楼。"
    ding = senders.dingtalk_payload(notice)["markdown"]
    assert ding["title"] == plain and ding["text"] == f"### {plain}\n\n请大家按时下楼。"
    assert senders.sms_text(notice) == f"【{plain}】请大家按时下楼。"


def test_a_common_questions_default_title_reaches_the_robot_as_plain_text(world, settings):
    """End to end: residents' requests grouped, answered by one notice with the default title (the
    group's label, from their own words), sent to a WeCom robot."""
    from tongxin.voice.actions.groups import group_answer_by_notice, groups_suggest
    from tongxin.voice.actions.notices import notice_send_due
    from tongxin.voice.tests.notice_helpers import robot_endpoint
    from tongxin.voice.tests.request_helpers import make_request

    settings.TONGXIN_WEBHOOK_ALLOW_LOCAL = True
    settings.TONGXIN_WEBHOOK_TIMEOUT_SECONDS = 2
    text = "[领补贴](https://evil.example)"
    for household in (world.home_a1, world.home_a2, world.home_a1):
        make_request(world, household=household, text=text)
    groups_suggest(actor=manager(world), compound=world.compound_a)
    from tongxin.voice.models import QuestionGroup

    group = QuestionGroup.objects.get()
    with RobotServer() as robot:
        robot_endpoint(world, robot)
        notice, _answers = group_answer_by_notice(
            actor=manager(world), group=group, text="补贴请以街道公告为准。", channels=("portal", "wecom")
        )
        assert notice.title == f"答复：{text}"  # kept as typed; only its robot and SMS form is plain
        notice_send_due(actor=manager(world), notice=notice)
        [got] = robot.received
    content = got["json"]["markdown"]["content"]
    assert content == "### 答复：［领补贴］（https://evil.example）\n\n补贴请以街道公告为准。"


# -- the per-address send limit: an IPv6 client counts by its /64 -------------------------------------


def test_an_ipv6_client_cannot_dodge_the_address_limit_by_changing_its_last_64_bits(world, sms):
    from tongxin.voice.actions.portal import SENDS_PER_ADDRESS_PER_HOUR, limit_address
    from tongxin.voice.models import PortalCode

    assert limit_address("2001:db8:1:2:aaaa:bbbb:cccc:dddd") == "2001:db8:1:2::"
    assert limit_address("::ffff:203.0.113.9") == "203.0.113.9"
    assert limit_address("203.0.113.9") == "203.0.113.9"
    assert limit_address(None) is None
    for n in range(SENDS_PER_ADDRESS_PER_HOUR):
        portal_code_send(phone=f"1301111{n:04d}", address=f"2001:db8:1:2::{n + 1:x}")
    with pytest.raises(ValidationError) as exc:
        portal_code_send(phone="13022223333", address="2001:db8:1:2:ffff::1")
    assert [e.code for e in exc.value.error_dict["__all__"]] == ["too_many_codes"]
    # another /64 is another subscriber
    portal_code_send(phone="13022223333", address="2001:db8:1:3::1")
    assert PortalCode.objects.filter(address="2001:db8:1:2::").count() == SENDS_PER_ADDRESS_PER_HOUR
    # the audit keeps the client's own address
    assert AuditLog.objects.filter(action="login_blocked", ip="2001:db8:1:2:ffff::1").exists()


# -- revoking the link's pass ends the sessions the link opened ----------------------------------------


def test_revoking_the_links_pass_ends_its_sessions_on_pages_and_api(client, world):
    from tongxin.access.actions.passes import pass_revoke
    from tongxin.access.models import Pass

    pass_ = issue_pass(world, world.elder)
    client.post(reverse("portal:link", args=[portal_link_token(world.home_a1)]))
    assert client.get(reverse("portal:home")).status_code == 200
    assert client.get("/api/v1/voice/portal/").status_code == 200
    pass_revoke(actor=manager(world), pass_=pass_, reason=Pass.Revoked.LOST)
    response = client.get(reverse("portal:home"))
    assert response.status_code == 302 and response["Location"] == reverse("portal:login")
    assert "_auth_user_id" not in client.session
    page = client.get(reverse("portal:login"))
    assert "出入证已注销或过期，该登录链接已失效" in page.content.decode()
    # the API ends it too
    other = Client()
    pass_ = issue_pass(world, world.elder)
    other.post(reverse("portal:link", args=[portal_link_token(world.home_a1)]))
    pass_revoke(actor=manager(world), pass_=pass_, reason=Pass.Revoked.LOST)
    response = other.get("/api/v1/voice/portal/")
    assert response.status_code == 401
    assert response.json() == {"detail": "出入证已注销或过期，该登录链接已失效"}
    assert "_auth_user_id" not in other.session


def test_a_code_session_does_not_depend_on_a_pass(client, world, sms):
    client.post(reverse("portal:login"), {"phone": ELDER_PHONE})
    client.post(reverse("portal:verify"), {"code": sent_code(sms, ELDER_PHONE)})
    assert client.get(reverse("portal:home")).status_code == 200
    assert client.get("/api/v1/voice/portal/").status_code == 200


def test_the_next_carried_to_the_code_page_is_one_encoded_parameter(client, world, sms):
    target = "/portal/?a=1&next=//evil.example"
    response = client.post(reverse("portal:login"), {"phone": ELDER_PHONE, "next": target})
    assert response["Location"] == (
        f"{reverse('portal:verify')}?next=%2Fportal%2F%3Fa%3D1%26next%3D%2F%2Fevil.example"
    )
    page = client.get(response["Location"])
    assert page.context["next"] == target
