"""Shared bits of the notices' tests."""

from tongxin.accounts.models import Role
from tongxin.voice.actions.endpoints import endpoint_add


def manager(world):
    return world.users[Role.COMPOUND_MANAGER]


def robot_endpoint(world, robot, kind="wecom", name="一号群", secret=""):
    path = "/cgi-bin/webhook/send" if kind == "wecom" else "/robot/send"
    query = "key=abc123" if kind == "wecom" else "access_token=tok"
    return endpoint_add(
        actor=manager(world),
        compound=world.compound_a,
        kind=kind,
        name=name,
        url=robot.url(path, query),
        secret=secret,
    )
