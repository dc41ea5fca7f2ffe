"""Logging a resident into the portal: by phone and a one-time code sent by SMS, or by a signed
link printed with the household's pass.

A code is asked for any well-formed mobile number, known or not, and the answer is the same
("sent"): nobody learns from the portal whose phone is registered. Only a keyed hash of each code is
kept (`PortalCode`); it works once, before TONGXIN_PORTAL_CODE_MINUTES, within a few wrong tries.
Sending is limited per phone and per address, counted on the same table, so every app server
counts the same sends.

The link names the household and one of its live passes (the household's own first); a pass
revoked or expired since the link was printed turns the link off, as does TONGXIN_PORTAL_LINK_DAYS.
Every login, refused code and revealed link is audited.
"""

import datetime
import hmac
import ipaddress
import logging
import secrets
import threading
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.accounts.models import Role
from tongxin.core import crypto
from tongxin.core.audit import audit
from tongxin.core.masking import mask_phone
from tongxin.core.scoping import scope_q
from tongxin.registry.models import Household, Resident
from tongxin.voice.actions.hotline import MOBILE_RE, normalised_phone
from tongxin.voice.models import PortalCode
from tongxin.voice.senders import sms_provider

log = logging.getLogger(__name__)

CODE_DIGITS = 6
MAX_ATTEMPTS = 5
RESEND_SECONDS = 60
SENDS_PER_PHONE_PER_HOUR = 5
SENDS_PER_ADDRESS_PER_HOUR = 20
LINK_SALT = "tongxin.portal"
# Who may show and print a household's portal link: those who issue its passes.
LINK_ROLES = frozenset({Role.PLATFORM_ADMIN, Role.OFFICIAL, Role.COMPOUND_MANAGER, Role.GRID_WORKER})
USERNAME_RESIDENT = "portal-r{}"
USERNAME_HOUSEHOLD = "portal-h{}"


def _error(message: str, code: str, field: str = "__all__") -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


def code_minutes() -> int:
    return int(getattr(settings, "TONGXIN_PORTAL_CODE_MINUTES", 5))


def link_days() -> int:
    return int(getattr(settings, "TONGXIN_PORTAL_LINK_DAYS", 30))


def portal_phone(raw) -> str:
    """A mainland mobile number as 11 digits, or ValidationError on the field "phone"."""
    try:
        phone = normalised_phone(raw)
    except ValidationError:
        phone = ""
    if not MOBILE_RE.fullmatch(phone):
        raise _error(_("请输入11位手机号"), "invalid_phone", "phone")
    return phone


def _phone_hash(phone: str) -> str:
    return crypto.lookup_hash("phone", phone)


def _code_hash(phone_hash: str, code: str) -> str:
    return crypto.lookup_hash("portal_code", f"{phone_hash}:{code}")


def _living_with_phone(phone_hash: str):
    return (
        Resident.objects.filter(phone_hash=phone_hash)
        .exclude(presence=Resident.Presence.MOVED_OUT)
        .select_related("household__unit__building", "household__compound")
        .order_by("household_id", "pk")
    )


def code_text(code: str) -> str:
    return _("【同心】您的居民端登录验证码是%(code)s，%(minutes)s分钟内有效。请勿告诉他人。") % {
        "code": code,
        "minutes": code_minutes(),
    }


def limit_address(address: str | None) -> str | None:
    """The address the per-address send limit counts: an IPv4 address as it is, an IPv6 one as its
    /64 network (one subscriber's line holds a whole /64, so counting single IPv6 addresses would
    give a client billions of fresh ones)."""
    if not address:
        return address
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{ip}/64", strict=False).network_address)
    return str(ip)


@dataclass(frozen=True)
class CodeSent:
    phone_masked: str
    minutes: int


def portal_code_send(*, phone, address: str | None = None, now: datetime.datetime | None = None) -> CodeSent:
    """Send a login code to `phone`. The same answer for a phone no resident has (no code goes
    out, but the send is counted the same way); refused when the phone or the address asked too
    often."""
    phone = portal_phone(phone)
    now = now or timezone.now()
    phone_hash = _phone_hash(phone)
    hour_ago = now - datetime.timedelta(hours=1)
    counted = limit_address(address)
    refused, known, code = None, False, ""
    # A refusal is raised after the block, so that its audit row is kept.
    with transaction.atomic():
        recent = PortalCode.objects.filter(phone_hash=phone_hash, created_at__gt=hour_ago)
        last = recent.order_by("-created_at").values_list("created_at", flat=True).first()
        too_many = recent.count() >= SENDS_PER_PHONE_PER_HOUR or bool(
            counted
            and PortalCode.objects.filter(address=counted, created_at__gt=hour_ago).count()
            >= SENDS_PER_ADDRESS_PER_HOUR
        )
        if last is not None and last > now - datetime.timedelta(seconds=RESEND_SECONDS):
            refused = _error(_("验证码已发送，请%(n)s秒后再试") % {"n": RESEND_SECONDS}, "too_soon")
        elif too_many:
            refused = _error(_("获取验证码太频繁，请一小时后再试"), "too_many_codes")
            audit(
                actor=None,
                action="login_blocked",
                label=mask_phone(phone),
                ip=address,
                detail={"portal": "code"},
            )
        else:
            known = _living_with_phone(phone_hash).exists()
            code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
            PortalCode.objects.create(
                phone_hash=phone_hash,
                # An unknown phone gets a row too (counted by the limits), with a code no one was sent.
                code_hash=_code_hash(phone_hash, code if known else secrets.token_hex(16)),
                created_at=now,
                expires_at=now + datetime.timedelta(minutes=code_minutes()),
                address=counted,
            )
            audit(
                actor=None, action="portal_code", label=mask_phone(phone), ip=address, detail={"known": known}
            )
    if refused is not None:
        raise refused
    if known:
        _dispatch_code(phone, code_text(code))
    return CodeSent(phone_masked=mask_phone(phone), minutes=code_minutes())


def portal_codes_purge(now: datetime.datetime | None = None) -> int:
    """Delete the codes past use: expired, and older than the hour the send limits look back on.
    Run by `tongxin send-notices` (every minute from cron), so the table holds one hour of codes."""
    now = now or timezone.now()
    cutoff = min(now - datetime.timedelta(hours=1), now - datetime.timedelta(minutes=code_minutes()))
    deleted, _by_model = PortalCode.objects.filter(created_at__lt=cutoff, expires_at__lt=now).delete()
    return deleted


def _send_code(phone: str, text: str) -> None:
    try:
        result = sms_provider().send([phone], text)
    except Exception:  # a gateway's failure must not tell the caller whether the phone is known
        log.exception("SMS provider failed sending a portal code")
    else:
        if not result.ok:
            log.warning("SMS provider refused a portal code: %s", result.error)


def _send_code_in_thread(phone: str, text: str) -> None:
    from django.db import connection

    try:
        _send_code(phone, text)
    finally:
        connection.close()  # a provider that wrote to the database leaves no connection open


def _dispatch_code(phone: str, text: str) -> None:
    """The code's SMS, sent in the background (TONGXIN_PORTAL_SMS_BACKGROUND, on by default):
    the gateway's round trip happens only for a known phone, so waiting for it would tell by the
    answer's time whether a phone is registered."""
    if getattr(settings, "TONGXIN_PORTAL_SMS_BACKGROUND", True):
        threading.Thread(target=_send_code_in_thread, args=(phone, text), daemon=True).start()
    else:
        _send_code(phone, text)


def portal_code_verify(
    *, phone, code, address: str | None = None, now: datetime.datetime | None = None
) -> list[Resident]:
    """The residents (not moved out, one per household, with their household) whose phone this
    is, once the code is right. The code is then used up; a wrong one counts a try, and after
    MAX_ATTEMPTS it is refused even when right."""
    phone = portal_phone(phone)
    code = "".join(str(code or "").split())
    if not (code.isascii() and code.isdigit() and len(code) == CODE_DIGITS):
        raise _error(_("请输入%(n)s位数字验证码") % {"n": CODE_DIGITS}, "invalid_code", "code")
    now = now or timezone.now()
    phone_hash = _phone_hash(phone)
    wrong = _error(_("验证码不正确或已过期，请重新获取"), "wrong_code", "code")
    refused, refusal = None, "login_failed"
    # The refusal is raised after the block, so that the counted try and its audit row are kept.
    with transaction.atomic():
        row = (
            PortalCode.objects.select_for_update()
            .filter(phone_hash=phone_hash, used_at__isnull=True, expires_at__gt=now)
            .order_by("-created_at", "-pk")
            .first()
        )
        if row is None:
            refused = wrong
        elif row.attempts >= MAX_ATTEMPTS:
            refused, refusal = (
                _error(_("尝试次数过多，请重新获取验证码"), "too_many_attempts", "code"),
                "login_blocked",
            )
        elif not hmac.compare_digest(row.code_hash, _code_hash(phone_hash, code)):
            PortalCode.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1)
            refused = wrong
        elif not PortalCode.objects.filter(pk=row.pk, used_at__isnull=True).update(used_at=now):
            refused = wrong
        if refused is not None:
            audit(actor=None, action=refusal, label=mask_phone(phone), ip=address, detail={"portal": "code"})
    if refused is not None:
        raise refused
    households: dict[int, Resident] = {}
    for resident in _living_with_phone(phone_hash):
        households.setdefault(resident.household_id, resident)
    if not households:
        raise wrong
    return list(households.values())


def _portal_user(household: Household, resident: Resident | None):
    User = get_user_model()
    if resident is not None:
        username, name = USERNAME_RESIDENT.format(resident.pk), resident.name
    else:
        username, name = USERNAME_HOUSEHOLD.format(household.pk), str(household)
    user = User.objects.select_for_update().filter(username=username).first()
    if user is None:
        user = User(username=username, role=Role.RESIDENT, household=household, full_name=name)
        user.set_unusable_password()
        user.save()
        return user
    if user.role != Role.RESIDENT or not user.is_active or user.is_staff or user.is_superuser:
        # A staff account never opens through the portal, whatever its username.
        raise PermissionDenied(_("该账号已停用，请联系社区"))
    if user.household_id != household.pk or user.full_name != name:
        user.household, user.full_name = household, name
        user.save(update_fields=["household", "full_name"])
    return user


def portal_login_user(
    *, household: Household, resident: Resident | None = None, via: str = "code", address: str | None = None
):
    """The resident account for `resident` (or for the household, when logged in by its link):
    created on first login with no usable password, moved with the resident to his household."""
    if resident is not None and resident.household_id != household.pk:
        raise _error(_("该居民不属于这一户"), "resident_other_household")
    if resident is not None and resident.presence == Resident.Presence.MOVED_OUT:
        raise Http404
    with transaction.atomic():
        user = _portal_user(household, resident)
        audit(
            actor=user,
            action="portal_login",
            obj=household,
            label=str(household),
            detail={"via": via, "resident": resident.pk if resident else None},
            ip=address,
        )
    return user


def portal_login_own_resident_id(user) -> int | None:
    """The resident a portal account logged in as by phone (None for a household link's)."""
    prefix = USERNAME_RESIDENT.format("")
    name = getattr(user, "username", "") or ""
    if name.startswith(prefix) and name[len(prefix) :].isdigit():
        return int(name[len(prefix) :])
    return None


def proxy_asker(user, resident: Resident | None) -> str:
    """Who asked, when a resident asks for another member of the household (为家人代办): the
    asking resident's name; "" when he asks for himself or is not known (a household's link)."""
    own_id = portal_login_own_resident_id(user)
    if own_id is None or resident is None or resident.pk == own_id:
        return ""
    return user.full_name


# -- the household's link ----------------------------------------------------------------------------


def _live_pass_numbers(household_id: int, now: datetime.datetime) -> list[str]:
    from tongxin.access.models import Pass

    return list(
        Pass.objects.filter(household_id=household_id, revoked_at__isnull=True, expires_at__gt=now)
        .exclude(resident__presence=Resident.Presence.MOVED_OUT)
        .order_by(F("resident_id").asc(nulls_first=True), "pk")
        .values_list("number", flat=True)
    )


def portal_link_token(household: Household, *, now: datetime.datetime | None = None) -> str:
    """The signed token of the household's link, naming one of its live passes (its own pass
    first); ValidationError when it has none."""
    numbers = _live_pass_numbers(household.pk, now or timezone.now())
    if not numbers:
        raise _error(_("该户没有有效的出入证，请先办理出入证"), "no_pass")
    return signing.dumps({"h": household.pk, "p": numbers[0]}, salt=LINK_SALT, compress=True)


def portal_link_reveal(*, actor, household_id: int, ip: str | None = None) -> tuple[Household, str]:
    """The household and its link's token, for the team to show or print; audited as a reveal.
    Another compound's household (or a building outside a grid worker's) is not found."""
    if actor is None or not actor.is_authenticated or not actor.is_active:
        raise PermissionDenied
    if actor.role == Role.RESIDENT:
        raise Http404
    household = (
        Household.objects.filter(scope_q(actor, "household"), pk=household_id)
        .select_related("unit__building", "compound")
        .first()
    )
    if household is None:
        raise Http404
    if actor.role not in LINK_ROLES:
        raise PermissionDenied(_("当前角色不能查看居民端登录码"))
    token = portal_link_token(household)
    audit(
        actor=actor,
        action="reveal",
        obj=household,
        label=str(household),
        fields="portal_link",
        ip=ip,
    )
    return household, token


def portal_link_household(
    *, token: str, address: str | None = None, now: datetime.datetime | None = None
) -> tuple[Household, str]:
    """The household a link token names, nobody logged in (the link's confirm page): refused
    (and audited) when the token is forged or older than TONGXIN_PORTAL_LINK_DAYS, or its pass is
    revoked or expired."""
    now = now or timezone.now()
    refused = _error(_("登录链接无效或已过期，请联系社区重新获取"), "bad_link")
    try:
        claims = signing.loads(str(token or ""), salt=LINK_SALT, max_age=datetime.timedelta(days=link_days()))
        household_id, number = int(claims["h"]), str(claims["p"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        audit(actor=None, action="login_failed", label=_("居民端链接"), ip=address, detail={"portal": "link"})
        raise refused from None
    household = Household.objects.filter(pk=household_id).select_related("unit__building", "compound").first()
    if household is None or number not in _live_pass_numbers(household_id, now):
        audit(
            actor=None,
            action="login_failed",
            label=str(household) if household else _("居民端链接"),
            ip=address,
            detail={"portal": "link", "pass": number},
        )
        raise _error(_("出入证已注销或过期，该登录链接已失效"), "pass_not_live")
    return household, number


def portal_link_pass_live(
    household_id: int | None, number: str, *, now: datetime.datetime | None = None
) -> bool:
    """Whether the pass a link session came in by still lives: revoking it ends the link's
    sessions too, not only the link."""
    return bool(household_id) and number in _live_pass_numbers(household_id, now or timezone.now())


def portal_link_login(*, token: str, address: str | None = None, now: datetime.datetime | None = None):
    """The household's account, from a link token (checked as `portal_link_household`)."""
    household, _number = portal_link_household(token=token, address=address, now=now)
    return portal_login_user(household=household, via="link", address=address)
