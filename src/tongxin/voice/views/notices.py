"""/voice/notices/: a compound's notices with each one's delivery summary; a new notice (from a
template or not: title, body, optional image and attachment, audience, channels, now or later);
a notice's page with its audience and each delivery's status, attempts and last error, a
"send now" for keepers and a "resend" on each delivery that gave up; a printable A4 poster with a QR code to the resident portal; the notice's
image and attachment, served only to its team or to a resident whose household it reaches.
/voice/endpoints/: the compound's group robots (WeCom, DingTalk), added and switched on or off.

The compound's team (`TEAM`) reads; keepers (`KEEPERS`) write; residents are refused (403), except
for the files of a notice that reaches them."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.html import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from tongxin.access.views.passes import qr_svg
from tongxin.core.files import serve_by_suffix
from tongxin.registry import selectors as registry_selectors
from tongxin.voice.actions.endpoints import endpoint_add, endpoint_set_active
from tongxin.voice.actions.notices import delivery_retry, given_up, notice_create, notice_send_due
from tongxin.voice.attachments import CONTENT_TYPES
from tongxin.voice.forms.notices import EndpointForm, NoticeForm, TemplateForm
from tongxin.voice.models import Audience, Delivery
from tongxin.voice.notice_templates import render_template
from tongxin.voice.selectors.endpoints import active_endpoint_kinds, endpoint_get, endpoints_of_compound
from tongxin.voice.selectors.notices import (
    audience_households,
    audience_places,
    delivery_get,
    delivery_summary,
    notice_detail,
    notice_for_files,
    notices_of_compound,
)
from tongxin.voice.selectors.scope import KEEPERS, TEAM
from tongxin.voice.views.common import choose, require_role, team_compound

# What the action's refusals are about, for showing them beside their field.
ERROR_FIELDS = {
    "notice_title": "title",
    "notice_body": "body",
    "template_unknown": "template",
    "notice_audience": "audience",
    "notice_audience_ids": "audience",
    "notice_audience_empty": "audience",
    "notice_audience_foreign": "audience",
    "notice_past": "scheduled_at",
    "notice_channels": "channels",
    "notice_no_endpoint": "channels",
    "endpoint_kind": "kind",
    "endpoint_name": "name",
    "endpoint_duplicate": "name",
    "webhook_https": "url",
    "webhook_local": "url",
    "endpoint_secret": "secret",
}


def _compound(request, roles=TEAM):
    return team_compound(request, _("当前角色不能查看通知"), roles=roles)


def _form_error(form, error: ValidationError) -> None:
    """The action's refusal shown beside its field (or above the form)."""
    if hasattr(error, "error_dict"):
        for name, found in error.error_dict.items():
            form.add_error(name if name in form.fields else None, found)
        return
    for item in error.error_list:
        name = ERROR_FIELDS.get(item.code or "")
        form.add_error(name if name in form.fields else None, item)


def _url(name: str, compound, *args) -> str:
    return f"{reverse(name, args=args)}?{urlencode({'compound': compound.pk})}"


# -- the list -----------------------------------------------------------------------------------


@never_cache
@login_required
def notices(request):
    compound, compounds = _compound(request)
    if compound is None:
        return choose(request, compounds, "voice:notices")
    page = Paginator(notices_of_compound(request.user, compound), settings.TONGXIN_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = [(notice, delivery_summary(notice)) for notice in page.object_list]
    context = {
        "compound": compound,
        "page": page,
        "rows": rows,
        "may_write": request.user.role in KEEPERS,
        "now": timezone.now(),
    }
    return render(request, "voice/notices.html", context)


# -- a new notice ---------------------------------------------------------------------------------


def _new_page(request, compound, form, picker, *, status=200):
    context = {
        "compound": compound,
        "form": form,
        "picker": picker,
        "audiences": Audience,
        "has_robots": any(
            value in ("wecom", "dingtalk") for value, _label in form.fields["channels"].choices
        ),
    }
    return render(request, "voice/notice_new.html", context, status=status)


def _template_audience(user, compound, values: dict) -> dict:
    """A template naming a building and a unit (testing_unit) addresses that unit, when found."""
    if not values.get("building") or not values.get("unit"):
        return {}
    unit = (
        registry_selectors.units_visible(user, compound)
        .filter(building__number=values["building"].strip(), number=values["unit"].strip())
        .first()
    )
    return {"audience": Audience.UNITS, "units": [unit.pk]} if unit else {}


@never_cache
@login_required
def notice_new(request):
    """GET: the form, filled from a template when one is picked with its values; POST: create."""
    user = request.user
    compound, compounds = _compound(request, roles=KEEPERS)
    if compound is None:
        return choose(request, compounds, "voice:notice_new")
    robot_kinds = active_endpoint_kinds(user, compound)
    if request.method == "POST":
        form = NoticeForm(request.POST, request.FILES, user=user, compound=compound, robot_kinds=robot_kinds)
        if not form.is_valid():
            return _new_page(request, compound, form, TemplateForm(), status=400)
        data = form.cleaned_data
        try:
            notice = notice_create(
                actor=user,
                compound=compound,
                title=data["title"],
                body=data["body"],
                audience=data["audience"],
                audience_ids=form.audience_ids(),
                scheduled_at=data["scheduled_at"],
                channels=data["channels"],
                template=data["template"],
                image=data["image"],
                attachment=data["attachment"],
            )
        except ValidationError as error:
            _form_error(form, error)
            return _new_page(request, compound, form, TemplateForm(), status=400)
        if notice.published_at:
            messages.success(request, _("通知已发布：%(title)s") % {"title": notice.title})
        else:
            at = timezone.localtime(notice.scheduled_at).strftime("%Y-%m-%d %H:%M")
            messages.success(request, _("通知将于%(at)s发布") % {"at": at})
        return redirect(_url("voice:notice", compound, notice.pk))
    picker = TemplateForm(request.GET if request.GET.get("template") else None)
    initial = {"audience": Audience.COMPOUND, "channels": ["portal"]}
    if picker.is_bound and picker.is_valid() and picker.chosen:
        initial["template"] = picker.chosen
        if request.GET.get("fill"):
            values = picker.values()
            try:
                initial["title"], initial["body"] = render_template(picker.chosen, **values)
            except ValidationError as error:
                picker.add_error(None, error)
            else:
                initial.update(_template_audience(user, compound, values))
    form = NoticeForm(initial=initial, user=user, compound=compound, robot_kinds=robot_kinds)
    return _new_page(request, compound, form, picker)


# -- one notice ------------------------------------------------------------------------------------


@never_cache
@login_required
def notice(request, notice_id: int):
    require_role(request.user, _("当前角色不能查看通知"))
    found = notice_detail(request.user, notice_id)
    deliveries = list(found.deliveries.all())
    for delivery in deliveries:
        delivery.given_up = given_up(delivery)
    context = {
        "compound": found.compound,
        "notice": found,
        "deliveries": deliveries,
        "summary": delivery_summary(found),
        "households": len(audience_households(found)),
        "places": audience_places(found),
        "may_send": request.user.role in KEEPERS and found.published_at is not None,
        "due": any(
            d.channel != Delivery.ChannelKind.PORTAL and d.status != Delivery.Status.SENT for d in deliveries
        ),
    }
    return render(request, "voice/notice.html", context)


@never_cache
@login_required
@require_POST
def notice_send(request, notice_id: int):
    require_role(request.user, _("当前角色不能发送通知"), roles=KEEPERS)
    found = notice_detail(request.user, notice_id)
    try:
        counts = notice_send_due(actor=request.user, notice=found)
    except ValidationError as error:
        messages.error(request, "；".join(error.messages))
    else:
        if not any(counts.values()):
            messages.info(request, _("没有到期待发送的记录"))
        elif counts["failed"] or counts["gave_up"]:
            messages.warning(
                request,
                _("已发送%(sent)s条，失败%(failed)s条（稍后自动重试），放弃%(gave_up)s条") % counts,
            )
        else:
            messages.success(request, _("已发送%(sent)s条") % counts)
    return redirect(_url("voice:notice", found.compound, found.pk))


@never_cache
@login_required
@require_POST
def delivery_resend(request, notice_id: int, delivery_id: int):
    """A keeper puts a delivery that gave up back in line, due now (`delivery_retry`)."""
    require_role(request.user, _("当前角色不能发送通知"), roles=KEEPERS)
    delivery = delivery_get(request.user, notice_id, delivery_id)
    name = delivery.endpoint.name if delivery.endpoint else delivery.get_channel_display()
    try:
        delivery_retry(actor=request.user, delivery=delivery)
    except ValidationError as error:
        messages.error(request, "；".join(error.messages))
    else:
        messages.success(
            request,
            _("已重新排队：%(name)s，可点“立即发送到期的记录”马上发送，否则由定时任务发送") % {"name": name},
        )
    return redirect(_url("voice:notice", delivery.notice.compound, notice_id))


def portal_url(request) -> str:
    """The resident portal's address, absolute, for the poster's QR code."""
    try:
        target = reverse("portal:home")
    except NoReverseMatch:  # the portal's pages not mounted
        target = "/portal/"
    return request.build_absolute_uri(target)


@never_cache
@login_required
def notice_poster(request, notice_id: int):
    """The notice on an A4 page to print and put up at the doors, with a QR code to the portal."""
    require_role(request.user, _("当前角色不能查看通知"))
    found = notice_detail(request.user, notice_id)
    url = portal_url(request)
    context = {
        "notice": found,
        "compound": found.compound,
        "portal_url": url,
        "qr": mark_safe(qr_svg(url)),  # noqa: S308 - segno's own SVG of our own URL
        "back": _url("voice:notice", found.compound, found.pk),
        "dated": timezone.localtime(found.published_at or found.scheduled_at or found.created_at),
    }
    return render(request, "voice/poster.html", context)


@never_cache
@login_required
def notice_image(request, notice_id: int):
    """The notice's image: to its team, or to a resident whose household it reaches."""
    found = notice_for_files(request.user, notice_id)
    return serve_by_suffix(found.image, stem=f"notice-{found.pk}-image", content_types=CONTENT_TYPES)


@never_cache
@login_required
def notice_attachment(request, notice_id: int):
    found = notice_for_files(request.user, notice_id)
    return serve_by_suffix(
        found.attachment, stem=f"notice-{found.pk}-attachment", content_types=CONTENT_TYPES
    )


# -- the robots ------------------------------------------------------------------------------------


def _endpoints_page(request, compound, form=None, *, status=200):
    context = {
        "compound": compound,
        "endpoints": list(endpoints_of_compound(request.user, compound)),
        "form": form or EndpointForm(initial={"kind": "wecom"}),
    }
    return render(request, "voice/endpoints.html", context, status=status)


@never_cache
@login_required
def endpoints(request):
    require_role(request.user, _("当前角色不能设置群机器人"), roles=KEEPERS)
    compound, compounds = _compound(request, roles=KEEPERS)
    if compound is None:
        return choose(request, compounds, "voice:endpoints")
    if request.method != "POST":
        return _endpoints_page(request, compound)
    form = EndpointForm(request.POST)
    if not form.is_valid():
        return _endpoints_page(request, compound, form, status=400)
    data = form.cleaned_data
    try:
        added = endpoint_add(
            actor=request.user,
            compound=compound,
            kind=data["kind"],
            name=data["name"],
            url=data["url"],
            secret=data["secret"],
        )
    except ValidationError as error:
        _form_error(form, error)
        return _endpoints_page(request, compound, form, status=400)
    messages.success(request, _("已添加群机器人：%(name)s") % {"name": added.name})
    return redirect(_url("voice:endpoints", compound))


@never_cache
@login_required
@require_POST
def endpoint_active(request, endpoint_id: int):
    """Switch a robot on or off (?active=1/0); with HTMX its row is swapped in place."""
    require_role(request.user, _("当前角色不能设置群机器人"), roles=KEEPERS)
    endpoint = endpoint_get(request.user, endpoint_id)
    active = request.POST.get("active") == "1"
    endpoint = endpoint_set_active(actor=request.user, endpoint=endpoint, active=active)
    if request.htmx:
        return render(request, "voice/endpoints.html#endpoint", {"endpoint": endpoint})
    done = _("已启用：%(name)s") if active else _("已停用：%(name)s")
    messages.success(request, done % {"name": endpoint.name})
    return redirect(_url("voice:endpoints", endpoint.compound))


urlpatterns = [
    path("notices/", notices, name="notices"),
    path("notices/new/", notice_new, name="notice_new"),
    path("notices/<int:notice_id>/", notice, name="notice"),
    path("notices/<int:notice_id>/send/", notice_send, name="notice_send"),
    path(
        "notices/<int:notice_id>/deliveries/<int:delivery_id>/retry/",
        delivery_resend,
        name="delivery_retry",
    ),
    path("notices/<int:notice_id>/poster/", notice_poster, name="notice_poster"),
    path("notices/<int:notice_id>/image/", notice_image, name="notice_image"),
    path("notices/<int:notice_id>/attachment/", notice_attachment, name="notice_attachment"),
    path("endpoints/", endpoints, name="endpoints"),
    path("endpoints/<int:endpoint_id>/active/", endpoint_active, name="endpoint_active"),
]
