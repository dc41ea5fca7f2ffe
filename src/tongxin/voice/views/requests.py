"""Requests (诉求) pages of the team.

/voice/requests/: the queue (urgent first, then oldest; late ones flagged), filtered by state,
category and late, with acknowledge / start buttons on each row (HTMX swaps the row).
/voice/requests/new/: a request logged from a group message, a private message, a call or a visit,
for a room or a phone of the compound (or no one known), with photos or PDFs; an HTMX call shows
the household's residents and the category the text suggests. /voice/requests/<id>/: the request,
its answers and files, and its buttons: acknowledge, start, answer (text, channel), close, reopen
(reason), hand over to supplies (kind, detail), correct the category and urgency (the whole team)
and hand the request on to another holder (the keepers only: manager, grid worker, officials). Files
are served through a scoped view.
"""

import datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from tongxin.core.files import serve_inline
from tongxin.core.pages import compound_choice
from tongxin.registry import selectors as registry_selectors
from tongxin.supplies.models import RequestKind
from tongxin.supplies.selectors.parcels import households_for_intake
from tongxin.voice.actions import requests as actions
from tongxin.voice.attachments import MAX_FILES
from tongxin.voice.categories import suggest_category
from tongxin.voice.forms.requests import (
    AnswerForm,
    ClassifyForm,
    HandOnForm,
    HandOverForm,
    ReopenForm,
    RequestForm,
)
from tongxin.voice.models import Category, State
from tongxin.voice.selectors import requests as selectors
from tongxin.voice.selectors.scope import KEEPERS
from tongxin.voice.views.common import choose, require_role

LATE = "late"


def _add_error(form, error: ValidationError) -> None:
    """The action's refusal on the form: on its fields when it names them, else on the form."""
    if hasattr(error, "error_dict") and set(error.error_dict) <= set(form.fields):
        form.add_error(None, error)
    else:
        form.add_error(None, _refusal(error))


def _refusal(error) -> str:
    if isinstance(error, ValidationError):
        return "；".join(error.messages)
    return str(error) or _("无权进行该操作")


def _filters(request) -> dict:
    state = request.GET.get("state", "")
    category = request.GET.get("category", "")
    return {
        "state": state if state in State.values else "",
        "category": category if category in Category.values else "",
        "late": LATE if request.GET.get("late") == "1" else "",
    }


def _flag(rows, now: datetime.datetime) -> None:
    for row in rows:
        row.late = selectors.is_late(row, now)
        row.due = selectors.answer_due(row)


def _masked_phone(user, found) -> str:
    """The masked phone of the request's resident: for the roles that see residents' phones."""
    if found.resident is None or not user.may_see_full_data:
        return ""
    return found.resident.phone_masked


def _seen(found, data) -> None:
    """The state and last change the worker's page showed (hidden fields): a change made by someone
    else since is refused by the action with who did it and when, instead of acting on it."""
    state = data.get("state", "")
    try:
        seen = datetime.datetime.fromisoformat(data.get("seen", ""))
    except ValueError:
        return
    if state in State.values and timezone.is_aware(seen):
        found.state = state
        found.updated_at = seen


@never_cache  # rooms, residents' texts
@login_required
def queue(request):
    user = request.user
    require_role(user)
    compound, compounds = compound_choice(request)
    if compound is None:
        return choose(request, compounds, "voice:requests")
    filters = _filters(request)
    now = timezone.now()
    if filters["late"]:
        rows = selectors.late_requests(user, compound.pk, now)
        if filters["state"]:
            rows = rows.filter(state=filters["state"])
        if filters["category"]:
            rows = rows.filter(category=filters["category"])
    else:
        rows = selectors.request_queue(
            user, compound.pk, state=filters["state"] or None, category=filters["category"] or None
        )
    rows = rows.select_related("household__unit__building")
    page = Paginator(rows, settings.TONGXIN_PAGE_SIZE).get_page(request.GET.get("page"))
    _flag(page.object_list, now)
    query = urlencode({k: v for k, v in {"compound": compound.pk, **filters}.items() if v}).replace(
        "late=late", "late=1"
    )
    context = {
        "compound": compound,
        "page": page,
        "filters": filters,
        "states": State.choices,
        "categories": Category.choices,
        "late_count": selectors.late_count(user, compound.pk, now),
        "query": query,
    }
    return render(request, "voice/requests.html", context)


def _household(user, compound, where: str):
    """The household a room or phone names (None when empty); ValidationError when it names none
    or several."""
    if not where.strip():
        return None
    found = households_for_intake(user, compound, where)
    if len(found) > 1:
        raise ValidationError(_("该手机号对应多户，请填写房号"), code="several_households")
    return found[0]


def _residents(user, household) -> list:
    if household is None:
        return []
    return list(
        registry_selectors.residents_of_household(user, household)
        .exclude(presence="moved_out")
        .order_by("id")
    )


def _new_context(compound, form, residents) -> dict:
    return {
        "compound": compound,
        "form": form,
        "residents": residents,
        "max_files": MAX_FILES,
        "max_mb": f"{settings.TONGXIN_VOICE_ATTACHMENT_MAX_BYTES / 1024 / 1024:g}",
    }


@never_cache
@login_required
def new(request):
    """The form; posted, the request is logged and its page shown."""
    user = request.user
    require_role(user)
    compound, compounds = compound_choice(request)
    if compound is None:
        return choose(request, compounds, "voice:request_new")
    residents = []
    if request.method != "POST":
        form = RequestForm()
        return render(
            request, "voice/request_new.html", {"compound": compound, "form": form, "residents": []}
        )
    form = RequestForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        household = resident = None
        try:
            household = _household(user, compound, data["where"])
        except ValidationError as error:
            form.add_error("where", error)
        residents = _residents(user, household)
        if data["resident"]:
            resident = next((r for r in residents if r.pk == data["resident"]), None)
            if resident is None:
                form.add_error("resident", _("该居民不属于这一户"))
        if not form.errors:
            try:
                made = actions.request_create(
                    actor=user,
                    compound=compound,
                    channel=data["channel"],
                    text=data["text"],
                    household=household,
                    resident=resident,
                    asker=data["asker"],
                    category=data["category"] or None,
                    received_at=data["received_at"],
                    attachments=data["attachments"],
                )
            except ValidationError as error:
                _add_error(form, error)
            else:
                messages.success(request, _("诉求已登记"))
                return redirect("voice:request", pk=made.pk)
    return render(request, "voice/request_new.html", _new_context(compound, form, residents), status=400)


@never_cache
@login_required
@require_GET
def hint(request):
    """HTMX help for the form: the residents of the room or phone typed (`part=residents`), or
    the category the text suggests (`part=category`)."""
    user = request.user
    require_role(user)
    compound, _compounds = compound_choice(request)
    if compound is None:
        raise Http404
    if request.GET.get("part") == "category":
        text = request.GET.get("text", "")[:2000]
        suggested = suggest_category(text) if text.strip() else ""
        context = {"suggested": Category(suggested).label if suggested else ""}
        return render(request, "voice/request_new.html#category_hint", context)
    where = request.GET.get("where", "")[:40]
    household, error = None, ""
    try:
        household = _household(user, compound, where)
    except ValidationError as refusal:
        error = _refusal(refusal) if where.strip() else ""
    context = {"household": household, "residents": _residents(user, household), "where_error": error}
    return render(request, "voice/request_new.html#residents", context)


def _supply_kind(found) -> str:
    """The supply kind a request's category suggests for its hand-over."""
    return RequestKind.MEDICINE if found.category == Category.MEDICAL else RequestKind.OTHER


def _detail_context(user, found, **forms) -> dict:
    now = timezone.now()
    found.late = selectors.is_late(found, now)
    found.due = selectors.answer_due(found)
    answers = list(found.answers.all())
    return {
        "r": found,
        "compound": found.compound,
        "answers": answers,
        "attachments": list(found.attachments.all()),
        "phone": _masked_phone(user, found),
        "answer_form": forms.get("answer_form") or AnswerForm(),
        "reopen_form": forms.get("reopen_form") or ReopenForm(),
        "hand_over_form": forms.get("hand_over_form") or HandOverForm(initial={"kind": _supply_kind(found)}),
        "may_close": found.first_answer_at is not None and found.state != State.CLOSED,
        "classify_form": forms.get("classify_form")
        or ClassifyForm(initial={"category": found.category, "urgent": found.urgent}),
        "hand_on_form": _hand_on_form(user, found, forms.get("hand_on_form")),
    }


def _hand_on_form(user, found, form=None):
    """The hand-on form for the keepers, while the request is not closed (None otherwise)."""
    if form is not None:
        return form
    if user.role not in KEEPERS or found.state == State.CLOSED:
        return None
    return HandOnForm(holders=selectors.hand_on_holders(found))


@never_cache
@login_required
def detail(request, pk: int):
    user = request.user
    require_role(user)
    found = selectors.request_detail(user, pk)
    return render(request, "voice/request.html", _detail_context(user, found))


def _step(request, pk: int, run, done: str):
    """Run a state change on the request the page showed; HTMX (the queue's rows) gets the row
    back with the refusal if any, a plain post goes back to the request's page with a message."""
    user = request.user
    require_role(user)
    found = selectors.request_detail(user, pk)
    _seen(found, request.POST)
    status, error, message = 200, "", ""
    try:
        run(found)
    except (ValidationError, PermissionDenied) as refusal:
        status, error = (400 if isinstance(refusal, ValidationError) else 403), _refusal(refusal)
    else:
        message = done
    if request.htmx:
        fresh = selectors.request_detail(user, pk)
        _flag([fresh], timezone.now())
        context = {"r": fresh, "row_error": error, "row_done": message}
        return render(request, "voice/requests.html#row", context, status=status)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, message)
    return redirect("voice:request", pk=pk)


@login_required
@require_POST
def acknowledge(request, pk: int):
    return _step(
        request, pk, lambda r: actions.request_acknowledge(actor=request.user, request=r), _("已确认")
    )


@login_required
@require_POST
def start(request, pk: int):
    return _step(request, pk, lambda r: actions.request_start(actor=request.user, request=r), _("已开始办理"))


@login_required
@require_POST
def close(request, pk: int):
    return _step(request, pk, lambda r: actions.request_close(actor=request.user, request=r), _("已办结"))


def _with_form(request, pk: int, form_class, form_key: str, run, done: str, form_kwargs=None):
    """A step that takes a form (answer, reopen, hand over, classify, hand on): invalid or refused,
    the request's page again with the form's errors (400); done, back to the page with a message.
    `form_kwargs(found)` gives the form what it needs of the request (the holders to choose)."""
    user = request.user
    require_role(user)
    found = selectors.request_detail(user, pk)
    form = form_class(request.POST, **(form_kwargs(found) if form_kwargs else {}))
    if form.is_valid():
        _seen(found, request.POST)
        try:
            run(found, form.cleaned_data)
        except ValidationError as error:
            _add_error(form, error)
        else:
            messages.success(request, done)
            return redirect("voice:request", pk=pk)
        found = selectors.request_detail(user, pk)
    context = _detail_context(user, found, **{form_key: form})
    return render(request, "voice/request.html", context, status=400)


@login_required
@require_POST
def answer(request, pk: int):
    return _with_form(
        request,
        pk,
        AnswerForm,
        "answer_form",
        lambda r, data: actions.request_answer(
            actor=request.user, request=r, text=data["text"], channel=data["channel"] or None
        ),
        _("已答复"),
    )


@login_required
@require_POST
def reopen(request, pk: int):
    return _with_form(
        request,
        pk,
        ReopenForm,
        "reopen_form",
        lambda r, data: actions.request_reopen(actor=request.user, request=r, reason=data["reason"]),
        _("已重新办理"),
    )


@login_required
@require_POST
def hand_over(request, pk: int):
    return _with_form(
        request,
        pk,
        HandOverForm,
        "hand_over_form",
        lambda r, data: actions.request_hand_over_to_supplies(
            actor=request.user, request=r, kind=data["kind"], detail=data["detail"]
        ),
        _("已转为物资需求"),
    )


@login_required
@require_POST
def classify(request, pk: int):
    return _with_form(
        request,
        pk,
        ClassifyForm,
        "classify_form",
        lambda r, data: actions.request_classify(
            actor=request.user, request=r, category=data["category"], urgent=data["urgent"]
        ),
        _("已更正类别"),
    )


@login_required
@require_POST
def hand_on(request, pk: int):
    """Handed on by a keeper; a volunteer is refused (403) by the action."""
    if request.user.role not in KEEPERS:
        raise PermissionDenied
    return _with_form(
        request,
        pk,
        HandOnForm,
        "hand_on_form",
        lambda r, data: actions.request_hand_on(actor=request.user, request=r, holder=data["holder"]),
        _("已转交经办人"),
        form_kwargs=lambda found: {"holders": selectors.hand_on_holders(found)},
    )


@never_cache
@login_required
def attachment(request, pk: int, attachment_id: int):
    """A request's file, to whoever sees the request (its team, its own household)."""
    found = selectors.request_detail(request.user, pk)
    file = next((a for a in found.attachments.all() if a.pk == attachment_id), None)
    if file is None:
        raise Http404
    return serve_inline(file.file, filename=file.name, content_type=file.content_type)


urlpatterns = [
    path("requests/", queue, name="requests"),
    path("requests/new/", new, name="request_new"),
    path("requests/new/hint/", hint, name="request_hint"),
    path("requests/<int:pk>/", detail, name="request"),
    path("requests/<int:pk>/acknowledge/", acknowledge, name="request_acknowledge"),
    path("requests/<int:pk>/start/", start, name="request_start"),
    path("requests/<int:pk>/answer/", answer, name="request_answer"),
    path("requests/<int:pk>/close/", close, name="request_close"),
    path("requests/<int:pk>/reopen/", reopen, name="request_reopen"),
    path("requests/<int:pk>/hand-over/", hand_over, name="request_hand_over"),
    path("requests/<int:pk>/classify/", classify, name="request_classify"),
    path("requests/<int:pk>/hand-on/", hand_on, name="request_hand_on"),
    path("requests/<int:pk>/files/<int:attachment_id>/", attachment, name="request_attachment"),
]
