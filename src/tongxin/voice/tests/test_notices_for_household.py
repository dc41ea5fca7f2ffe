"""The notices a household reads (the portal's home, notice page and files, the portal API), found
by the database: each audience kind exactly, sealed-only by its author's eyes, newest first, the
home page's latest 20, one notice by the same condition, and queries that do not grow with the
notices."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tongxin.accounts.models import Role
from tongxin.outbreak.actions.areas import area_raise
from tongxin.voice.actions.notices import notice_create
from tongxin.voice.models import Notice
from tongxin.voice.selectors.notices import (
    audience_households,
    notice_for_files,
    notice_for_household,
    notices_for_household,
)
from tongxin.voice.tests.portal_helpers import manager, portal_user
from tongxin.voice.tests.request_helpers import JPEG

pytestmark = pytest.mark.django_db
START = timezone.now() - datetime.timedelta(days=1)


@pytest.fixture
def shanghai(settings):
    """The rule set whose strictest level is 封控 (sealed), lower ones 管控 and 防范."""
    settings.TONGXIN_RULE_SET = "shanghai-2022"
    settings.TONGXIN_RULES = {}


class Notices:
    """Notices published a minute apart (so that "newest first" is one order), by the manager
    unless told."""

    def __init__(self, world):
        self.world = world
        self.minute = 0

    def __call__(self, title, audience="compound", ids=(), actor=None, compound=None, **fields):
        self.minute += 1
        return notice_create(
            actor=actor or manager(self.world),
            compound=compound or self.world.compound_a,
            title=title,
            body=f"{title}的正文",
            audience=audience,
            audience_ids=list(ids),
            now=START + datetime.timedelta(minutes=self.minute),
            **fields,
        )


@pytest.fixture
def notices(world):
    return Notices(world)


def raise_area(world, scope, level, **place):
    return area_raise(
        actor=None,
        compound=world.compound_a,
        scope=scope,
        level=level,
        reason="测试",
        on=timezone.localdate(),
        **place,
    )


def titles(found) -> list[str]:
    return [n.title for n in found]


def every_audience(world, notices, n=""):
    """One notice of each audience kind, for and not for 1-1-101 (world.home_a1)."""
    notices(f"全小区{n}")
    notices(f"一号楼{n}", "buildings", [world.a1.pk])
    notices(f"二号楼{n}", "buildings", [world.a2.pk])
    notices(f"两栋楼{n}", "buildings", [world.a2.pk, world.a1.pk])
    notices(f"一号楼一单元{n}", "units", [world.a1u1.pk])
    notices(f"二号楼一单元{n}", "units", [world.a2u1.pk])
    notices(f"101名单{n}", "list", [world.home_a1.pk])
    notices(f"201名单{n}", "list", [world.home_a2.pk])
    notices(f"两户名单{n}", "list", [world.home_a2.pk, world.home_a1.pk])
    notices(f"封控{n}", "sealed")
    notices(f"封控网格{n}", "sealed", actor=world.users[Role.GRID_WORKER])
    notices(f"计划{n}", scheduled_at=timezone.now() + datetime.timedelta(hours=2))
    notices(f"乙小区{n}", compound=world.compound_b, actor=world.users[Role.PLATFORM_ADMIN])


# -- each audience kind ---------------------------------------------------------------------------


def test_each_audience_kind_reaches_exactly_its_households(world, notices):
    every_audience(world, notices)
    resident = world.users[Role.RESIDENT]
    assert titles(notices_for_household(resident, world.home_a1)) == [
        "两户名单",
        "101名单",
        "一号楼一单元",
        "两栋楼",
        "一号楼",
        "全小区",
    ]
    assert titles(notices_for_household(manager(world), world.home_a2)) == [
        "两户名单",
        "201名单",
        "二号楼一单元",
        "两栋楼",
        "二号楼",
        "全小区",
    ]
    assert titles(notices_for_household(world.users[Role.PLATFORM_ADMIN], world.home_b)) == ["乙小区"]


def test_the_same_households_as_the_notices_audience(world, notices, shanghai):
    """Whatever the kind, a household reads a notice exactly when the notice reaches it (the
    households its SMS and robots count), sealed homes included."""
    raise_area(world, "household", "sealed", household=world.home_a2)
    every_audience(world, notices)
    for home in (world.home_a1, world.home_a2):
        read = {n.pk for n in notices_for_household(manager(world), home)}
        published = Notice.objects.filter(compound=world.compound_a, published_at__isnull=False)
        assert read == {n.pk for n in published if home.pk in audience_households(n)}


def test_ids_written_as_text_and_ids_that_only_look_alike(world, notices):
    """Older rows may hold the ids as text ("12"); an id is matched whole (1 is not 11)."""
    as_text = notices("楼号为文字", "buildings", [world.a1.pk])
    Notice.objects.filter(pk=as_text.pk).update(audience_ids=[str(world.a1.pk)])
    other = notices("别的编号", "list", [world.home_a2.pk])
    Notice.objects.filter(pk=other.pk).update(
        audience_ids=[world.home_a1.pk * 10 + 1, world.home_a1.pk + 1000, str(world.home_a1.pk * 10)]
    )
    assert titles(notices_for_household(world.users[Role.RESIDENT], world.home_a1)) == ["楼号为文字"]


def test_a_scheduled_notice_appears_once_published(world, notices):
    later = notices("计划", scheduled_at=timezone.now() + datetime.timedelta(hours=1))
    resident = world.users[Role.RESIDENT]
    assert notices_for_household(resident, world.home_a1) == []
    Notice.objects.filter(pk=later.pk).update(published_at=timezone.now())
    assert titles(notices_for_household(resident, world.home_a1)) == ["计划"]


# -- sealed-only ----------------------------------------------------------------------------------


def test_sealed_only_follows_the_strictest_level_now(world, notices, shanghai):
    notices("封控", "sealed")
    resident = world.users[Role.RESIDENT]
    assert notices_for_household(resident, world.home_a1) == []
    raise_area(world, "building", "controlled", building=world.a1)
    assert notices_for_household(resident, world.home_a1) == []
    raise_area(world, "unit", "sealed", unit=world.a1u1)
    assert titles(notices_for_household(resident, world.home_a1)) == ["封控"]
    assert notices_for_household(manager(world), world.home_a2) == []
    raise_area(world, "compound", "sealed")
    assert titles(notices_for_household(manager(world), world.home_a2)) == ["封控"]


def test_sealed_only_by_its_authors_eyes(world, notices, shanghai):
    """The grid worker of building 1 does not see building 2's area: his sealed-only notice does
    not reach 2-1-201, sealed by it, while the manager's does; a notice of no author reaches no
    one; the grid worker's notice reaches a home of his building."""
    raise_area(world, "building", "sealed", building=world.a2)
    raise_area(world, "household", "sealed", household=world.home_a1)
    notices("经理的封控通知", "sealed")
    notices("网格员的封控通知", "sealed", actor=world.users[Role.GRID_WORKER])
    orphan = notices("作者已删除", "sealed")
    Notice.objects.filter(pk=orphan.pk).update(created_by=None)
    assert titles(notices_for_household(manager(world), world.home_a2)) == ["经理的封控通知"]
    assert titles(notices_for_household(world.users[Role.RESIDENT], world.home_a1)) == [
        "网格员的封控通知",
        "经理的封控通知",
    ]
    # The latest one, by limit and by pk, read by the same condition.
    assert titles(notices_for_household(manager(world), world.home_a2, limit=1)) == ["经理的封控通知"]
    grid_notice = Notice.objects.get(title="网格员的封控通知")
    with pytest.raises(Http404):
        notice_for_household(manager(world), world.home_a2, grid_notice.pk)
    assert notice_for_household(manager(world), world.home_a1, grid_notice.pk) == grid_notice


# -- the home page's latest 20 and one notice ---------------------------------------------------------


def test_the_latest_twenty_and_each_older_one_still_opens(client, world, notices):
    for n in range(25):
        notices(f"第{n}号通知")
    notices("二号楼的", "buildings", [world.a2.pk])
    resident = world.users[Role.RESIDENT]
    latest = notices_for_household(resident, world.home_a1, limit=20)
    assert titles(latest) == [f"第{n}号通知" for n in range(24, 4, -1)]
    assert len(notices_for_household(resident, world.home_a1)) == 25
    client.force_login(portal_user(world))
    html = client.get(reverse("portal:home")).content.decode()
    assert "第24号通知" in html and "第5号通知" in html and "第4号通知" not in html
    oldest = Notice.objects.get(title="第0号通知")
    page = client.get(reverse("portal:notice", args=[oldest.pk]))
    assert page.status_code == 200 and "第0号通知的正文" in page.content.decode()
    elsewhere = Notice.objects.get(title="二号楼的")
    assert client.get(reverse("portal:notice", args=[elsewhere.pk])).status_code == 404
    data = client.get("/api/v1/voice/portal/").json()
    assert [n["title"] for n in data["notices"]] == titles(latest)


def test_one_notice_by_the_same_condition(world, notices):
    mine = notices("一单元", "units", [world.a1u1.pk])
    theirs = notices("二号楼", "buildings", [world.a2.pk])
    later = notices("计划", scheduled_at=timezone.now() + datetime.timedelta(hours=1))
    other = notices("乙小区", compound=world.compound_b, actor=world.users[Role.PLATFORM_ADMIN])
    resident = world.users[Role.RESIDENT]
    assert notice_for_household(resident, world.home_a1, mine.pk) == mine
    for refused in (theirs, later, other):
        with pytest.raises(Http404):
            notice_for_household(resident, world.home_a1, refused.pk)
    with pytest.raises(Http404):
        notice_for_household(resident, world.home_a2, theirs.pk)  # another household's
    assert notice_for_household(manager(world), world.home_a2, theirs.pk) == theirs
    with pytest.raises(Http404):
        notice_for_household(manager(world), world.home_b, other.pk)


def test_a_notices_files_open_for_the_households_it_reaches(client, world, notices):
    image = {"image": SimpleUploadedFile("p.jpg", JPEG, content_type="image/jpeg")}
    mine = notices("一号楼图片", "buildings", [world.a1.pk], **image)
    image = {"image": SimpleUploadedFile("p.jpg", JPEG, content_type="image/jpeg")}
    theirs = notices("二号楼图片", "buildings", [world.a2.pk], **image)
    resident = world.users[Role.RESIDENT]
    assert notice_for_files(resident, mine.pk) == mine
    with pytest.raises(Http404):
        notice_for_files(resident, theirs.pk)
    client.force_login(portal_user(world))
    assert client.get(reverse("voice:notice_image", args=[mine.pk]))["Content-Type"] == "image/jpeg"
    assert client.get(reverse("voice:notice_image", args=[theirs.pk])).status_code == 404


# -- queries ----------------------------------------------------------------------------------------


def test_one_query_while_nothing_is_sealed(world, notices, django_assert_num_queries, shanghai):
    every_audience(world, notices)
    resident = world.users[Role.RESIDENT]
    with django_assert_num_queries(1):
        assert len(notices_for_household(resident, world.home_a1, limit=20)) == 6
    everyone = Notice.objects.get(title="全小区")
    with django_assert_num_queries(1):
        assert notice_for_household(resident, world.home_a1, everyone.pk) == everyone


def test_a_sealed_home_reads_its_authors_eyes_once(world, notices, django_assert_num_queries, shanghai):
    raise_area(world, "building", "sealed", building=world.a1)
    every_audience(world, notices, "甲")
    every_audience(world, notices, "乙")
    resident = world.users[Role.RESIDENT]
    # The notices, the sealed-only notices' authors, the grid worker's buildings, what each sees.
    with django_assert_num_queries(4):
        found = notices_for_household(resident, world.home_a1)
    assert len(found) == 16 and titles(found)[:2] == ["封控网格乙", "封控乙"]


@pytest.mark.parametrize("sealed", [False, True])
def test_the_portal_home_does_not_grow_with_the_notices(
    client, world, notices, django_assert_num_queries, shanghai, sealed
):
    """The home page with 69 notices of every audience costs the queries it costs with 2 (by the
    same authors: a sealed home reads what each author of a sealed-only notice sees, and the grid
    worker's buildings once)."""
    if sealed:
        raise_area(world, "building", "sealed", building=world.a1)
    notices("全小区")
    notices("封控", "sealed", actor=world.users[Role.GRID_WORKER])
    client.force_login(portal_user(world))
    client.get(reverse("portal:home"))  # the members' statuses computed once
    with CaptureQueriesContext(connection) as two:
        assert client.get(reverse("portal:home")).status_code == 200
    for n in range(5):
        every_audience(world, notices, str(n))
    notices("最后的全小区")
    notices("最后的一号楼", "buildings", [world.a1.pk])
    assert Notice.objects.count() == 2 + 5 * 13 + 2
    with django_assert_num_queries(len(two.captured_queries)):
        html = client.get(reverse("portal:home")).content.decode()
    assert html.count('href="/portal/notices/') == 20
    assert ("封控4" in html) is sealed and "最后的一号楼" in html and "二号楼" not in html
