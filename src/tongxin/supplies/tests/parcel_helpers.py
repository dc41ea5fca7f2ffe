"""What the parcel tests share: photos' first bytes, parcels at each state, risk areas under the
Shanghai rules (sealed / controlled / precaution)."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tongxin.accounts.models import Role
from tongxin.outbreak.actions.areas import area_raise
from tongxin.supplies.actions.parcels import parcel_intake, parcels_disinfect

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 64
GIF = b"GIF89a" + b"\x00" * 64


def upload(data: bytes, name: str = "p.jpg", content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def volunteer(world):
    return world.users[Role.VOLUNTEER]


def intake(world, household=None, *, actor=None, at=None, **fields):
    return parcel_intake(
        actor=actor or volunteer(world),
        compound=(household or world.home_a1).compound,
        household=household or world.home_a1,
        courier=fields.pop("courier", "顺丰"),
        at=at,
        **fields,
    )


def held(world, household=None, *, minutes_ago: int = 0, actor=None):
    """A parcel disinfected `minutes_ago` (with the default 120-minute hold: ready when >= 120)."""
    at = timezone.now() - datetime.timedelta(minutes=minutes_ago)
    parcel = intake(world, household, at=at - datetime.timedelta(minutes=1), actor=actor)
    return parcels_disinfect(actor=actor or volunteer(world), parcels=[parcel.pk], at=at)[0]


@pytest.fixture
def shanghai(settings):
    settings.TONGXIN_RULE_SET = "shanghai-2022"
    settings.TONGXIN_RULES = {}


def raise_area(world, scope: str, level: str, **place):
    return area_raise(
        actor=None,
        compound=world.compound_a,
        scope=scope,
        level=level,
        reason="测试",
        on=timezone.localdate(),
        **place,
    )


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
