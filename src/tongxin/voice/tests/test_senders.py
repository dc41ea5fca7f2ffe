"""The senders against a local robot server: what they send (JSON, Content-Type, DingTalk's
timestamp and signature recomputed by the server), and failures kept (errcode, HTTP 500, timeout)."""

import types

import pytest
from django.core.exceptions import ValidationError

from tongxin.voice import senders
from tongxin.voice.tests.robot_server import RobotServer

NOTICE = types.SimpleNamespace(title="核酸通知", body="1号楼1单元 8:00-9:00 下楼核酸")


def test_wecom_posts_markdown_json(robot):
    result = senders.send_wecom(robot.url(), NOTICE)
    assert result == senders.SendResult(True, recipients=1)
    [got] = robot.received
    assert got["path"] == "/cgi-bin/webhook/send"
    assert got["query"] == {"key": ["abc123"]}
    assert got["content_type"].startswith("application/json")
    assert got["json"]["msgtype"] == "markdown"
    assert "核酸通知" in got["json"]["markdown"]["content"]
    assert "下楼核酸" in got["json"]["markdown"]["content"]


def test_wecom_text_payload():
    payload = senders.wecom_payload(NOTICE, msgtype="text")
    assert payload == {"msgtype": "text", "text": {"content": "核酸通知\n1号楼1单元 8:00-9:00 下楼核酸"}}


def test_wecom_long_notice_clipped_to_its_byte_limits():
    long = types.SimpleNamespace(title="通知", body="核" * 3000)  # 9000 bytes
    markdown = senders.wecom_payload(long)["markdown"]["content"]
    text = senders.wecom_payload(long, msgtype="text")["text"]["content"]
    assert 4090 < len(markdown.encode()) <= 4096 and markdown.endswith("…")
    assert 2040 < len(text.encode()) <= 2048 and text.endswith("…")
    assert senders.clip_bytes("短", 10) == "短"


def test_dingtalk_signed_mode_checked_by_server(robot):
    robot.secret = "SEC0123456789abcdef+/="
    result = senders.send_dingtalk(robot.url("/robot/send", "access_token=tok"), robot.secret, NOTICE)
    assert result.ok, result.error
    [got] = robot.received
    assert got["sign_ok"] is True
    assert got["query"]["access_token"] == ["tok"]
    assert got["json"] == {
        "msgtype": "markdown",
        "markdown": {"title": "核酸通知", "text": "### 核酸通知\n\n1号楼1单元 8:00-9:00 下楼核酸"},
    }


def test_dingtalk_wrong_secret_fails_signature(robot):
    robot.secret = "right"
    senders.send_dingtalk(robot.url("/robot/send", "access_token=tok"), "wrong", NOTICE)
    assert robot.received[0]["sign_ok"] is False


def test_dingtalk_unsigned_has_no_timestamp(robot):
    assert senders.send_dingtalk(robot.url("/robot/send", "access_token=tok"), "", NOTICE).ok
    assert "sign" not in robot.received[0]["query"]
    assert "timestamp" not in robot.received[0]["query"]


def test_dingtalk_sign_known_value():
    # HMAC-SHA256("1700000000000\nsecret", key="secret"), base64, URL-encoded (+ / = escaped)
    import base64
    import hashlib
    import hmac
    import urllib.parse

    expected = urllib.parse.quote_plus(
        base64.b64encode(hmac.new(b"secret", b"1700000000000\nsecret", hashlib.sha256).digest()).decode()
    )
    assert senders.dingtalk_sign("secret", 1700000000000) == expected
    url = senders.dingtalk_url("https://oapi.dingtalk.com/robot/send?access_token=x", "secret", 1700000000000)
    assert (
        url == f"https://oapi.dingtalk.com/robot/send?access_token=x&timestamp=1700000000000&sign={expected}"
    )


def test_errcode_not_zero_is_failure_with_message(robot):
    robot.answer = {"errcode": 93000, "errmsg": "invalid webhook url"}
    result = senders.send_wecom(robot.url(), NOTICE)
    assert not result.ok
    assert "93000" in result.error and "invalid webhook url" in result.error


def test_http_500_is_failure(robot):
    robot.status = 500
    result = senders.send_dingtalk(robot.url(), "", NOTICE)
    assert not result.ok
    assert result.error == "HTTP 500"


def test_timeout_is_failure(robot, settings):
    settings.TONGXIN_WEBHOOK_TIMEOUT_SECONDS = 0.2
    robot.delay = 1.0
    result = senders.send_wecom(robot.url(), NOTICE)
    assert not result.ok
    assert result.error == "连接超时"


def test_unreachable_is_failure(settings):
    settings.TONGXIN_WEBHOOK_ALLOW_LOCAL = True
    with RobotServer() as server:
        url = server.url()
    # the server is closed: connection refused
    result = senders.send_wecom(url, NOTICE)
    assert not result.ok and result.error


@pytest.mark.parametrize(
    "url",
    [
        "http://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=x",
        "ftp://x/y",
        "",
        "https://",
        "qyapi.weixin.qq.com",
    ],
)
def test_webhook_must_be_https(url, settings):
    settings.DEBUG = False
    settings.TONGXIN_WEBHOOK_ALLOW_LOCAL = False
    with pytest.raises(ValidationError) as exc:
        senders.check_webhook_url(url)
    assert exc.value.messages == ["机器人地址必须以 https:// 开头"]


def test_local_http_only_when_allowed(settings):
    settings.DEBUG = False
    settings.TONGXIN_WEBHOOK_ALLOW_LOCAL = False
    with pytest.raises(ValidationError):
        senders.check_webhook_url("http://127.0.0.1:9/x")
    settings.DEBUG = True  # DEBUG alone does not open the local network
    with pytest.raises(ValidationError):
        senders.check_webhook_url("http://localhost:9/x")
    settings.TONGXIN_WEBHOOK_ALLOW_LOCAL = True
    assert senders.check_webhook_url("http://localhost:9/x") == "http://localhost:9/x"
    with pytest.raises(ValidationError):  # never http to another host
        senders.check_webhook_url("http://example.com/x")
    assert senders.check_webhook_url(" https://example.com/x ") == "https://example.com/x"


def test_http_refused_at_send_time(settings):
    settings.DEBUG = False
    settings.TONGXIN_WEBHOOK_ALLOW_LOCAL = False
    result = senders.send_wecom("http://127.0.0.1:9/x", NOTICE)
    assert result == senders.SendResult(False, error="机器人地址必须以 https:// 开头")


class RecordingSms(senders.SmsProvider):
    sent: list = []

    def send(self, phones, text):
        RecordingSms.sent.append((list(phones), text))
        return senders.SendResult(True, recipients=len(phones))


def test_sms_provider_setting(settings, caplog):
    settings.TONGXIN_SMS_PROVIDER = "console"
    settings.DEBUG = True
    provider = senders.sms_provider()
    assert isinstance(provider, senders.ConsoleSmsProvider)
    with caplog.at_level("INFO", logger="tongxin.voice.senders"):
        assert provider.send(["13812345678"], "hi") == senders.SendResult(True, recipients=1)
    assert "138****5678" in caplog.text
    assert "13812345678" not in caplog.text
    settings.TONGXIN_SMS_PROVIDER = "tongxin.voice.tests.test_senders.RecordingSms"
    assert isinstance(senders.sms_provider(), RecordingSms)


def test_the_console_provider_sends_and_logs_nothing_outside_development(settings, caplog):
    """A deployment that forgot TONGXIN_SMS_PROVIDER: the SMS fails with the reason (so the delivery
    shows failed, not sent), and the message (a portal login code) is written nowhere."""
    settings.TONGXIN_SMS_PROVIDER = "console"
    settings.DEBUG = False
    with caplog.at_level("INFO", logger="tongxin.voice.senders"):
        result = senders.sms_provider().send(["13812345678"], "您的登录验证码是 482913")
    assert result == senders.SendResult(False, error="未配置短信服务（TONGXIN_SMS_PROVIDER），短信未发送")
    assert "482913" not in caplog.text and "5678" not in caplog.text
    assert "not sent" in caplog.text
