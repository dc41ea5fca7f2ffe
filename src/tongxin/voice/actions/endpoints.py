"""A compound's group robots (WeCom, DingTalk): added with their webhook URL (and DingTalk's
signing secret) encrypted, shown masked; switched on and off."""

import urllib.parse

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from tongxin.core import crypto
from tongxin.core.audit import audit
from tongxin.registry.models import Compound
from tongxin.voice.models import Endpoint
from tongxin.voice.selectors.scope import KEEPERS, require_compound
from tongxin.voice.senders import check_webhook_url


def mask_url(url: str) -> str:
    """The host and the key's last four characters: enough to tell two robots apart."""
    parts = urllib.parse.urlsplit(url)
    tail = url[-4:] if len(url) > 4 else ""
    return f"{parts.scheme}://{parts.netloc}/…{tail}"[:120]


@transaction.atomic
def endpoint_add(*, actor, compound: Compound, kind: str, name: str, url: str, secret: str = "") -> Endpoint:
    require_compound(actor, compound.pk, roles=KEEPERS)
    if kind not in Endpoint.Kind.values:
        raise ValidationError(_("未知的机器人类型"), code="endpoint_kind")
    name = (name or "").strip()
    if not name:
        raise ValidationError(_("请填写机器人名称"), code="endpoint_name")
    if len(name) > 50:
        raise ValidationError(_("机器人名称不能超过 50 个字"), code="endpoint_name")
    url = check_webhook_url(url)
    secret = (secret or "").strip()
    if secret and kind != Endpoint.Kind.DINGTALK:
        raise ValidationError(_("只有钉钉机器人需要加签密钥"), code="endpoint_secret")
    if Endpoint.objects.filter(compound=compound, name=name).exists():
        raise ValidationError(_("本小区已有同名机器人：%(name)s") % {"name": name}, code="endpoint_duplicate")
    endpoint = Endpoint.objects.create(
        compound=compound,
        kind=kind,
        name=name,
        url_cipher=crypto.encrypt(url),
        url_masked=mask_url(url),
        secret_cipher=crypto.encrypt(secret),
    )
    audit(actor=actor, action="create", obj=endpoint, label=name, detail={"kind": kind})
    return endpoint


@transaction.atomic
def endpoint_set_active(*, actor, endpoint: Endpoint, active: bool) -> Endpoint:
    require_compound(actor, endpoint.compound_id, roles=KEEPERS)
    Endpoint.objects.filter(pk=endpoint.pk).update(active=active)
    endpoint.active = active
    audit(
        actor=actor,
        action="update",
        obj=endpoint,
        label=endpoint.name,
        fields="active",
        detail={"active": active},
    )
    return endpoint
