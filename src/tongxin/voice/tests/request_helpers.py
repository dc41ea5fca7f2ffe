"""Small builders shared by the requests and hotline tests."""

from tongxin.accounts.models import Role
from tongxin.voice.actions.requests import request_create

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 60
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 60
WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 60
PDF = b"%PDF-1.7\n" + b"0" * 60


def manager(world):
    return world.users[Role.COMPOUND_MANAGER]


def make_request(world, *, household=None, text="想问一下什么时候解封", channel="group", **fields):
    return request_create(
        actor=fields.pop("actor", None) or manager(world),
        compound=fields.pop("compound", None) or world.compound_a,
        channel=channel,
        text=text,
        household=household,
        **fields,
    )
