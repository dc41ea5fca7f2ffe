import importlib

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher, make_password
from django.test import Client

from tongxin.accounts.models import Role
from tongxin.core.models import AuditLog
from tongxin.registry.tests.factories import make_user

LOGIN = "/accounts/login/"
PASSWORD = "pw-for-tests-only"
BLOCKED = "尝试次数过多，请15分钟后再试。"


def attempt(client, username, password, address="10.0.0.1"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


@pytest.fixture
def user(db):
    return make_user(Role.COMPOUND_MANAGER, username="cadre")


def test_a_correct_password_logs_in(client, user):
    response = attempt(client, "cadre", PASSWORD)
    assert (response.status_code, response.url, logged_in(client)) == (302, "/", True)


def test_after_the_failure_limit_even_the_right_password_is_refused(client, user, settings):
    for _ in range(settings.LOGIN_MAX_FAILURES):
        response = attempt(client, "cadre", "wrong")
        assert "用户名或密码不正确。" in response.content.decode()
    response = attempt(client, "Cadre", PASSWORD, address="10.0.0.2")  # another case, another address
    assert response.status_code == 200
    assert BLOCKED in response.content.decode()
    assert logged_in(client) is False
    assert list(AuditLog.objects.filter(action="login_blocked").values_list("object_label", "ip")) == [
        ("Cadre", "10.0.0.2")
    ]
    assert (
        AuditLog.objects.filter(action="login_failed", object_label="cadre").count()
        == settings.LOGIN_MAX_FAILURES
    )


def test_the_limit_per_address_covers_many_usernames(client, user, settings):
    settings.LOGIN_MAX_FAILURES_PER_ADDRESS = 3
    for name in ("a", "b", "c"):
        attempt(client, name, "wrong", address="10.0.0.7")
    refused = attempt(client, "cadre", PASSWORD, address="10.0.0.7")
    assert (BLOCKED in refused.content.decode(), logged_in(client)) == (True, False)
    allowed = attempt(client, "cadre", PASSWORD, address="10.0.0.8")
    assert (allowed.status_code, logged_in(client)) == (302, True)


def test_a_success_clears_the_username_counter(user, settings):
    for _round in range(2):
        client = Client()
        for _ in range(settings.LOGIN_MAX_FAILURES - 1):
            attempt(client, "cadre", "wrong")
        response = attempt(client, "cadre", PASSWORD)
        assert (response.status_code, logged_in(client)) == (302, True)
    assert AuditLog.objects.filter(action="login_blocked").count() == 0


def test_argon2_is_the_production_hasher(user, settings):
    production = importlib.import_module("tongxin.config.settings")
    assert production.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    assert make_password("secret", hasher=Argon2PasswordHasher()).startswith("argon2$argon2id$")
    settings.PASSWORD_HASHERS = production.PASSWORD_HASHERS
    user.set_password("a new long passphrase")
    user.save()
    assert user.password.startswith("argon2$")
    assert Client().login(username="cadre", password="a new long passphrase") is True


def test_the_login_form_needs_its_csrf_token(user):
    client = Client(enforce_csrf_checks=True)
    form = client.get(LOGIN)
    assert 'name="csrfmiddlewaretoken"' in form.content.decode()
    assert attempt(client, "cadre", PASSWORD).status_code == 403
    token = form.cookies["csrftoken"].value
    response = client.post(LOGIN, {"username": "cadre", "password": PASSWORD, "csrfmiddlewaretoken": token})
    assert (response.status_code, logged_in(client)) == (302, True)


def test_the_session_cookie_is_http_only_and_pages_carry_a_csp(client, user):
    page = client.get(LOGIN)
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in csp and "default-src 'self'" in csp
    response = attempt(client, "cadre", PASSWORD)
    cookie = response.cookies["sessionid"]
    assert (cookie["httponly"], cookie["samesite"]) == (True, "Lax")


def test_logging_out_lands_on_the_page_that_makes_devices_forget_names(client, user):
    """The gate device and the sampling station keep names offline; the login page, where logging
    out lands, loads the scripts that delete them (their effect is checked in the browser tests)."""
    from django.contrib.staticfiles import finders

    attempt(client, "cadre", PASSWORD)
    response = client.post("/accounts/logout/", follow=True)
    assert response.redirect_chain[-1][0] == LOGIN
    html = response.content.decode()
    for script in ("access/gate-forget.js", "testing/station-forget.js"):
        assert f"/static/{script}" in html and finders.find(script)
