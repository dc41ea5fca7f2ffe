"""Common questions: open requests that ask the same thing are grouped (suggested by text
similarity, then merged or split by hand) and answered once, every request recording the answer.

Only unanswered groups change: a group once answered is the record of what everyone was told.
An unanswered group left with fewer than two requests is dissolved (its last request ungrouped)."""

from collections import Counter

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from tongxin.accounts.models import Role
from tongxin.core.audit import audit
from tongxin.core.models import AuditLog
from tongxin.registry.models import Compound
from tongxin.voice import similarity
from tongxin.voice.actions.notices import notice_create
from tongxin.voice.models import Answer, Channel, Notice, QuestionGroup, Request, State
from tongxin.voice.selectors.groups import OPEN_STATES, groups_visible, require_group
from tongxin.voice.selectors.scope import TEAM, request_q, require_compound, require_request

ANSWER_MAX = 2000


def _locked_open_group(actor, group: QuestionGroup) -> QuestionGroup:
    """The group, visible to `actor` (404), of a compound he works on (403), re-read under a row
    lock and still unanswered."""
    require_compound(actor, group.compound_id, roles=TEAM)
    require_group(actor, group.pk)
    locked = QuestionGroup.objects.select_for_update().get(pk=group.pk)
    if locked.answered_at is not None:
        raise ValidationError(
            _("共性问题“%(label)s”已于 %(at)s 答复，不能再调整")
            % {"label": locked.label, "at": date_format(timezone.localtime(locked.answered_at), "m-d H:i")},
            code="group_answered",
        )
    return locked


def _dissolve_if_small(group: QuestionGroup) -> bool:
    """Delete an unanswered group holding fewer than two requests (the FK ungroups the last)."""
    if group.answered_at is None and Request.objects.filter(group=group).count() < 2:
        group.delete()
        return True
    return False


@transaction.atomic
def groups_suggest(*, actor, compound: Compound) -> list[QuestionGroup]:
    """Group the compound's open, ungrouped requests that `actor` sees by what they ask. A request
    asking what an unanswered group (one he sees) already asks joins that group; two or more asking
    something new become a QuestionGroup labelled by their most central text. Groups made or
    changed by hand are never taken apart here. Returns the groups made or joined, each with the
    `request_ids` added, new and joined alike in the order of their oldest request."""
    require_compound(actor, compound.pk, roles=TEAM)
    candidates = list(
        Request.objects.select_for_update(of=("self",))
        .filter(request_q(actor), compound=compound, state__in=OPEN_STATES, group__isnull=True)
        .order_by("received_at", "pk")
        .values_list("pk", "text")
    )
    open_groups = groups_visible(actor).filter(compound=compound, answered_at__isnull=True)
    anchors = list(
        Request.objects.filter(group__in=open_groups)
        .order_by("received_at", "pk")
        .values_list("group_id", "text")
    )
    texts = [text for _pk, text in candidates]
    now = timezone.now()
    touched: dict[int, QuestionGroup] = {}
    for indices in similarity.group_texts(texts + [text for _group, text in anchors]):
        mine = [i for i in indices if i < len(candidates)]
        if not mine:
            continue
        ids = [candidates[i][0] for i in mine]
        joined = Counter(anchors[i - len(candidates)][0] for i in indices if i >= len(candidates))
        if joined:
            # The existing group with most of its questions here (the oldest on a tie).
            group_id = min(joined, key=lambda pk: (-joined[pk], pk))
            group = QuestionGroup.objects.select_for_update().get(pk=group_id)
            if group.answered_at is not None:
                continue
        elif len(ids) >= 2:
            group = QuestionGroup.objects.create(
                compound=compound,
                label=similarity.label_for([texts[i] for i in mine]),
                created_at=now,
                created_by=actor if getattr(actor, "pk", None) else None,
            )
        else:
            continue
        Request.objects.filter(pk__in=ids, group__isnull=True).update(group=group, updated_at=now)
        if group.pk in touched:  # two questions of one group drew different newcomers
            touched[group.pk].request_ids += ids
            continue
        group.request_ids = ids
        group.joined = bool(joined)
        touched[group.pk] = group
    audit(
        actor=actor,
        action="create",
        object_type="voice.questiongroup",
        label=_("共性问题归并：%(compound)s") % {"compound": compound.name},
        reason="group_suggest",
        detail={
            "compound": compound.pk,
            "requests": len(candidates),
            "groups": {str(g.pk): g.request_ids for g in touched.values() if not g.joined},
            "joined": {str(g.pk): g.request_ids for g in touched.values() if g.joined},
        },
    )
    return list(touched.values())


@transaction.atomic
def group_merge(*, actor, groups: list[QuestionGroup]) -> QuestionGroup:
    """Merge unanswered groups of one compound into the oldest of them, which keeps its label."""
    unique = sorted({g.pk: g for g in groups}.values(), key=lambda g: g.pk)
    if len(unique) < 2:
        raise ValidationError(_("请至少选择两个共性问题合并"), code="group_merge_few")
    if len({g.compound_id for g in unique}) > 1:
        raise ValidationError(_("不同小区的共性问题不能合并"), code="group_merge_compound")
    locked = [_locked_open_group(actor, g) for g in unique]
    keep, others = locked[0], locked[1:]
    moved = Request.objects.filter(group__in=others).update(group=keep, updated_at=timezone.now())
    merged_ids = [g.pk for g in others]
    for group in others:
        group.delete()
    audit(
        actor=actor,
        action="update",
        obj=keep,
        reason="group_merge",
        detail={"merged": merged_ids, "moved_requests": moved},
    )
    return keep


@transaction.atomic
def group_split(*, actor, group: QuestionGroup, request_ids, new_group: bool = True) -> QuestionGroup | None:
    """Take the given requests out of `group`: into a new group of their own (when there are two
    or more and `new_group`), else out of any group. Returns the new group, or None."""
    group = _locked_open_group(actor, group)
    try:
        wanted = sorted({int(pk) for pk in request_ids})
    except (TypeError, ValueError):
        raise ValidationError(_("诉求编号无效"), code="group_split_ids") from None
    if not wanted:
        raise ValidationError(_("请选择要拆出的诉求"), code="group_split_empty")
    members = list(Request.objects.select_for_update().filter(group=group).order_by("received_at", "pk"))
    member_ids = {r.pk for r in members}
    if not set(wanted) <= member_ids:
        raise ValidationError(_("所选诉求不在这个共性问题中"), code="group_split_outside")
    into_new = new_group and len(wanted) >= 2
    if into_new and set(wanted) == member_ids:
        raise ValidationError(_("不能把全部诉求拆成新的共性问题"), code="group_split_all")
    now = timezone.now()
    target = None
    if into_new:
        texts = [r.text for r in members if r.pk in set(wanted)]
        target = QuestionGroup.objects.create(
            compound_id=group.compound_id,
            label=similarity.label_for(texts),
            created_at=now,
            created_by=actor if getattr(actor, "pk", None) else None,
        )
    Request.objects.filter(pk__in=wanted, group=group).update(group=target, updated_at=now)
    dissolved = _dissolve_if_small(group)
    audit(
        actor=actor,
        action="update",
        object_type="voice.questiongroup",
        object_id=str(group.pk),
        label=group.label,
        reason="group_split",
        detail={"requests": wanted, "new_group": target.pk if target else None, "dissolved": dissolved},
    )
    return target


@transaction.atomic
def group_remove_request(*, actor, request: Request) -> None:
    """Take one request out of its (unanswered) group."""
    request = require_request(actor, request.pk)
    if request.group_id is None:
        raise ValidationError(_("这条诉求不在任何共性问题中"), code="group_remove_none")
    group = _locked_open_group(actor, request.group)
    updated = Request.objects.filter(pk=request.pk, group=group).update(group=None, updated_at=timezone.now())
    if not updated:
        raise ValidationError(_("这条诉求已被移出共性问题"), code="group_remove_stale")
    dissolved = _dissolve_if_small(group)
    audit(
        actor=actor,
        action="update",
        object_type="voice.questiongroup",
        object_id=str(group.pk),
        label=group.label,
        reason="group_remove",
        detail={"request": request.pk, "dissolved": dissolved},
    )


@transaction.atomic
def group_answer(*, actor, group: QuestionGroup, text: str, notice: Notice | None = None) -> list[Answer]:
    """Answer the whole group once (in the group chat, or by `notice`): every request of the group
    records the answer; the first answer time is set where empty; open requests become answered
    (one answered or closed meanwhile keeps its state but records this answer too)."""
    if getattr(actor, "role", None) == Role.RESIDENT:
        raise PermissionDenied
    require_compound(actor, group.compound_id, roles=TEAM)
    require_group(actor, group.pk)
    text = (text or "").strip()
    if not text:
        raise ValidationError(_("请填写答复内容"), code="group_answer_empty")
    if len(text) > ANSWER_MAX:
        raise ValidationError(
            _("答复内容不能超过 %(max)s 个字") % {"max": ANSWER_MAX}, code="group_answer_long"
        )
    if notice is not None and notice.compound_id != group.compound_id:
        raise ValidationError(_("通知不属于这个小区"), code="group_answer_notice")
    now = timezone.now()
    # A published notice answers when it was published (a notice posted before being recorded here);
    # a request that came after it is answered now.
    published = notice.published_at if notice is not None and notice.published_at else None
    answered_at = published if published is not None and published <= now else now
    won = QuestionGroup.objects.filter(pk=group.pk, answered_at__isnull=True).update(
        answered_at=answered_at, notice=notice
    )
    if not won:
        group.refresh_from_db()
        who = (
            AuditLog.objects.filter(
                object_type="voice.questiongroup", object_id=str(group.pk), reason="group_answer"
            )
            .order_by("-at", "-pk")
            .values_list("actor_name", flat=True)
            .first()
        ) or _("他人")
        raise ValidationError(
            _("%(who)s 已于 %(at)s 答复了这个共性问题")
            % {"who": who, "at": date_format(timezone.localtime(group.answered_at), "m-d H:i")},
            code="group_answer_stale",
        )
    requests = list(Request.objects.select_for_update().filter(group=group).order_by("received_at", "pk"))
    if not requests:  # every request taken out meanwhile: nothing recorded, the group stays open
        raise ValidationError(_("这个共性问题已没有诉求"), code="group_answer_none")
    answers = Answer.objects.bulk_create(
        [
            Answer(
                request=r,
                text=text,
                channel=Channel.GROUP,
                notice=notice,
                at=answered_at if r.received_at <= answered_at else now,
                by=actor if getattr(actor, "pk", None) else None,
            )
            for r in requests
        ]
    )
    unanswered = Request.objects.filter(group=group, first_answer_at__isnull=True)
    unanswered.filter(received_at__lte=answered_at).update(first_answer_at=answered_at, updated_at=now)
    unanswered.update(first_answer_at=now, updated_at=now)
    Request.objects.filter(group=group, state__in=OPEN_STATES).update(state=State.ANSWERED, updated_at=now)
    if getattr(actor, "pk", None):
        Request.objects.filter(group=group, holder__isnull=True).update(holder=actor)
    group.answered_at, group.notice = answered_at, notice
    audit(
        actor=actor,
        action="update",
        obj=group,
        reason="group_answer",
        detail={"requests": [r.pk for r in requests], "notice": notice.pk if notice else None},
    )
    return answers


def _default_notice_title(group: QuestionGroup) -> str:
    return (_("答复：%(label)s") % {"label": group.label})[:100]


@transaction.atomic
def group_answer_by_notice(
    *, actor, group: QuestionGroup, text: str, title: str = "", channels=("portal",)
) -> tuple[Notice, list[Answer]]:
    """Answer the whole group with ONE notice to the compound, published now through `channels`:
    the notice and every request's answer (which names it) are written together or not at all.
    Returns the notice and the answers."""
    if getattr(actor, "role", None) == Role.RESIDENT:
        raise PermissionDenied
    require_compound(actor, group.compound_id, roles=TEAM)
    group = require_group(actor, group.pk)
    if not (text or "").strip():
        raise ValidationError(_("请填写答复内容"), code="group_answer_empty")
    notice = notice_create(
        actor=actor,
        compound=group.compound,
        title=(title or "").strip() or _default_notice_title(group),
        body=text,
        channels=channels,
    )
    return notice, group_answer(actor=actor, group=group, text=text, notice=notice)
