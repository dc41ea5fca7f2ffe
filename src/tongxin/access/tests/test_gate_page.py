"""The gate page and its service worker: who may open it, what it carries for its script, and
that it holds no inline script (the CSP allows none)."""

import json

import pytest
from django.test import Client

from tongxin.access import verdict
from tongxin.access.models import Gate
from tongxin.accounts.models import Role
from tongxin.registry.tests.factories import make_user

pytestmark = pytest.mark.django_db

GATE_KEEPERS = [Role.PLATFORM_ADMIN, Role.OFFICIAL, Role.COMPOUND_MANAGER, Role.GRID_WORKER, Role.VOLUNTEER]


@pytest.fixture
def gates(world):
    return (
        Gate.objects.create(compound=world.compound_a, name="南门"),
        Gate.objects.create(compound=world.compound_b, name="北门"),
    )


def page_config(response) -> dict:
    html = response.content.decode()
    return json.loads(html.split('id="gate-config" type="application/json">', 1)[1].split("</script>")[0])


def test_gate_page_renders_for_a_volunteer(world, gates, client):
    south, _north = gates
    client.force_login(world.users[Role.VOLUNTEER])
    response = client.get(f"/access/gates/{south.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>南门 <small" in html and "甲小区" in html
    assert "待上传 0 条" in html and "紧急就医" in html and "访客 / 返回居民登记" in html
    assert (
        '<button id="dir-in" type="button" class="dir" data-direction="in" aria-pressed="true">进</button>'
        in html
    )
    assert (
        '<button id="dir-out" type="button" class="dir" data-direction="out" aria-pressed="false">出</button>'
        in html
    )
    assert '<script src="/static/access/gate.js"></script>' in html
    assert '<link rel="stylesheet" href="/static/access/gate.css">' in html
    config = page_config(response)
    assert {
        k: config[k] for k in ("gate", "name", "compound", "compound_name", "snapshot_minutes", "batch")
    } == {
        "gate": south.pk,
        "name": "南门",
        "compound": world.compound_a.pk,
        "compound_name": "甲小区",
        "snapshot_minutes": 10,
        "batch": 500,
    }
    api = f"/api/v1/access/gates/{south.pk}/"
    assert (config["snapshot_url"], config["check_url"], config["sync_url"]) == (
        api + "snapshot",
        api + "check",
        api + "sync",
    )
    assert (config["sw_url"], config["sw_scope"], config["cache"]) == (
        "/access/gate-sw.js",
        "/access/",
        "tongxin-gate-v1",
    )
    assert config["fallback_url"] == "/static/access/gate-ed25519.js"
    assert "/static/access/vendor/noble-ed25519/index.js" in config["offline_assets"]
    assert "script-src 'self' 'nonce-" in response["Content-Security-Policy"]


def test_gate_page_has_no_inline_script(world, gates, client):
    client.force_login(world.users[Role.VOLUNTEER])
    html = client.get(f"/access/gates/{gates[0].pk}/").content.decode()
    scripts = html.split("<script")[1:]
    assert scripts, "the page loads its script"
    for script in scripts:
        head = script.split(">", 1)[0]
        # An external file, or the JSON data element (not run); nothing else.
        assert ' src="/static/' in head or 'type="application/json"' in head, head
    assert " onclick=" not in html and " onsubmit=" not in html and "javascript:" not in html
    assert " style=" not in html


def test_gate_page_carries_every_reason_and_sentence_translated(world, gates, client):
    client.force_login(world.users[Role.VOLUNTEER])
    config = page_config(client.get(f"/access/gates/{gates[0].pk}/"))
    assert config["reasons"] == {code: str(text) for code, text in verdict.REASONS.items()}
    assert config["reasons"]["sealed"] == "住户被封控"
    assert config["reasons"]["no_test"] == "%(hours)d小时内无核酸"
    assert config["reasons"]["revoked"] == "出入证已注销"
    strings = config["strings"]
    assert (strings["allowed"], strings["stopped"]) == ("放行", "禁止通行")
    assert strings["snapshot_age"] == "名单更新于 %(time)s，%(ago)s"
    assert strings["pending"] == "待上传 %(n)s 条"
    assert strings["document_offline"] == "离线时不能按身份证号核验：请扫出入证，或输入房号/姓名"
    assert strings["back_by"] == "请于 %(time)s 前返回"


def test_gate_page_speaks_the_reader_language(world, gates, client):
    client.force_login(world.users[Role.VOLUNTEER])
    response = client.get(f"/access/gates/{gates[0].pk}/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert response["Content-Language"] == "en"
    assert '<html lang="en">' in response.content.decode()
    config = page_config(response)
    # The same sentences, each through gettext in the reader's language (the English catalog
    # comes later: until then they fall back to the Chinese msgids).
    assert set(config["strings"]) >= {"allowed", "stopped", "snapshot_age", "pending", "document_offline"}
    assert set(config["reasons"]) == set(verdict.REASONS)


def test_gate_page_costs_a_fixed_few_queries(world, gates, client, django_assert_max_num_queries):
    client.force_login(world.users[Role.VOLUNTEER])
    # session, user, the gate with its compound within the user's compounds
    with django_assert_max_num_queries(3):
        assert client.get(f"/access/gates/{gates[0].pk}/").status_code == 200


@pytest.mark.parametrize("role", GATE_KEEPERS)
def test_every_role_that_keeps_gates_opens_its_own_gate(world, gates, role):
    client = Client()
    client.force_login(world.users[role])
    assert client.get(f"/access/gates/{gates[0].pk}/").status_code == 200


def test_a_gate_outside_the_user_area_is_not_found(world, gates, client):
    _south, north = gates
    for role in (Role.VOLUNTEER, Role.COMPOUND_MANAGER, Role.GRID_WORKER, Role.OFFICIAL):
        client.force_login(world.users[role])
        assert client.get(f"/access/gates/{north.pk}/").status_code == 404, role
    assert client.get("/access/gates/999999/").status_code == 404
    client.force_login(make_user(Role.VOLUNTEER, compound=world.compound_b))
    assert client.get(f"/access/gates/{north.pk}/").status_code == 200
    assert client.get(f"/access/gates/{gates[0].pk}/").status_code == 404


def test_residents_may_not_open_a_gate_and_strangers_log_in_first(world, gates, client):
    response = client.get(f"/access/gates/{gates[0].pk}/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    client.force_login(world.users[Role.RESIDENT])
    assert client.get(f"/access/gates/{gates[0].pk}/").status_code == 403


def test_the_page_never_carries_a_phone_or_an_id_number(world, gates, client):
    from tongxin.core import crypto

    client.force_login(world.users[Role.VOLUNTEER])
    html = client.get(f"/access/gates/{gates[0].pk}/").content.decode()
    for person in (world.elder, world.neighbour):
        person.refresh_from_db()
        assert crypto.decrypt(person.document_cipher) not in html
        assert crypto.decrypt(person.phone_cipher) not in html
        assert person.name not in html  # the names come with the snapshot, never in the page


def test_service_worker_is_served_under_access_with_its_scope(client):
    response = client.get("/access/gate-sw.js")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    assert response["Service-Worker-Allowed"] == "/access/"
    assert "no-cache" in response["Cache-Control"]
    body = response.content.decode()
    assert 'var CACHE = "tongxin-gate-v1";' in body and 'var STATIC = "/static/";' in body
    assert "__CACHE__" not in body and "__STATIC__" not in body
    assert client.post("/access/gate-sw.js").status_code == 405


def test_vendored_fallback_keeps_its_licences(client):
    from django.contrib.staticfiles import finders

    for folder in ("noble-ed25519", "noble-hashes"):
        licence = finders.find(f"access/vendor/{folder}/LICENSE")
        assert licence and "MIT License" in open(licence, encoding="utf-8").read()
    header = open(finders.find("access/vendor/noble-ed25519/index.js"), encoding="utf-8").readline()
    assert header.startswith("/*! noble-ed25519 - MIT License (c) 2019 Paul Miller")
    # The modules import each other by relative path only: a browser resolves no bare name.
    for name in ("sha2.js", "_md.js", "_u64.js", "utils.js"):
        text = open(finders.find(f"access/vendor/noble-hashes/{name}"), encoding="utf-8").read()
        imports = [line for line in text.splitlines() if line.startswith("import ")]
        assert all('from "./' in line for line in imports), imports
