"""Factories for registry tests: valid ID numbers and phones, places built top-down."""

import datetime
import itertools

import factory

from tongxin.accounts.models import Role, User
from tongxin.core.documents import make_mainland_id
from tongxin.registry import actions
from tongxin.registry.models import Area, Building, Compound, Household, Resident, Unit

_sequence = itertools.count(1)


def id_number(
    birth: datetime.date = datetime.date(1980, 5, 17), region: str = "150105", male: bool = True
) -> str:
    """A fresh valid mainland ID number; each call gives another sequence."""
    n = next(_sequence) % 500
    return make_mainland_id(region, birth, n * 2 + 1 if male else n * 2)


def phone_number() -> str:
    return f"139{next(_sequence):08d}"


class AreaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Area
        django_get_or_create = ("code",)

    level = Area.Level.COMMUNITY
    code = factory.Sequence(lambda n: f"150105{n:06d}")
    name = factory.Sequence(lambda n: f"社区{n}")


class CompoundFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Compound

    code = factory.Sequence(lambda n: f"C{n:04d}")
    name = factory.Sequence(lambda n: f"测试{n}小区")
    community = factory.SubFactory(AreaFactory)


class BuildingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Building

    compound = factory.SubFactory(CompoundFactory)
    number = factory.Sequence(lambda n: str(n + 1))


class UnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Unit

    building = factory.SubFactory(BuildingFactory)
    number = factory.Sequence(lambda n: str(n % 6 + 1))


class HouseholdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Household

    unit = factory.SubFactory(UnitFactory)
    room = factory.Sequence(lambda n: str(101 + n))


def make_resident(
    household: Household | None = None, *, name: str = "张三", birth=None, phone=None, **fields
) -> Resident:
    """Register a resident through the action, as the system (no acting user)."""
    household = household or HouseholdFactory()
    return actions.resident_register(
        actor=None,
        household=household,
        name=name,
        document_number=fields.pop("document_number", None) or id_number(birth or datetime.date(1980, 5, 17)),
        phone=phone if phone is not None else phone_number(),
        **fields,
    )


def make_user(role: str, *, username: str | None = None, **scope) -> User:
    buildings = scope.pop("buildings", [])
    user = User.objects.create_user(
        username=username or f"{role}-{next(_sequence)}", password="pw-for-tests-only", role=role, **scope
    )
    if buildings:
        user.buildings.set(buildings)
    return user


ROLES = Role
