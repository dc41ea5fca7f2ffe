"""Small builders shared by the voice tests."""

import datetime

from django.utils import timezone

from tongxin.accounts.models import Role
from tongxin.voice.actions.requests import request_create
from tongxin.voice.models import QuestionGroup, Request

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 60
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 60
WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 60
PDF = b"%PDF-1.7\n" + b"0" * 60

# The roles of a compound's team (who may open its voice pages).
STAFF = [Role.PLATFORM_ADMIN, Role.OFFICIAL, Role.COMPOUND_MANAGER, Role.GRID_WORKER, Role.VOLUNTEER]


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


def ago(minutes: int) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(minutes=minutes)


def seven_questions(world) -> list:
    """(text, household) of seven requests of compound A: three ask when it unseals, three whether
    parcels get in, one needs medicine."""
    return [
        ("什么时候解封", world.home_a1),
        ("快递能进吗", None),
        ("我家老人需要降压药", world.home_a1),
        ("小区啥时候能解封啊", world.home_a2),
        ("快递可以送进小区吗", world.home_a2),
        ("请问几号解封？", None),
        ("快递能不能进来", world.home_a1),
    ]


def other_compound_group(world):
    """(a common-question group of compound B, its two requests): out of reach of compound A's team."""
    theirs = [
        make_request(
            world,
            compound=world.compound_b,
            household=world.home_b,
            text=t,
            actor=world.users[Role.PLATFORM_ADMIN],
        )
        for t in ("什么时候解封", "几号解封")
    ]
    group = QuestionGroup.objects.create(compound=world.compound_b, label="什么时候解封")
    Request.objects.filter(pk__in=[r.pk for r in theirs]).update(group=group)
    return group, theirs
