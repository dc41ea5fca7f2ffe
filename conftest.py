"""Fixtures shared by every app's tests: a small world of two compounds and one user per role."""

import datetime

import pytest

from tongxin.accounts.models import Role


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Argon2 stays the production hasher (tested in accounts); tests hash fast."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _default_language():
    """LocaleMiddleware leaves the request's language active in the thread: start each test in Chinese."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(scope="session", autouse=True)
def _close_leftover_connections(django_db_setup, django_db_blocker):
    """The browser tests' live-server threads can leave a PostgreSQL session open on the test
    database, which then cannot be dropped at the end of the run: end such sessions first."""
    yield
    from django.db import connection

    if connection.vendor == "postgresql":
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )


@pytest.fixture(autouse=True)
def _isolated_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def world(db):
    """Two compounds in two communities of one district; three residents in A, one in B."""
    from tongxin.registry import actions
    from tongxin.registry.tests.factories import id_number, make_resident, make_user

    city = actions.area_ensure(level="city", code="150100", name="呼和浩特市")
    district = actions.area_ensure(level="district", code="150105", name="赛罕区", parent=city)
    street = actions.area_ensure(level="subdistrict", code="150105001", name="测试街道", parent=district)
    community_a = actions.area_ensure(level="community", code="150105001001", name="甲社区", parent=street)
    community_b = actions.area_ensure(level="community", code="150105001002", name="乙社区", parent=street)
    compound_a = actions.compound_ensure(code="A", name="甲小区", community=community_a)
    compound_b = actions.compound_ensure(code="B", name="乙小区", community=community_b)
    a1 = actions.building_ensure(compound=compound_a, number="1")
    a2 = actions.building_ensure(compound=compound_a, number="2")
    b1 = actions.building_ensure(compound=compound_b, number="1")
    a1u1 = actions.unit_ensure(building=a1, number="1")
    a2u1 = actions.unit_ensure(building=a2, number="1")
    b1u1 = actions.unit_ensure(building=b1, number="1")
    home_a1 = actions.household_ensure(unit=a1u1, room="101")
    home_a2 = actions.household_ensure(unit=a2u1, room="201")
    home_b = actions.household_ensure(unit=b1u1, room="101")
    elder = make_resident(
        home_a1,
        name="王秀兰",
        document_number=id_number(datetime.date(1948, 3, 15), male=False),
        phone="13812345678",
        relation="head",
        lives_alone=True,
    )
    child = make_resident(
        home_a1, name="王小明", birth=datetime.date(2015, 6, 1), phone="", relation="grandchild"
    )
    neighbour = make_resident(home_a2, name="李建国", phone="13900001111", relation="head", veteran=True)
    stranger = make_resident(home_b, name="赵四", phone="13700002222", relation="head")
    users = {
        Role.PLATFORM_ADMIN: make_user(
            Role.PLATFORM_ADMIN, username="admin", is_staff=True, is_superuser=True
        ),
        Role.OFFICIAL: make_user(Role.OFFICIAL, username="official", area=community_a),
        Role.COMPOUND_MANAGER: make_user(Role.COMPOUND_MANAGER, username="manager", compound=compound_a),
        Role.GRID_WORKER: make_user(Role.GRID_WORKER, username="grid", compound=compound_a, buildings=[a1]),
        Role.VOLUNTEER: make_user(Role.VOLUNTEER, username="volunteer", compound=compound_a),
        Role.RESIDENT: make_user(Role.RESIDENT, username="resident", household=home_a1),
    }

    class World:
        pass

    w = World()
    w.__dict__.update(
        city=city,
        district=district,
        community_a=community_a,
        community_b=community_b,
        compound_a=compound_a,
        compound_b=compound_b,
        a1=a1,
        a2=a2,
        b1=b1,
        a1u1=a1u1,
        a2u1=a2u1,
        b1u1=b1u1,
        home_a1=home_a1,
        home_a2=home_a2,
        home_b=home_b,
        elder=elder,
        child=child,
        neighbour=neighbour,
        stranger=stranger,
        users=users,
    )
    return w
