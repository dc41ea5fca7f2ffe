"""/portal/: the resident portal. A resident logs in with his phone and a code sent by SMS (or the
link printed with the household's pass), then sees his household only: notices, the testing time,
each member's status colour and pass QR, parcels, requests and their answers; and sends a request,
for himself or for an elderly member of the household.

Staff are sent back to their own pages; the team's page here shows (and prints) a household's
portal link as a QR code, each showing audited.
"""

import datetime
import functools

from django.contrib import messages
from django.contrib.auth import login, logout
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import mark_safe
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from tongxin.access.views.passes import qr_svg
from tongxin.accounts.models import Role
from tongxin.core.audit import client_ip
from tongxin.core.masking import mask_phone
from tongxin.registry.models import Resident
from tongxin.voice.actions import portal as actions
from tongxin.voice.actions.requests import request_create
from tongxin.voice.forms.portal import AskForm, ChooseForm, CodeForm, PhoneForm
from tongxin.voice.models import Channel
from tongxin.voice.selectors import portal as selectors

BACKEND = "django.contrib.auth.backends.ModelBackend"
SESSION_PHONE = "portal_phone"
SESSION_CHOICES = "portal_choices"
SESSION_CHOICES_AT = "portal_choices_at"
# The pass a household's link named: when it is revoked or expires, the link's sessions end.
SESSION_LINK_PASS = "portal_link_pass"  # noqa: S105 - a session key, not a password


def link_session_live(request) -> bool:
    """False when this session came in by a household's link whose pass has since been revoked
    or has expired: the session is then ended (logged out)."""
    number = request.session.get(SESSION_LINK_PASS)
    if not number or actions.portal_link_pass_live(request.user.household_id, number):
        return True
    logout(request)
    return False


def _add_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


def resident_page(view):
    """The portal's own pages: a visitor goes to the portal's login, staff to their home page."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            return redirect(f"{reverse('portal:login')}?next={request.path}")
        if user.role != Role.RESIDENT:
            return redirect("registry:home")
        if not link_session_live(request):
            messages.error(request, _("出入证已注销或过期，该登录链接已失效"))
            return redirect("portal:login")
        return view(request, *args, **kwargs)

    return never_cache(wrapper)


def _login(request, user):
    for key in (SESSION_PHONE, SESSION_CHOICES, SESSION_CHOICES_AT):
        request.session.pop(key, None)
    login(request, user, backend=BACKEND)


def _next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/portal/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("portal:home")


# -- logging in ---------------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def login_phone(request):
    if request.user.is_authenticated and request.user.role == Role.RESIDENT:
        return redirect("portal:home")
    form = PhoneForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                sent = actions.portal_code_send(phone=form.cleaned_data["phone"], address=client_ip(request))
            except ValidationError as error:
                _add_errors(form, error)
            else:
                request.session[SESSION_PHONE] = actions.portal_phone(form.cleaned_data["phone"])
                messages.success(
                    request,
                    _("如果该手机号已在社区登记，验证码已发送到%(phone)s，%(minutes)s分钟内有效")
                    % {"phone": sent.phone_masked, "minutes": sent.minutes},
                )
                verify = reverse("portal:verify")
                nxt = request.POST.get("next", "")
                return redirect(
                    f"{verify}?{urlencode({'next': nxt})}" if nxt.startswith("/portal/") else verify
                )
        status = 400
    return render(
        request,
        "voice/portal/login.html",
        {"form": form, "next": request.GET.get("next", "")},
        status=status,
    )


@never_cache
@require_http_methods(["GET", "POST"])
def verify(request):
    phone = request.session.get(SESSION_PHONE)
    if not phone:
        return redirect("portal:login")
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            address = client_ip(request)
            try:
                residents = actions.portal_code_verify(
                    phone=phone, code=form.cleaned_data["code"], address=address
                )
            except ValidationError as error:
                _add_errors(form, error)
            else:
                if len(residents) == 1:
                    resident = residents[0]
                    user = actions.portal_login_user(
                        household=resident.household, resident=resident, via="code", address=address
                    )
                    _login(request, user)
                    return redirect(_next_url(request))
                request.session.pop(SESSION_PHONE, None)
                request.session[SESSION_CHOICES] = [r.pk for r in residents]
                request.session[SESSION_CHOICES_AT] = timezone.now().isoformat()
                return redirect("portal:choose")
        status = 400
    return render(
        request,
        "voice/portal/verify.html",
        {"form": form, "phone_masked": mask_phone(phone), "next": request.GET.get("next", "")},
        status=status,
    )


def _chosen_residents(request) -> list[Resident]:
    ids = request.session.get(SESSION_CHOICES) or []
    at = request.session.get(SESSION_CHOICES_AT)
    if not ids or not at:
        return []
    try:
        chosen_at = datetime.datetime.fromisoformat(at)
    except ValueError:
        return []
    if timezone.now() - chosen_at > datetime.timedelta(minutes=actions.code_minutes()):
        return []
    return list(
        Resident.objects.filter(pk__in=ids)
        .exclude(presence=Resident.Presence.MOVED_OUT)
        .select_related("household__unit__building", "household__compound")
        .order_by("household_id")
    )


@never_cache
@require_http_methods(["GET", "POST"])
def choose(request):
    """A phone registered in several households: the resident picks the one to enter."""
    residents = _chosen_residents(request)
    if not residents:
        return redirect("portal:login")
    form = ChooseForm(request.POST or None, residents=residents)
    if request.method == "POST" and form.is_valid():
        resident = next(r for r in residents if r.pk == form.cleaned_data["resident"])
        user = actions.portal_login_user(
            household=resident.household, resident=resident, via="code", address=client_ip(request)
        )
        _login(request, user)
        return redirect("portal:home")
    status = 400 if request.method == "POST" else 200
    return render(request, "voice/portal/choose.html", {"form": form}, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def link(request, token: str):
    """The link printed with the household's pass. GET only shows a button (a chat app's link
    preview or a prefetch must not log anyone in); the button POSTs (with CSRF) and logs in."""
    address = client_ip(request)
    try:
        household, number = actions.portal_link_household(token=token, address=address)
    except ValidationError as error:
        return render(request, "voice/portal/link_refused.html", {"errors": error.messages}, status=400)
    if request.method != "POST":
        response = render(request, "voice/portal/link_confirm.html")
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response
    user = actions.portal_login_user(household=household, via="link", address=address)
    _login(request, user)
    request.session[SESSION_LINK_PASS] = number
    return redirect("portal:home")


# -- the household's pages ---------------------------------------------------------------------------


def _with_qr(home) -> None:
    for member in home.members:
        member.qr = mark_safe(qr_svg(member.pass_code)) if member.pass_code else ""  # noqa: S308 - segno's SVG
    if home.household_pass and home.household_pass["code"]:
        home.household_pass["qr"] = mark_safe(qr_svg(home.household_pass["code"]))  # noqa: S308 - segno's SVG


@resident_page
def home(request):
    if not selectors.is_portal_user(request.user):
        return render(request, "voice/portal/no_household.html")
    home = selectors.portal_home(request.user)
    _with_qr(home)
    return render(request, "voice/portal/home.html", {"home": home})


@resident_page
@require_http_methods(["GET", "POST"])
def ask(request):
    """Send a request, for oneself or for a member of the household (an elderly parent)."""
    user = request.user
    household = selectors.portal_household(user)
    members = selectors.portal_members(user)
    form = AskForm(request.POST or None, members=members)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            resident = next(m for m in members if m.pk == form.cleaned_data["resident"])
            try:
                created = request_create(
                    actor=user,
                    compound=household.compound,
                    channel=Channel.PORTAL,
                    text=form.cleaned_data["text"],
                    household=household,
                    resident=resident,
                    asker=actions.proxy_asker(user, resident),
                    category=form.cleaned_data["category"] or None,
                    attachments=request.FILES.getlist("attachments"),
                )
            except ValidationError as error:
                _add_errors(form, error)
            else:
                messages.success(request, _("已提交，社区工作人员会尽快答复"))
                return redirect("portal:request", request_id=created.pk)
        status = 400
    return render(
        request,
        "voice/portal/ask.html",
        {"form": form, "household": household, "attachment_errors": form.errors.get("attachments")},
        status=status,
    )


@resident_page
def request_detail(request, request_id: int):
    found = selectors.portal_request(request.user, request_id)
    return render(request, "voice/portal/request.html", {"item": found})


@resident_page
def notice_detail(request, notice_id: int):
    return render(
        request, "voice/portal/notice.html", {"notice": selectors.portal_notice(request.user, notice_id)}
    )


# -- the team: a household's portal link ---------------------------------------------------------------


@never_cache
def household_link(request, household_id: int):
    """The household's portal link as a QR code to print with its pass; each showing audited."""
    if not request.user.is_authenticated:
        return redirect(f"{reverse('accounts:login')}?next={request.path}")
    if request.user.role == Role.RESIDENT:
        raise Http404
    household, token = None, ""
    try:
        household, token = actions.portal_link_reveal(
            actor=request.user, household_id=household_id, ip=client_ip(request)
        )
    except ValidationError as error:
        return render(
            request,
            "voice/portal/household_link.html",
            {"errors": error.messages, "household": None},
            status=400,
        )
    url = request.build_absolute_uri(reverse("portal:link", args=[token]))
    return render(
        request,
        "voice/portal/household_link.html",
        {
            "household": household,
            "url": url,
            "qr": mark_safe(qr_svg(url)),  # noqa: S308 - segno's SVG
            "days": actions.link_days(),
        },
    )


urlpatterns = [
    path("", home, name="home"),
    path("login/", login_phone, name="login"),
    path("login/code/", verify, name="verify"),
    path("login/choose/", choose, name="choose"),
    path("link/<str:token>/", link, name="link"),
    path("ask/", ask, name="ask"),
    path("requests/<int:request_id>/", request_detail, name="request"),
    path("notices/<int:notice_id>/", notice_detail, name="notice"),
    path("household/<int:household_id>/link/", household_link, name="household_link"),
]
