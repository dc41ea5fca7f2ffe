"""The group robots' page: add a WeCom or DingTalk robot (https only, DingTalk's signing secret),
the address shown masked, switched off and on (HTMX row); keepers only, scoped; a signed DingTalk
robot receives a notice sent from the notice's page with a valid signature."""

import pytest
from django.urls import reverse

from tongxin.accounts.models import Role
from tongxin.core import crypto
from tongxin.voice.actions.endpoints import endpoint_add
from tongxin.voice.actions.notices import notice_create
from tongxin.voice.models import Delivery, Endpoint
from tongxin.voice.tests.notice_helpers import manager
from tongxin.voice.tests.robot_server import RobotServer

pytestmark = pytest.mark.django_db
WECOM = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
DING = "https://oapi.dingtalk.com/robot/send?access_token=XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX9f3c"
KEEPERS = [Role.PLATFORM_ADMIN, Role.OFFICIAL, Role.COMPOUND_MANAGER, Role.GRID_WORKER]


def page(world, compound=None) -> str:
    return f"{reverse('voice:endpoints')}?compound={(compound or world.compound_a).pk}"


def add(world, **fields):
    args = {"kind": "wecom", "name": "一号楼群", "url": WECOM, **fields}
    return endpoint_add(actor=manager(world), compound=world.compound_a, **args)


@pytest.mark.parametrize("role", KEEPERS)
def test_keepers_see_the_robots_masked(as_role, world, role):
    add(world)
    response = as_role(role).get(page(world))
    assert response.status_code == 200
    assert "max-age=0" in response["Cache-Control"]
    html = response.content.decode()
    assert "一号楼群" in html and "企业微信群机器人" in html
    assert "https://qyapi.weixin.qq.com/…5aaa" in html
    assert "693a91f6" not in html
    assert " style=" not in html


def test_volunteers_and_residents_refused_other_compound_not_found(as_role, world):
    assert as_role(Role.VOLUNTEER).get(page(world)).status_code == 403
    assert as_role(Role.RESIDENT).get(page(world)).status_code == 403
    assert as_role(Role.COMPOUND_MANAGER).get(page(world, world.compound_b)).status_code == 404
    assert as_role(Role.COMPOUND_MANAGER).post(page(world, world.compound_b), {}).status_code == 404


def test_add_wecom(as_role, world):
    response = as_role(Role.COMPOUND_MANAGER).post(
        page(world), {"kind": "wecom", "name": " 3号楼居民群 ", "url": f"  {WECOM} ", "secret": ""}
    )
    assert response.status_code == 302 and response["Location"] == page(world)
    endpoint = Endpoint.objects.get()
    assert (endpoint.compound, endpoint.kind, endpoint.name, endpoint.active) == (
        world.compound_a,
        "wecom",
        "3号楼居民群",
        True,
    )
    assert crypto.decrypt(endpoint.url_cipher) == WECOM
    assert endpoint.secret_cipher == ""


def test_add_dingtalk_signed(as_role, world):
    response = as_role(Role.GRID_WORKER).post(
        page(world), {"kind": "dingtalk", "name": "钉钉群", "url": DING, "secret": "SECabc123"}
    )
    assert response.status_code == 302
    endpoint = Endpoint.objects.get()
    assert crypto.decrypt(endpoint.secret_cipher) == "SECabc123"
    html = as_role(Role.GRID_WORKER).get(page(world)).content.decode()
    assert "加签" in html and "SECabc123" not in html


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"url": "http://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=1"}, "机器人地址必须以 https:// 开头"),
        ({"url": ""}, "机器人地址必须以 https:// 开头"),
        ({"url": "javascript:alert(1)"}, "机器人地址必须以 https:// 开头"),
        ({"name": "  "}, "请填写机器人名称"),
        ({"secret": "SECabc"}, "只有钉钉机器人需要加签密钥"),
        ({"kind": "feishu"}, "选择一个有效的选项"),
    ],
)
def test_bad_robot_refused_with_a_clear_message(as_role, world, fields, message):
    data = {"kind": "wecom", "name": "一号楼群", "url": WECOM, "secret": "", **fields}
    response = as_role(Role.COMPOUND_MANAGER).post(page(world), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Endpoint.objects.exists()


def test_duplicate_name_refused(as_role, world):
    add(world)
    response = as_role(Role.COMPOUND_MANAGER).post(
        page(world), {"kind": "dingtalk", "name": "一号楼群", "url": DING}
    )
    assert response.status_code == 400
    assert "本小区已有同名机器人：一号楼群" in response.content.decode()
    assert Endpoint.objects.count() == 1


def test_switch_off_and_on(as_role, world):
    endpoint = add(world)
    client = as_role(Role.COMPOUND_MANAGER)
    url = reverse("voice:endpoint_active", args=[endpoint.pk])
    row = client.post(url, {"active": "0"}, HTTP_HX_REQUEST="true")
    assert row.status_code == 200
    html = row.content.decode()
    assert html.lstrip().startswith(f'<li class="item endpoint inactive" id="endpoint-{endpoint.pk}">')
    assert "已停用" in html and 'value="1"' in html
    endpoint.refresh_from_db()
    assert not endpoint.active
    response = client.post(url, {"active": "1"})
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.active
    assert client.get(url).status_code == 405


def test_switch_refused_outside_scope(as_role, world):
    other = endpoint_add(
        actor=world.users[Role.PLATFORM_ADMIN],
        compound=world.compound_b,
        kind="wecom",
        name="乙群",
        url=WECOM,
    )
    mine = add(world)
    assert (
        as_role(Role.COMPOUND_MANAGER).post(reverse("voice:endpoint_active", args=[other.pk])).status_code
        == 404
    )
    assert as_role(Role.VOLUNTEER).post(reverse("voice:endpoint_active", args=[mine.pk])).status_code == 403
    assert as_role(Role.RESIDENT).post(reverse("voice:endpoint_active", args=[mine.pk])).status_code == 403
    mine.refresh_from_db()
    assert mine.active


def test_a_signed_dingtalk_robot_gets_the_notice(as_role, world, settings):
    settings.TONGXIN_WEBHOOK_ALLOW_LOCAL = True
    settings.TONGXIN_WEBHOOK_TIMEOUT_SECONDS = 1
    with RobotServer() as robot:
        robot.secret = "SECtest"
        client = as_role(Role.COMPOUND_MANAGER)
        response = client.post(
            page(world),
            {
                "kind": "dingtalk",
                "name": "钉钉群",
                "url": robot.url("/robot/send", "access_token=tok"),
                "secret": "SECtest",
            },
        )
        assert response.status_code == 302
        notice = notice_create(
            actor=manager(world),
            compound=world.compound_a,
            title="清洁通知",
            body="明天消杀",
            channels=["dingtalk"],
        )
        client.post(reverse("voice:notice_send", args=[notice.pk]))
    [received] = robot.received
    assert received["path"] == "/robot/send"
    assert received["sign_ok"] is True
    assert received["json"] == {
        "msgtype": "markdown",
        "markdown": {"title": "清洁通知", "text": "### 清洁通知\n\n明天消杀"},
    }
    assert Delivery.objects.get(notice=notice).status == "sent"
