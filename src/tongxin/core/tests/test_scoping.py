import pytest

from tongxin.accounts.models import Role
from tongxin.registry import selectors


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (Role.PLATFORM_ADMIN, {"王秀兰", "王小明", "李建国", "赵四"}),
        (Role.OFFICIAL, {"王秀兰", "王小明", "李建国"}),
        (Role.COMPOUND_MANAGER, {"王秀兰", "王小明", "李建国"}),
        (Role.GRID_WORKER, {"王秀兰", "王小明"}),
        (Role.VOLUNTEER, {"王秀兰", "王小明", "李建国"}),
        (Role.RESIDENT, {"王秀兰", "王小明"}),
    ],
)
def test_each_role_sees_only_its_residents(world, role, expected):
    names = set(selectors.residents_visible(world.users[role]).values_list("name", flat=True))
    assert names == expected


def test_official_of_the_district_sees_both_compounds(world):
    world.users[Role.OFFICIAL].area = world.district
    world.users[Role.OFFICIAL].save()
    codes = set(selectors.compounds_visible(world.users[Role.OFFICIAL]).values_list("code", flat=True))
    assert codes == {"A", "B"}


def test_other_compound_is_not_found(world):
    from django.http import Http404

    with pytest.raises(Http404):
        selectors.resident_get(world.users[Role.COMPOUND_MANAGER], world.stranger.pk)
    with pytest.raises(Http404):
        selectors.compound_get(world.users[Role.GRID_WORKER], world.compound_b.pk)


def test_inactive_user_sees_nothing(world):
    user = world.users[Role.PLATFORM_ADMIN]
    user.is_active = False
    assert selectors.residents_visible(user).count() == 0
