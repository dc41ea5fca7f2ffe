"""Sending a notice through one channel: a WeCom or DingTalk group robot (its webhook), SMS through
a provider, or the residents' portal (which reads published notices, so nothing goes out).

`send(delivery, notice) -> SendResult(ok, recipients, error)`: never raises for a channel's
failure; the error is kept for the delivery's `last_error`. Webhook URLs and secrets are decrypted
here only, as are the residents' phones for SMS.
"""

import base64
import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import socket
import ssl
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
LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa")


@dataclass(frozen=True)
class SendResult:
    ok: bool
    recipients: int = 0
    error: str = ""


def _local_allowed() -> bool:
    return bool(getattr(settings, "TONGXIN_WEBHOOK_ALLOW_LOCAL", False))


def blocked_address(address: str) -> bool:
    """An address a robot may not point at: loopback, private, link-local (cloud metadata),
    shared, reserved, multicast or unspecified, IPv4 mapped into IPv6 included."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return True
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast or ip.is_unspecified


def _local_name(host: str) -> bool:
    host = host.lower().rstrip(".")
    return host in LOCAL_HOSTS or host.endswith(LOCAL_SUFFIXES) or "." not in host


def _literal_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def check_webhook_url(url: str) -> str:
    """The robot's address, stripped; https only, to a public host. With
    TONGXIN_WEBHOOK_ALLOW_LOCAL (tests, a robot on this machine) also http to this machine and
    private addresses. The address a name resolves to is checked again when connecting."""
    url = (url or "").strip()
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "http" and _local_allowed() and host in LOCAL_HOSTS:
        return url
    if parts.scheme != "https" or not host:
        raise ValidationError(_("机器人地址必须以 https:// 开头"), code="webhook_https")
    if parts.username or parts.password:
        raise ValidationError(_("机器人地址不能包含用户名或密码"), code="webhook_https")
    if not _local_allowed() and (_local_name(host) or (_literal_ip(host) and blocked_address(host))):
        raise ValidationError(_("机器人地址不能指向本机或内网"), code="webhook_local")
    return url


def _checked_connection(address, timeout=socket._GLOBAL_DEFAULT_TIMEOUT, source_address=None, **_kw):
    """socket.create_connection, to the addresses the name resolves to, refusing any private or
    loopback one (unless TONGXIN_WEBHOOK_ALLOW_LOCAL): checked on the address actually connected,
    so a name that resolves differently later (DNS rebinding) does not get past."""
    host, port = address[0], address[1]
    infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    if not _local_allowed() and any(blocked_address(info[4][0]) for info in infos):
        raise OSError(_("机器人地址不能指向本机或内网"))
    error: OSError | None = None
    for family, kind, proto, _name, sockaddr in infos:
        sock = socket.socket(family, kind, proto)
        try:
            if timeout is not socket._GLOBAL_DEFAULT_TIMEOUT:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
        except OSError as exc:
            sock.close()
            error = exc
            continue
        return sock
    raise error or OSError(_("无法解析机器人地址"))


class _CheckedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._create_connection = _checked_connection


class _CheckedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._create_connection = _checked_connection


class _CheckedHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req):
        return self.do_open(_CheckedHTTPConnection, req)


class _CheckedHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req):
        return self.do_open(_CheckedHTTPSConnection, req, context=self._context)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A robot's redirect is not followed (it could point anywhere): the 3xx is the answer."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def _opener() -> urllib.request.OpenerDirector:
    # No proxy from the environment: the address connected to is the one checked.
    return urllib.request.build_opener(
        urllib.request.ProxyHandler({}),
        _NoRedirect(),
        _CheckedHTTPHandler(),
        _CheckedHTTPSHandler(context=ssl.create_default_context()),
    )


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
        with _opener().open(request, timeout=_timeout()) as response:
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


# A title can carry a resident's words (a common question's answer is titled by its most central
# request): in a group robot's markdown or an SMS it must stay one line of text, never a link, a
# heading, a <font> tag, an @mention or a forged 【signature】. Markup characters become their
# full-width look-alikes, so it reads the same.
TITLE_PLAIN = str.maketrans(
    {
        "[": "［",
        "]": "］",
        "(": "（",
        ")": "）",
        "<": "＜",
        ">": "＞",
        "*": "＊",
        "_": "＿",
        "`": "｀",
        "#": "＃",
        "!": "！",
        "@": "＠",
        "|": "｜",
        "~": "～",
        "\\": "＼",
        "【": "［",
        "】": "］",
    }
)


def plain_title(title: str) -> str:
    """The notice's title as one line of plain text for a robot or an SMS."""
    return " ".join(str(title or "").split()).translate(TITLE_PLAIN)


def notice_markdown(notice) -> str:
    return f"### {plain_title(notice.title)}\n\n{notice.body}"


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
        content = clip_bytes(f"{plain_title(notice.title)}\n{notice.body}", WECOM_MAX_BYTES["text"])
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
    return {
        "msgtype": "markdown",
        "markdown": {"title": plain_title(notice.title), "text": notice_markdown(notice)},
    }


def send_wecom(url: str, notice) -> SendResult:
    return _post_json(url, wecom_payload(notice))


def send_dingtalk(url: str, secret: str, notice) -> SendResult:
    return _post_json(dingtalk_url(url, secret), dingtalk_payload(notice))


class SmsProvider(Protocol):
    """An SMS gateway, named by TONGXIN_SMS_PROVIDER: `send(phones, text)` to every phone, one
    SendResult for the batch."""

    def send(self, phones: list[str], text: str) -> SendResult: ...


class ConsoleSmsProvider(SmsProvider):
    """The demo's provider. In development (DEBUG) it logs each message (phones masked) and
    succeeds. Anywhere else it sends nothing, logs no text (a portal login code must never reach
    a log file) and fails with the reason, so a deployment that forgot to set a real provider
    sees its SMS deliveries failed instead of counted as sent."""

    def send(self, phones: list[str], text: str) -> SendResult:
        if not settings.DEBUG:
            log.error("no SMS provider is set (TONGXIN_SMS_PROVIDER): %s message(s) not sent", len(phones))
            return SendResult(False, error=_("未配置短信服务（TONGXIN_SMS_PROVIDER），短信未发送"))
        for phone in phones:
            log.info("SMS to %s: %s", phone[:3] + "****" + phone[-4:], text)
        return SendResult(True, recipients=len(phones))


def sms_provider() -> SmsProvider:
    name = getattr(settings, "TONGXIN_SMS_PROVIDER", "console") or "console"
    if name == "console":
        return ConsoleSmsProvider()
    return import_string(name)()


def sms_text(notice) -> str:
    return f"【{plain_title(notice.title)}】{notice.body}"


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
