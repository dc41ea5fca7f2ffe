"""Sending a notice through one channel: a WeCom or DingTalk group robot (its webhook), SMS through
a provider, or the residents' portal (which reads published notices, so nothing goes out).

`send(delivery, notice) -> SendResult(ok, recipients, error)`: never raises for a channel's
failure; the error is kept for the delivery's `last_error`. Webhook URLs and secrets are decrypted
here only, as are the residents' phones for SMS.
"""

import base64
import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from tongxin.core import crypto

log = logging.getLogger(__name__)

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class SendResult:
    ok: bool
    recipients: int = 0
    error: str = ""


def check_webhook_url(url: str) -> str:
    """The robot's address, stripped; https only (http only to this machine when DEBUG or
    TONGXIN_WEBHOOK_ALLOW_LOCAL)."""
    url = (url or "").strip()
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    local_ok = settings.DEBUG or getattr(settings, "TONGXIN_WEBHOOK_ALLOW_LOCAL", False)
    if parts.scheme == "http" and local_ok and parts.hostname in LOCAL_HOSTS:
        return url
    raise ValidationError(_("机器人地址必须以 https:// 开头"), code="webhook_https")


def _timeout() -> float:
    return float(getattr(settings, "TONGXIN_WEBHOOK_TIMEOUT_SECONDS", 5))


def _post_json(url: str, payload: dict) -> SendResult:
    """POST `payload` as JSON; success when HTTP 200 and the answer's errcode is 0."""
    try:
        check_webhook_url(url)
    except ValidationError as exc:
        return SendResult(False, error=exc.messages[0])
    data = json.dumps(payload, ensure_ascii=False).encode()
    request = urllib.request.Request(  # noqa: S310 (https checked above)
        url, data=data, method="POST", headers={"Content-Type": "application/json; charset=utf-8"}
    )
    try:
        with urllib.request.urlopen(request, timeout=_timeout()) as response:  # noqa: S310 (https checked)
            status = response.status
            body = response.read(65536)
    except urllib.error.HTTPError as exc:
        return SendResult(False, error=f"HTTP {exc.code}")
    except TimeoutError:
        return SendResult(False, error=_("连接超时"))
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            return SendResult(False, error=_("连接超时"))
        return SendResult(False, error=str(exc.reason)[:200])
    except OSError as exc:
        return SendResult(False, error=str(exc)[:200])
    if status != 200:
        return SendResult(False, error=f"HTTP {status}")
    try:
        answer = json.loads(body.decode() or "{}")
    except (ValueError, UnicodeDecodeError):
        return SendResult(False, error=_("机器人返回的不是 JSON"))
    errcode = answer.get("errcode") if isinstance(answer, dict) else None
    if errcode != 0:
        message = answer.get("errmsg", "") if isinstance(answer, dict) else ""
        return SendResult(False, error=f"errcode {errcode}: {message}"[:300])
    return SendResult(True, recipients=1)


def notice_markdown(notice) -> str:
    return f"### {notice.title}\n\n{notice.body}"


# WeCom refuses a text longer than 2048 bytes (UTF-8), a markdown one longer than 4096.
WECOM_MAX_BYTES = {"text": 2048, "markdown": 4096}


def clip_bytes(text: str, limit: int) -> str:
    """`text` cut to at most `limit` UTF-8 bytes, ending with "…" when cut."""
    if len(text.encode()) <= limit:
        return text
    ellipsis = "…"
    cut = text.encode()[: limit - len(ellipsis.encode())].decode(errors="ignore")
    return cut + ellipsis


def wecom_payload(notice, *, msgtype: str = "markdown") -> dict:
    if msgtype == "text":
        content = clip_bytes(f"{notice.title}\n{notice.body}", WECOM_MAX_BYTES["text"])
        return {"msgtype": "text", "text": {"content": content}}
    content = clip_bytes(notice_markdown(notice), WECOM_MAX_BYTES["markdown"])
    return {"msgtype": "markdown", "markdown": {"content": content}}


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signed mode: HMAC-SHA256 of "timestamp\\nsecret" keyed by the secret, base64,
    URL-encoded."""
    to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), to_sign, hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest).decode())


def dingtalk_url(url: str, secret: str, timestamp_ms: int | None = None) -> str:
    if not secret:
        return url
    timestamp_ms = timestamp_ms if timestamp_ms is not None else int(time.time() * 1000)
    sep = "&" if urllib.parse.urlsplit(url).query else "?"
    return f"{url}{sep}timestamp={timestamp_ms}&sign={dingtalk_sign(secret, timestamp_ms)}"


def dingtalk_payload(notice) -> dict:
    return {"msgtype": "markdown", "markdown": {"title": notice.title, "text": notice_markdown(notice)}}


def send_wecom(url: str, notice) -> SendResult:
    return _post_json(url, wecom_payload(notice))


def send_dingtalk(url: str, secret: str, notice) -> SendResult:
    return _post_json(dingtalk_url(url, secret), dingtalk_payload(notice))


class SmsProvider(Protocol):
    """An SMS gateway, named by TONGXIN_SMS_PROVIDER: `send(phones, text)` to every phone, one
    SendResult for the batch."""

    def send(self, phones: list[str], text: str) -> SendResult: ...


class ConsoleSmsProvider(SmsProvider):
    """The demo's provider: logs each message (phones masked) and succeeds."""

    def send(self, phones: list[str], text: str) -> SendResult:
        for phone in phones:
            log.info("SMS to %s: %s", phone[:3] + "****" + phone[-4:], text)
        return SendResult(True, recipients=len(phones))


def sms_provider() -> SmsProvider:
    name = getattr(settings, "TONGXIN_SMS_PROVIDER", "console") or "console"
    if name == "console":
        return ConsoleSmsProvider()
    return import_string(name)()


def sms_text(notice) -> str:
    return f"【{notice.title}】{notice.body}"


def send_sms(notice) -> SendResult:
    from tongxin.voice.selectors.notices import audience_phone_ciphers

    phones = sorted({crypto.decrypt(c) for c in audience_phone_ciphers(notice)} - {""})
    if not phones:
        return SendResult(True, recipients=0)
    try:
        return sms_provider().send(phones, sms_text(notice))
    except Exception as exc:  # a provider's failure is the delivery's, not the run's
        log.exception("SMS provider failed")
        return SendResult(False, error=str(exc)[:300] or exc.__class__.__name__)


def send(delivery, notice) -> SendResult:
    """Send `notice` through `delivery`'s channel (and endpoint)."""
    from tongxin.voice.models import Delivery

    channel = delivery.channel
    if channel in (Delivery.ChannelKind.WECOM, Delivery.ChannelKind.DINGTALK):
        endpoint = delivery.endpoint
        if endpoint is None:
            return SendResult(False, error=_("群机器人已删除"))
        if not endpoint.active:
            return SendResult(False, error=_("群机器人已停用"))
        url = crypto.decrypt(endpoint.url_cipher)
        if channel == Delivery.ChannelKind.WECOM:
            return send_wecom(url, notice)
        return send_dingtalk(url, crypto.decrypt(endpoint.secret_cipher), notice)
    if channel == Delivery.ChannelKind.SMS:
        return send_sms(notice)
    if channel == Delivery.ChannelKind.PORTAL:
        from tongxin.voice.selectors.notices import audience_households

        return SendResult(True, recipients=len(audience_households(notice)))
    return SendResult(False, error=_("未知渠道"))
