import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from tongxin.accounts.models import Role
from tongxin.core import crypto
from tongxin.core.documents import id_check_char, make_mainland_id
from tongxin.core.models import AuditLog
from tongxin.registry import actions
from tongxin.registry.models import Resident
from tongxin.registry.tests.factories import id_number


def register(world, **fields):
    defaults = {"actor": world.users[Role.COMPOUND_MANAGER], "household": world.home_a2, "name": "刘芳"}
    return actions.resident_register(**{**defaults, **fields})


def errors(excinfo) -> dict:
    return excinfo.value.message_dict


# -- resident_register ------------------------------------------------------------------------


def test_register_derives_birth_date_and_sex_and_protects_the_numbers(world):
    number = make_mainland_id("150105", datetime.date(1985, 7, 9), 123)
    resident = register(world, document_number=number, phone="13512345678", relation="spouse")

    resident.refresh_from_db()
    assert (resident.birth_date, resident.sex) == (datetime.date(1985, 7, 9), "M")
    assert resident.document_masked == "150105********" + number[-4:]
    assert resident.phone_masked == "135****5678"
    assert crypto.decrypt(resident.document_cipher) == number
    assert crypto.decrypt(resident.phone_cipher) == "13512345678"
    assert resident.document_hash == actions.document_lookup_hash("mainland_id", number)
    assert (resident.unit_id, resident.building_id, resident.compound_id) == (
        world.a2u1.pk,
        world.a2.pk,
        world.compound_a.pk,
    )
    rows = list(
        AuditLog.objects.filter(action="create", object_id=str(resident.pk)).values_list(
            "actor__username", "fields"
        )
    )
    assert rows == [("manager", "resident")]


def test_register_refuses_a_bad_check_character(world):
    first17 = "15010519800517001"
    wrong = "0" if id_check_char(first17) != "0" else "1"
    with pytest.raises(ValidationError) as excinfo:
        register(world, document_number=first17 + wrong)
    assert errors(excinfo) == {"document_number": [f"身份证号校验位错误：应为{id_check_char(first17)}"]}
    assert Resident.objects.filter(name="刘芳").count() == 0


def test_register_refuses_an_impossible_birth_date(world):
    first17 = "15010519790230001"
    with pytest.raises(ValidationError) as excinfo:
        register(world, document_number=first17 + id_check_char(first17))
    assert errors(excinfo) == {"document_number": ["身份证号中的出生日期不存在：19790230"]}


def test_register_refuses_an_unknown_region(world):
    first17 = "99999919800517001"
    with pytest.raises(ValidationError) as excinfo:
        register(world, document_number=first17 + id_check_char(first17))
    assert errors(excinfo) == {"document_number": ["身份证号的地区码未知：999999"]}


def test_register_accepts_an_elder_whose_district_code_is_younger_than_them(world):
    """赛罕区 (150105) was created long after 1948; the code records where the number was issued."""
    number = make_mainland_id("150105", datetime.date(1948, 1, 2), 22)
    resident = register(world, document_number=number)
    assert (resident.birth_date, resident.sex, resident.is_elderly) == (datetime.date(1948, 1, 2), "F", True)
    assert resident.tags() == ["老年人"]


def test_register_accepts_a_lower_case_x_and_full_width_digits(world):
    first17 = "11010119900101002"
    check = id_check_char(first17)
    typed = "".join(chr(ord(c) + 0xFEE0) for c in first17) + check.lower()
    resident = register(world, document_number=typed)
    assert crypto.decrypt(resident.document_cipher) == first17 + check


def test_register_accepts_a_passport(world):
    resident = register(world, document_type="passport", document_number=" e1234 5678 ")
    assert (resident.document_type, resident.document_masked, resident.birth_date, resident.sex) == (
        "passport",
        "E1*****78",
        None,
        "",
    )
    assert crypto.decrypt(resident.document_cipher) == "E12345678"


def test_register_refuses_a_duplicate_document_and_says_where_the_other_is(world):
    number = crypto.decrypt(world.stranger.document_cipher)
    with pytest.raises(ValidationError) as excinfo:
        register(world, document_number=number, actor=None)
    assert errors(excinfo) == {"document_number": ["该证件号码已登记：乙小区1号楼1单元101室"]}
    assert Resident.objects.count() == 4


def test_register_does_not_tell_where_a_duplicate_lives_outside_the_actors_area(world):
    number = crypto.decrypt(world.stranger.document_cipher)
    with pytest.raises(ValidationError) as excinfo:
        register(world, document_number=number, actor=world.users[Role.COMPOUND_MANAGER])
    assert errors(excinfo) == {"document_number": ["该证件号码已在其他小区登记"]}
    assert Resident.objects.count() == 4


@pytest.mark.parametrize(
    ("typed", "stored", "masked"),
    [
        ("13812340000", "13812340000", "138****0000"),
        ("１３８１２３４００００", "13812340000", "138****0000"),
        ("+86 138 1234 0000", "13812340000", "138****0000"),
        ("0086-138-1234-0000", "13812340000", "138****0000"),
        ("8613812340000", "13812340000", "138****0000"),
        ("13812340000.0", "13812340000", "138****0000"),
        ("", "", ""),
    ],
)
def test_register_normalises_the_phone(world, typed, stored, masked):
    resident = register(world, document_number=id_number(), phone=typed)
    assert (crypto.decrypt(resident.phone_cipher), resident.phone_masked) == (stored, masked)
    assert resident.phone_hash == crypto.lookup_hash("phone", stored)


@pytest.mark.parametrize("typed", ["12812345678", "1381234567", "+86", "phone", "٠١٣٨١٢٣٤٠٠٠"])
def test_register_refuses_a_bad_phone(world, typed):
    with pytest.raises(ValidationError) as excinfo:
        register(world, document_number=id_number(), phone=typed)
    assert errors(excinfo) == {"phone": ["手机号格式不对：应为1开头的11位数字"]}


def test_register_refuses_roles_that_do_not_manage_and_grid_workers_outside_their_buildings(world):
    for role in (Role.VOLUNTEER, Role.RESIDENT):
        with pytest.raises(PermissionDenied):
            register(world, actor=world.users[role], document_number=id_number())
    with pytest.raises(PermissionDenied):
        register(world, actor=world.users[Role.GRID_WORKER], document_number=id_number())
    resident = register(
        world, actor=world.users[Role.GRID_WORKER], household=world.home_a1, document_number=id_number()
    )
    assert resident.household_id == world.home_a1.pk


# -- resident_update --------------------------------------------------------------------------


def test_update_audits_the_changed_fields_only(world):
    manager = world.users[Role.COMPOUND_MANAGER]
    resident = actions.resident_update(
        actor=manager, resident=world.neighbour, name="李建国", note="腿脚不便", veteran=True, disabled=True
    )
    resident.refresh_from_db()
    assert (resident.note, resident.veteran, resident.disabled) == ("腿脚不便", True, True)
    rows = list(
        AuditLog.objects.filter(action="update", object_id=str(resident.pk)).values_list(
            "actor__username", "fields"
        )
    )
    assert rows == [("manager", "note,disabled")]


def test_update_that_changes_nothing_writes_nothing(world):
    before = Resident.objects.get(pk=world.neighbour.pk).updated_at
    actions.resident_update(
        actor=world.users[Role.COMPOUND_MANAGER],
        resident=world.neighbour,
        name="李建国",
        veteran=True,
        phone="+86 139 0000 1111",
    )
    assert AuditLog.objects.filter(action="update").count() == 0
    assert Resident.objects.get(pk=world.neighbour.pk).updated_at == before


def test_update_changes_and_clears_the_phone(world):
    manager = world.users[Role.COMPOUND_MANAGER]
    actions.resident_update(actor=manager, resident=world.neighbour, phone="15000001111")
    world.neighbour.refresh_from_db()
    assert (world.neighbour.phone_masked, crypto.decrypt(world.neighbour.phone_cipher)) == (
        "150****1111",
        "15000001111",
    )
    actions.resident_update(actor=manager, resident=world.neighbour, phone="")
    world.neighbour.refresh_from_db()
    assert (world.neighbour.phone_masked, world.neighbour.phone_cipher, world.neighbour.phone_hash) == (
        "",
        "",
        "",
    )
    assert list(AuditLog.objects.filter(action="update").values_list("fields", flat=True)) == [
        "phone",
        "phone",
    ]


def test_update_refuses_a_grid_worker_outside_their_buildings(world):
    with pytest.raises(PermissionDenied):
        actions.resident_update(actor=world.users[Role.GRID_WORKER], resident=world.neighbour, note="x")
    assert Resident.objects.get(pk=world.neighbour.pk).note == ""


def test_update_reports_invalid_values_per_field(world):
    with pytest.raises(ValidationError) as excinfo:
        actions.resident_update(
            actor=world.users[Role.COMPOUND_MANAGER], resident=world.neighbour, relation="cousin"
        )
    assert list(errors(excinfo)) == ["relation"]


# -- resident_move ----------------------------------------------------------------------------


def test_move_carries_unit_building_and_compound_and_is_audited(world):
    manager = world.users[Role.COMPOUND_MANAGER]
    actions.resident_move(actor=manager, resident=world.child, household=world.home_a2)
    child = Resident.objects.get(pk=world.child.pk)
    assert (child.household_id, child.unit_id, child.building_id, child.compound_id) == (
        world.home_a2.pk,
        world.a2u1.pk,
        world.a2.pk,
        world.compound_a.pk,
    )
    rows = list(AuditLog.objects.filter(action="update").values_list("fields", "detail"))
    assert rows == [("household", {"from": "1号楼1单元101室", "to": "2号楼1单元201室"})]


def test_move_to_the_same_household_writes_nothing(world):
    actions.resident_move(
        actor=world.users[Role.COMPOUND_MANAGER], resident=world.child, household=world.home_a1
    )
    assert AuditLog.objects.filter(action="update").count() == 0


def test_move_refuses_a_household_outside_the_actors_scope(world):
    with pytest.raises(PermissionDenied):
        actions.resident_move(
            actor=world.users[Role.COMPOUND_MANAGER], resident=world.child, household=world.home_b
        )
    with pytest.raises(PermissionDenied):
        actions.resident_move(
            actor=world.users[Role.GRID_WORKER], resident=world.child, household=world.home_a2
        )
    assert Resident.objects.get(pk=world.child.pk).household_id == world.home_a1.pk


# -- resident_set_presence --------------------------------------------------------------------


def test_presence_records_who_verified_it_and_when(world):
    volunteer = world.users[Role.VOLUNTEER]
    on = timezone.localdate() - datetime.timedelta(days=1)
    actions.resident_set_presence(actor=volunteer, resident=world.neighbour, presence="away", on=on)
    resident = Resident.objects.get(pk=world.neighbour.pk)
    assert (resident.presence, resident.presence_verified_on, resident.presence_verified_by_id) == (
        "away",
        on,
        volunteer.pk,
    )
    assert list(AuditLog.objects.filter(action="update").values_list("fields", "detail")) == [
        ("presence", {"presence": "away"})
    ]


def test_presence_defaults_to_today(world):
    actions.resident_set_presence(
        actor=world.users[Role.GRID_WORKER], resident=world.elder, presence="living"
    )
    assert Resident.objects.get(pk=world.elder.pk).presence_verified_on == timezone.localdate()


def test_presence_in_the_future_or_unknown_is_refused(world):
    manager = world.users[Role.COMPOUND_MANAGER]
    with pytest.raises(ValidationError) as excinfo:
        actions.resident_set_presence(
            actor=manager,
            resident=world.elder,
            presence="living",
            on=timezone.localdate() + datetime.timedelta(days=1),
        )
    assert excinfo.value.messages == ["核实日期不能晚于今天"]
    with pytest.raises(ValidationError) as excinfo:
        actions.resident_set_presence(actor=manager, resident=world.elder, presence="gone")
    assert excinfo.value.messages == ["未知的居住状态：gone"]
    assert Resident.objects.get(pk=world.elder.pk).presence == "unverified"


def test_presence_is_refused_to_residents_and_outside_scope(world):
    with pytest.raises(PermissionDenied):
        actions.resident_set_presence(
            actor=world.users[Role.RESIDENT], resident=world.elder, presence="living"
        )
    with pytest.raises(PermissionDenied):
        actions.resident_set_presence(
            actor=world.users[Role.GRID_WORKER], resident=world.neighbour, presence="living"
        )
    assert AuditLog.objects.exclude(action="create").count() == 0


# -- resident_reveal --------------------------------------------------------------------------


def test_reveal_returns_the_value_and_writes_one_audit_row(world):
    grid = world.users[Role.GRID_WORKER]
    value = actions.resident_reveal(
        actor=grid, resident=world.elder, field="phone", reason="上门核实", ip="10.0.0.9"
    )
    assert value == "13812345678"
    rows = list(
        AuditLog.objects.exclude(action="create").values_list(
            "actor__username", "action", "object_type", "object_id", "fields", "reason", "ip"
        )
    )
    assert rows == [
        ("grid", "reveal", "registry.resident", str(world.elder.pk), "phone", "上门核实", "10.0.0.9")
    ]


def test_reveal_is_refused_to_volunteers_and_needs_a_reason(world):
    with pytest.raises(PermissionDenied):
        actions.resident_reveal(
            actor=world.users[Role.VOLUNTEER], resident=world.elder, field="document", reason=""
        )
    with pytest.raises(ValidationError) as excinfo:
        actions.resident_reveal(
            actor=world.users[Role.COMPOUND_MANAGER], resident=world.elder, field="document", reason=" "
        )
    assert excinfo.value.messages == ["请填写查看原因"]
    with pytest.raises(ValidationError) as excinfo:
        actions.resident_reveal(
            actor=world.users[Role.COMPOUND_MANAGER], resident=world.elder, field="name", reason="核实身份"
        )
    assert excinfo.value.messages == ["不能查看该字段"]
    assert AuditLog.objects.exclude(action="create").count() == 0


def test_a_resident_may_reveal_their_own_household_only(world):
    resident_user = world.users[Role.RESIDENT]
    number = crypto.decrypt(world.child.document_cipher)
    assert (
        actions.resident_reveal(
            actor=resident_user, resident=world.child, field="document", reason="办理业务"
        )
        == number
    )
    with pytest.raises(PermissionDenied):
        actions.resident_reveal(
            actor=resident_user, resident=world.neighbour, field="document", reason="办理业务"
        )
    assert AuditLog.objects.filter(action="reveal").count() == 1


def test_factory_id_numbers_stay_valid_through_a_whole_cycle():
    """The factories' sequence once reached 1000 for women (four digits): an invalid number, a flaky world."""
    from tongxin.core.documents import parse_mainland_id

    numbers = [id_number(datetime.date(1948, 3, 15), male=male) for male in (False, True) for _ in range(501)]
    assert [n for n in numbers if len(n) != 18 or parse_mainland_id(n).number != n] == []


def test_make_mainland_id_refuses_a_sequence_of_four_digits():
    with pytest.raises(ValueError, match="0-999"):
        make_mainland_id("150105", datetime.date(1980, 1, 1), 1000)
