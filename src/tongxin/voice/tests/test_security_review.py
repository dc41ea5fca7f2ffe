"""The security review of the voice module: each finding fixed, pinned here.

- the household's portal link logged in on a plain GET (a chat app's link preview made a session):
  GET shows a confirm page, the POST (with CSRF) logs in;
and what was checked and found right, pinned so it stays right: the session key cycled on login,
no staff account through the portal.
"""

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client
from django.urls import reverse

from tongxin.accounts.models import Role
from tongxin.core.models import AuditLog
from tongxin.voice.actions.portal import portal_link_token
from tongxin.voice.tests.portal_helpers import issue_pass, manager, recording_sms, sent_code

ELDER_PHONE = "13812345678"


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
