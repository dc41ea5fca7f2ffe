"""/voice/groups/: a compound's common questions (共性问题). "Find common questions" groups the open
requests that ask the same thing; the team merges groups, splits requests out or removes one by
hand; one text answers a whole group: it is published as ONE notice to the compound and every
request of the group records it as its answer.

For the compound's team (`TEAM`, volunteers included); answering publishes a notice, so it is
offered to those who may publish (`KEEPERS`). Residents are refused (403); another compound's
groups are not found (404)."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from tongxin.voice.actions.groups import (
    group_answer_by_notice,
    group_merge,
    group_remove_request,
    group_split,
    groups_suggest,
)
from tongxin.voice.forms.groups import GroupAnswerForm
from tongxin.voice.selectors.groups import answer_channels, groups_board, require_group
from tongxin.voice.selectors.scope import KEEPERS, require_request
from tongxin.voice.views.common import choose, require_role, team_compound

MAX_PICKED = 500


def _require_team(user) -> None:
    require_role(user, _("当前角色不能处理诉求"))


def _compound(request):
    return team_compound(request, _("当前角色不能处理诉求"))


def _groups_url(compound_id: int) -> str:
    return f"{reverse('voice:groups')}?{urlencode({'compound': compound_id})}"


def _ids(request, name: str) -> list[int]:
    return [
        int(v)
        for v in request.POST.getlist(name)[:MAX_PICKED]
        if v.isascii() and v.isdigit() and len(v) <= 18
    ]


def _answer_form(group, channels, data=None) -> GroupAnswerForm:
    return GroupAnswerForm(data, channels=channels, auto_id=f"g{group.pk}-%s")


def _page(request, compound, *, failed_group=None, failed_form=None, status=200):
    user = request.user
    board = groups_board(user, compound.pk)
    can_answer = user.role in KEEPERS
    channels = answer_channels(user, compound.pk) if can_answer else []
    for group in board["open"]:
        if can_answer:
            group.answer_form = failed_form if failed_group == group.pk else _answer_form(group, channels)
    if failed_form is not None and failed_group not in {g.pk for g in board["open"]}:
        # Answered (or dissolved) meanwhile: its form is gone from the page, say why here.
        messages.error(request, "；".join(failed_form.non_field_errors()))
    context = {
        "compound": compound,
        "open_groups": board["open"],
        "answered_groups": board["answered"],
        "can_answer": can_answer,
    }
    return render(request, "voice/groups.html", context, status=status)


@never_cache  # residents' questions, their rooms
@login_required
def groups(request):
    compound, compounds = _compound(request)
    if compound is None:
        return choose(request, compounds, "voice:groups")
    return _page(request, compound)


def _posted_compound(request):
    compound, _compounds = _compound(request)
    if compound is None:
        raise Http404
    return compound


def _refused(request, error: ValidationError) -> None:
    messages.error(request, "；".join(error.messages))


@never_cache
@login_required
@require_POST
def suggest(request):
    compound = _posted_compound(request)
    found = groups_suggest(actor=request.user, compound=compound)
    if found:
        moved = sum(len(g.request_ids) for g in found)
        messages.success(
            request,
            ngettext(
                "归并了 %(groups)s 个共性问题，共 %(requests)s 条诉求",
                "归并了 %(groups)s 个共性问题，共 %(requests)s 条诉求",
                len(found),
            )
            % {"groups": len(found), "requests": moved},
        )
    else:
        messages.info(request, _("没有找到新的共性问题"))
    return redirect(_groups_url(compound.pk))


@never_cache
@login_required
@require_POST
def merge(request):
    compound = _posted_compound(request)
    picked = [require_group(request.user, pk) for pk in _ids(request, "group")]
    try:
        kept = group_merge(actor=request.user, groups=picked)
    except ValidationError as error:
        _refused(request, error)
    else:
        messages.success(request, _("已合并为“%(label)s”") % {"label": kept.label})
    return redirect(_groups_url(compound.pk))


@never_cache
@login_required
@require_POST
def split(request, group_id: int):
    _require_team(request.user)
    group = require_group(request.user, group_id)
    into_new = request.POST.get("mode", "new") != "out"
    try:
        made = group_split(
            actor=request.user, group=group, request_ids=_ids(request, "request"), new_group=into_new
        )
    except ValidationError as error:
        _refused(request, error)
    else:
        if made is not None:
            messages.success(request, _("已拆出新的共性问题“%(label)s”") % {"label": made.label})
        else:
            messages.success(request, _("已把所选诉求移出共性问题"))
    return redirect(_groups_url(group.compound_id))


@never_cache
@login_required
@require_POST
def remove(request, request_id: int):
    _require_team(request.user)
    found = require_request(request.user, request_id)
    try:
        group_remove_request(actor=request.user, request=found)
    except ValidationError as error:
        _refused(request, error)
    else:
        messages.success(request, _("已移出共性问题"))
    return redirect(_groups_url(found.compound_id))


@never_cache
@login_required
@require_POST
def answer(request, group_id: int):
    _require_team(request.user)
    group = require_group(request.user, group_id)
    compound = group.compound
    if request.user.role not in KEEPERS:
        raise PermissionDenied(_("当前角色不能发布通知"))
    form = _answer_form(group, answer_channels(request.user, compound.pk), request.POST)
    if not form.is_valid():
        return _page(request, compound, failed_group=group.pk, failed_form=form, status=400)
    data = form.cleaned_data
    try:
        notice, answers = group_answer_by_notice(
            actor=request.user, group=group, text=data["text"], title=data["title"], channels=data["channels"]
        )
    except ValidationError as error:
        form.add_error(None, error.messages)
        return _page(request, compound, failed_group=group.pk, failed_form=form, status=400)
    messages.success(
        request,
        ngettext(
            "已发布通知“%(title)s”，%(n)s 条诉求已记录这条答复",
            "已发布通知“%(title)s”，%(n)s 条诉求已记录这条答复",
            len(answers),
        )
        % {"title": notice.title, "n": len(answers)},
    )
    return redirect(_groups_url(compound.pk))


urlpatterns = [
    path("groups/", groups, name="groups"),
    path("groups/suggest/", suggest, name="groups_suggest"),
    path("groups/merge/", merge, name="groups_merge"),
    path("groups/<int:group_id>/split/", split, name="group_split"),
    path("groups/<int:group_id>/answer/", answer, name="group_answer"),
    path("groups/requests/<int:request_id>/remove/", remove, name="group_remove"),
]
