"""The portal's login actions: codes sent by SMS (no enumeration, limits, hashed, single use, few
tries, expiry), the resident's account, the household's signed link and its reveal."""

import datetime
import time

import pytest
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone

from tongxin.access.actions.passes import pass_issue, pass_revoke
from tongxin.access.models import Pass
from tongxin.accounts.models import Role
from tongxin.core.models import AuditLog
from tongxin.registry.actions import household_ensure
from tongxin.registry.models import Resident
from tongxin.registry.tests.factories import make_resident, make_user
from tongxin.voice.actions import portal as actions
from tongxin.voice.models import PortalCode
from tongxin.voice.tests.portal_helpers import issue_pass, manager, recording_sms, sent_code

ELDER_PHONE = "13812345678"
NOBODY_PHONE = "13011112222"


@pytest.fixture
def sms(settings):
    return recording_sms(settings)


def codes(error: ValidationError) -> list[str]:
    return [e.code for errors in error.error_dict.values() for e in errors]


# -- sending ---------------------------------------------------------------------------------------


def test_a_known_phone_gets_one_sms_with_a_six_digit_code_kept_only_hashed(world, sms):
    sent = actions.portal_code_send(phone="+86 138-1234-5678", address="10.0.0.1")
    assert (sent.phone_masked, sent.minutes) == ("138****5678", 5)
    assert len(sms) == 1
    phones, text = sms[0]
    assert phones == [ELDER_PHONE]
    code = sent_code(sms, ELDER_PHONE)
    assert text == f"【同心】您的居民端登录验证码是{code}，5分钟内有效。请勿告诉他人。"
    row = PortalCode.objects.get()
    assert code not in row.code_hash and ELDER_PHONE not in row.phone_hash
    assert (row.attempts, row.used_at, row.address) == (0, None, "10.0.0.1")
    assert row.expires_at - row.created_at == datetime.timedelta(minutes=5)
    log = AuditLog.objects.get(action="portal_code")
    assert (log.object_label, log.ip, log.detail) == ("138****5678", "10.0.0.1", {"known": True})


def test_an_unknown_phone_gets_the_same_answer_and_no_sms(world, sms):
    known = actions.portal_code_send(phone=ELDER_PHONE)
    unknown = actions.portal_code_send(phone=NOBODY_PHONE)
    assert unknown.minutes == known.minutes and unknown.phone_masked == "130****2222"
    assert [phones for phones, _text in sms] == [[ELDER_PHONE]]
    assert PortalCode.objects.count() == 2


def test_a_moved_out_resident_is_not_sent_a_code(world, sms):
    Resident.objects.filter(pk=world.elder.pk).update(presence=Resident.Presence.MOVED_OUT)
    actions.portal_code_send(phone=ELDER_PHONE)
    assert sms == []


@pytest.mark.parametrize("phone", ["", "12345", "0471-1234567", "138123456789", "一三八"])
def test_a_phone_that_is_not_a_mobile_is_refused(world, sms, phone):
    with pytest.raises(ValidationError) as error:
        actions.portal_code_send(phone=phone)
    assert error.value.message_dict == {"phone": ["请输入11位手机号"]}
    assert not PortalCode.objects.exists() and sms == []


@pytest.mark.parametrize("phone", [ELDER_PHONE, NOBODY_PHONE])
def test_sending_is_limited_per_phone_the_same_for_known_and_unknown(world, sms, phone):
    now = timezone.now()
    actions.portal_code_send(phone=phone, now=now)
    with pytest.raises(ValidationError) as error:
        actions.portal_code_send(phone=phone, now=now + datetime.timedelta(seconds=30))
    assert codes(error.value) == ["too_soon"]
    for n in range(1, 5):
        actions.portal_code_send(phone=phone, now=now + datetime.timedelta(seconds=61 * n))
    with pytest.raises(ValidationError) as error:
        actions.portal_code_send(phone=phone, now=now + datetime.timedelta(seconds=61 * 5))
    assert codes(error.value) == ["too_many_codes"]
    assert error.value.messages == ["获取验证码太频繁，请一小时后再试"]
    assert PortalCode.objects.count() == 5
    actions.portal_code_send(phone=phone, now=now + datetime.timedelta(minutes=61))
    assert PortalCode.objects.count() == 6


def test_sending_is_limited_per_address(world, sms):
    now = timezone.now()
    for n in range(20):
        actions.portal_code_send(phone=f"1301111{n:04d}", address="10.0.0.9", now=now)
    with pytest.raises(ValidationError) as error:
        actions.portal_code_send(phone=ELDER_PHONE, address="10.0.0.9", now=now)
    assert codes(error.value) == ["too_many_codes"]
    assert sms == []
    actions.portal_code_send(phone=ELDER_PHONE, address="10.0.0.10", now=now)
    assert len(sms) == 1


def test_a_gateway_failure_answers_as_if_sent(world, settings):
    settings.TONGXIN_SMS_PROVIDER = "tongxin.voice.tests.test_portal_actions.BrokenSms"
    sent = actions.portal_code_send(phone=ELDER_PHONE)
    assert sent.phone_masked == "138****5678"
    assert PortalCode.objects.count() == 1


class BrokenSms:
    def send(self, phones, text):
        raise ConnectionError("gateway down")


# -- verifying -------------------------------------------------------------------------------------


def test_the_right_code_gives_the_phones_residents_once(world, sms):
    actions.portal_code_send(phone=ELDER_PHONE)
    code = sent_code(sms, ELDER_PHONE)
    found = actions.portal_code_verify(phone=ELDER_PHONE, code=f" {code[:3]} {code[3:]} ")
    assert [(r.pk, r.household_id) for r in found] == [(world.elder.pk, world.home_a1.pk)]
    assert PortalCode.objects.get().used_at is not None
    with pytest.raises(ValidationError) as error:
        actions.portal_code_verify(phone=ELDER_PHONE, code=code)
    assert error.value.message_dict == {"code": ["验证码不正确或已过期，请重新获取"]}


def test_a_phone_in_two_households_gives_one_resident_of_each(world, sms):
    other = make_resident(world.home_b, name="王秀兰", phone=ELDER_PHONE, relation="parent")
    make_resident(world.home_a1, name="王大山", phone=ELDER_PHONE, relation="spouse")
    actions.portal_code_send(phone=ELDER_PHONE)
    found = actions.portal_code_verify(phone=ELDER_PHONE, code=sent_code(sms, ELDER_PHONE))
    assert [r.pk for r in found] == [world.elder.pk, other.pk]


def test_wrong_codes_count_and_five_lock_the_code(world, sms):
    actions.portal_code_send(phone=ELDER_PHONE)
    code = sent_code(sms, ELDER_PHONE)
    wrong = f"{(int(code) + 1) % 1000000:06d}"
    for _n in range(5):
        with pytest.raises(ValidationError) as error:
            actions.portal_code_verify(phone=ELDER_PHONE, code=wrong)
        assert codes(error.value) == ["wrong_code"]
    assert PortalCode.objects.get().attempts == 5
    with pytest.raises(ValidationError) as error:
        actions.portal_code_verify(phone=ELDER_PHONE, code=code)
    assert error.value.message_dict == {"code": ["尝试次数过多，请重新获取验证码"]}
    assert AuditLog.objects.filter(action="login_failed").count() == 5
    assert AuditLog.objects.filter(action="login_blocked").count() == 1


def test_an_expired_code_is_refused(world, sms):
    actions.portal_code_send(phone=ELDER_PHONE)
    code = sent_code(sms, ELDER_PHONE)
    with pytest.raises(ValidationError) as error:
        actions.portal_code_verify(
            phone=ELDER_PHONE, code=code, now=timezone.now() + datetime.timedelta(minutes=5, seconds=1)
        )
    assert codes(error.value) == ["wrong_code"]


def test_only_the_latest_code_works(world, sms):
    now = timezone.now()
    actions.portal_code_send(phone=ELDER_PHONE, now=now)
    first = sent_code(sms, ELDER_PHONE)
    actions.portal_code_send(phone=ELDER_PHONE, now=now + datetime.timedelta(seconds=61))
    second = sent_code(sms, ELDER_PHONE)
    later = now + datetime.timedelta(seconds=62)
    if first != second:
        with pytest.raises(ValidationError):
            actions.portal_code_verify(phone=ELDER_PHONE, code=first, now=later)
    assert len(actions.portal_code_verify(phone=ELDER_PHONE, code=second, now=later)) == 1


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "１２３４５６"])
def test_a_code_that_is_not_six_digits_is_refused_without_a_try(world, sms, code):
    actions.portal_code_send(phone=ELDER_PHONE)
    with pytest.raises(ValidationError) as error:
        actions.portal_code_verify(phone=ELDER_PHONE, code=code)
    assert error.value.message_dict == {"code": ["请输入6位数字验证码"]}
    assert PortalCode.objects.get().attempts == 0


def test_an_unknown_phone_never_logs_in(world, sms):
    actions.portal_code_send(phone=NOBODY_PHONE)
    with pytest.raises(ValidationError) as error:
        actions.portal_code_verify(phone=NOBODY_PHONE, code="000000")
    assert codes(error.value) == ["wrong_code"]


# -- the account -----------------------------------------------------------------------------------


def test_the_residents_account_is_made_once_with_no_usable_password(world):
    user = actions.portal_login_user(household=world.home_a1, resident=world.elder, address="10.0.0.1")
    assert (user.username, user.role, user.household_id, user.full_name) == (
        f"portal-r{world.elder.pk}",
        Role.RESIDENT,
        world.home_a1.pk,
        "王秀兰",
    )
    assert not user.has_usable_password()
    again = actions.portal_login_user(household=world.home_a1, resident=world.elder)
    assert again.pk == user.pk
    logins = AuditLog.objects.filter(action="portal_login").order_by("pk")
    assert [(log.actor_id, log.object_id, log.detail["via"], log.ip) for log in logins] == [
        (user.pk, str(world.home_a1.pk), "code", "10.0.0.1"),
        (user.pk, str(world.home_a1.pk), "code", None),
    ]
    assert actions.portal_login_own_resident_id(user) == world.elder.pk


def test_the_account_follows_the_resident_to_another_household(world):
    user = actions.portal_login_user(household=world.home_a1, resident=world.child)
    Resident.objects.filter(pk=world.child.pk).update(household=world.home_a2)
    world.child.refresh_from_db()
    moved = actions.portal_login_user(household=world.home_a2, resident=world.child)
    assert (moved.pk, moved.household_id) == (user.pk, world.home_a2.pk)


def test_a_resident_of_another_household_or_a_deactivated_account_is_refused(world):
    with pytest.raises(ValidationError):
        actions.portal_login_user(household=world.home_a2, resident=world.elder)
    user = actions.portal_login_user(household=world.home_a1, resident=world.elder)
    user.is_active = False
    user.save()
    with pytest.raises(PermissionDenied):
        actions.portal_login_user(household=world.home_a1, resident=world.elder)


# -- the household's link --------------------------------------------------------------------------


def test_a_household_without_a_live_pass_has_no_link(world):
    with pytest.raises(ValidationError) as error:
        actions.portal_link_token(world.home_a1)
    assert error.value.messages == ["该户没有有效的出入证，请先办理出入证"]


def test_the_link_logs_the_household_in_while_its_pass_lives(world):
    pass_ = issue_pass(world, world.elder)
    token = actions.portal_link_token(world.home_a1)
    assert signing.loads(token, salt="tongxin.portal") == {"h": world.home_a1.pk, "p": pass_.number}
    user = actions.portal_link_login(token=token, address="10.0.0.2")
    assert (user.username, user.role, user.household_id, user.full_name) == (
        f"portal-h{world.home_a1.pk}",
        Role.RESIDENT,
        world.home_a1.pk,
        str(world.home_a1),
    )
    assert actions.portal_login_own_resident_id(user) is None
    assert AuditLog.objects.get(action="portal_login").detail == {"via": "link", "resident": None}
    pass_revoke(actor=manager(world), pass_=pass_, reason=Pass.Revoked.LOST)
    with pytest.raises(ValidationError) as error:
        actions.portal_link_login(token=token)
    assert error.value.messages == ["出入证已注销或过期，该登录链接已失效"]


def test_an_expired_pass_turns_the_link_off(world):
    pass_ = issue_pass(world, world.elder)
    token = actions.portal_link_token(world.home_a1)
    Pass.objects.filter(pk=pass_.pk).update(expires_at=timezone.now() - datetime.timedelta(minutes=1))
    with pytest.raises(ValidationError) as error:
        actions.portal_link_login(token=token)
    assert codes(error.value) == ["pass_not_live"]


def test_a_forged_or_old_link_is_refused(world, monkeypatch, settings):
    issue_pass(world, world.elder)
    token = actions.portal_link_token(world.home_a1)
    for bad in (
        token[:-2] + "xx",
        "nonsense",
        "",
        signing.dumps({"h": world.home_b.pk}, salt="tongxin.portal"),
    ):
        with pytest.raises(ValidationError) as error:
            actions.portal_link_login(token=bad)
        assert error.value.messages == ["登录链接无效或已过期，请联系社区重新获取"]
    settings.TONGXIN_PORTAL_LINK_DAYS = 30
    real = time.time
    monkeypatch.setattr(signing.time, "time", lambda: real() - 31 * 86400)
    old = actions.portal_link_token(world.home_a1)
    monkeypatch.setattr(signing.time, "time", real)
    with pytest.raises(ValidationError) as error:
        actions.portal_link_login(token=old)
    assert codes(error.value) == ["bad_link"]
    assert not AuditLog.objects.filter(action="portal_login").exists()


def test_a_link_naming_another_households_pass_is_refused(world):
    issue_pass(world, world.elder)
    other = make_user(Role.COMPOUND_MANAGER, username="manager-b", compound=world.compound_b)
    foreign = pass_issue(actor=other, resident=world.stranger)
    forged = signing.dumps({"h": world.home_a1.pk, "p": foreign.number}, salt="tongxin.portal", compress=True)
    with pytest.raises(ValidationError) as error:
        actions.portal_link_login(token=forged)
    assert codes(error.value) == ["pass_not_live"]


def test_revealing_a_link_is_audited_and_scoped(world):
    issue_pass(world, world.elder)
    household, token = actions.portal_link_reveal(
        actor=manager(world), household_id=world.home_a1.pk, ip="10.0.0.3"
    )
    assert household.pk == world.home_a1.pk
    assert signing.loads(token, salt="tongxin.portal")["h"] == world.home_a1.pk
    log = AuditLog.objects.get(action="reveal")
    assert (log.actor_id, log.object_type, log.object_id, log.fields, log.ip) == (
        manager(world).pk,
        "registry.household",
        str(world.home_a1.pk),
        "portal_link",
        "10.0.0.3",
    )
    with pytest.raises(Http404):  # another compound
        actions.portal_link_reveal(actor=manager(world), household_id=world.home_b.pk)
    with pytest.raises(Http404):  # a grid worker's other building
        actions.portal_link_reveal(actor=world.users[Role.GRID_WORKER], household_id=world.home_a2.pk)
    with pytest.raises(PermissionDenied):
        actions.portal_link_reveal(actor=world.users[Role.VOLUNTEER], household_id=world.home_a1.pk)
    with pytest.raises(Http404):
        actions.portal_link_reveal(actor=world.users[Role.RESIDENT], household_id=world.home_a1.pk)
    empty = household_ensure(unit=world.a1u1, room="102")
    with pytest.raises(ValidationError):
        actions.portal_link_reveal(actor=manager(world), household_id=empty.pk)
    assert AuditLog.objects.filter(action="reveal").count() == 1
