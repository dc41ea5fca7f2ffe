"""Group robots: stored encrypted with a masked address, https only, scoped, switched off."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from tongxin.accounts.models import Role
from tongxin.core import crypto
from tongxin.core.models import AuditLog
from tongxin.voice.actions.endpoints import endpoint_add, endpoint_set_active, mask_url
from tongxin.voice.models import Endpoint

URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
DING = "https://oapi.dingtalk.com/robot/send?access_token=XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX9f3c"


def test_add_encrypts_and_masks(world):
    endpoint = endpoint_add(
        actor=world.users[Role.COMPOUND_MANAGER],
        compound=world.compound_a,
        kind="wecom",
        name="一号楼群",
        url=URL,
    )
    endpoint.refresh_from_db()
    assert URL not in endpoint.url_cipher
    assert crypto.decrypt(endpoint.url_cipher) == URL
    assert endpoint.url_masked == "https://qyapi.weixin.qq.com/…5aaa"
    assert "693a91f6" not in endpoint.url_masked
    assert endpoint.secret_cipher == ""
    assert endpoint.active
    assert AuditLog.objects.filter(object_type="voice.endpoint", object_id=str(endpoint.pk)).exists()


def test_dingtalk_secret_encrypted(world):
    endpoint = endpoint_add(
        actor=world.users[Role.GRID_WORKER],
        compound=world.compound_a,
        kind="dingtalk",
        name="钉钉群",
        url=DING,
        secret="SECabc",
    )
    assert "SECabc" not in endpoint.secret_cipher
    assert crypto.decrypt(endpoint.secret_cipher) == "SECabc"


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"url": "http://qyapi.weixin.qq.com/x"}, "webhook_https"),
        ({"name": "  "}, "endpoint_name"),
        ({"kind": "feishu"}, "endpoint_kind"),
        ({"secret": "s"}, "endpoint_secret"),  # WeCom has no signed mode
    ],
)
def test_refused(world, settings, fields, code):
    settings.DEBUG = False
    args = {"kind": "wecom", "name": "群", "url": URL, **fields}
    with pytest.raises(ValidationError) as exc:
        endpoint_add(actor=world.users[Role.COMPOUND_MANAGER], compound=world.compound_a, **args)
    assert exc.value.code == code
    assert not Endpoint.objects.exists()


def test_http_message(world, settings):
    settings.DEBUG = False
    with pytest.raises(ValidationError) as exc:
        endpoint_add(
            actor=world.users[Role.COMPOUND_MANAGER],
            compound=world.compound_a,
            kind="wecom",
            name="群",
            url="http://x/y",
        )
    assert exc.value.messages == ["机器人地址必须以 https:// 开头"]


def test_duplicate_name_refused(world):
    manager = world.users[Role.COMPOUND_MANAGER]
    endpoint_add(actor=manager, compound=world.compound_a, kind="wecom", name="群", url=URL)
    with pytest.raises(ValidationError) as exc:
        endpoint_add(actor=manager, compound=world.compound_a, kind="dingtalk", name="群", url=DING)
    assert exc.value.code == "endpoint_duplicate"


def test_scope(world):
    with pytest.raises(Http404):
        endpoint_add(
            actor=world.users[Role.COMPOUND_MANAGER],
            compound=world.compound_b,
            kind="wecom",
            name="群",
            url=URL,
        )
    with pytest.raises(PermissionDenied):
        endpoint_add(
            actor=world.users[Role.VOLUNTEER], compound=world.compound_a, kind="wecom", name="群", url=URL
        )
    with pytest.raises(Http404):
        endpoint_add(
            actor=world.users[Role.RESIDENT], compound=world.compound_a, kind="wecom", name="群", url=URL
        )


def test_set_active(world):
    manager = world.users[Role.COMPOUND_MANAGER]
    endpoint = endpoint_add(actor=manager, compound=world.compound_a, kind="wecom", name="群", url=URL)
    endpoint_set_active(actor=manager, endpoint=endpoint, active=False)
    endpoint.refresh_from_db()
    assert not endpoint.active
    endpoint_set_active(actor=manager, endpoint=endpoint, active=True)
    endpoint.refresh_from_db()
    assert endpoint.active
    with pytest.raises(PermissionDenied):
        endpoint_set_active(actor=world.users[Role.VOLUNTEER], endpoint=endpoint, active=False)
    endpoint.refresh_from_db()
    assert endpoint.active


def test_mask_keeps_host_and_last_four():
    assert mask_url("https://oapi.dingtalk.com/robot/send?access_token=abcdef123456") == (
        "https://oapi.dingtalk.com/…3456"
    )
