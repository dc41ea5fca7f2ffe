"""JSON API of the common questions (mounted at /api/v1/voice/groups/), mirroring /voice/groups/.

- `GET groups?compound=&answered=`: the compound's groups (to answer first, then the latest 100 answered), each
  with its requests' texts.
- `GET groups/{id}`: one group.
- `POST groups/suggest`: `{"compound"}`: group the open requests that ask the same thing; the
  groups made or joined with the requests added.
- `POST groups/merge`: `{"groups": [id, ...]}` (two or more unanswered groups of one compound).
- `POST groups/{id}/split`: `{"requests": [id, ...], "new_group": true}`: into a new group of
  their own (two or more), or out of any group (`new_group: false`).
- `POST groups/requests/{request_id}/remove`: take one request out of its group.
- `POST groups/{id}/answer`: `{"text", "title"?, "channels"?: ["portal", "sms", "wecom",
  "dingtalk"]}`: ONE notice to the compound, published now, recorded as every request's answer.
  A group answered meanwhile by someone else: 409.

The compound's team, volunteers included (answering publishes a notice: not volunteers);
residents 403; another compound's groups and requests 404.
"""

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _
from ninja import Router, Schema
from pydantic import Field

from tongxin.registry import selectors as registry_selectors
from tongxin.voice.actions import groups as actions
from tongxin.voice.models import Delivery, QuestionGroup
from tongxin.voice.selectors import groups as selectors
from tongxin.voice.selectors.scope import KEEPERS, require_compound, require_request, require_role

router = Router()
MAX_IDS = 500


def _team(user) -> None:
    require_role(user, _("当前角色不能处理诉求"))


class GroupRequestOut(Schema):
    id: int
    text: str
    room: str
    asker: str
    channel: str
    state: str
    received_at: datetime.datetime
    answered: bool


class GroupOut(Schema):
    id: int
    compound: int
    label: str
    created_at: datetime.datetime
    answered_at: datetime.datetime | None
    notice: int | None
    requests: list[GroupRequestOut]


def _room(household) -> str:
    if household is None:
        return ""
    return f"{household.building.number}-{household.unit.number}-{household.room}"


def _out(group: QuestionGroup) -> dict:
    return {
        "id": group.pk,
        "compound": group.compound_id,
        "label": group.label,
        "created_at": group.created_at,
        "answered_at": group.answered_at,
        "notice": group.notice_id,
        "requests": [
            {
                "id": r.pk,
                "text": r.text,
                "room": _room(r.household),
                "asker": r.asker,
                "channel": r.channel,
                "state": r.state,
                "received_at": r.received_at,
                "answered": r.first_answer_at is not None,
            }
            for r in group.request_list
        ],
    }


def _detail(user, group_id: int) -> dict:
    return _out(selectors.group_detail(user, group_id))


@router.get("", response=list[GroupOut], url_name="voice_groups")
def groups(request, compound: int, answered: bool | None = None):
    user = request.user
    _team(user)
    place = registry_selectors.compound_get(user, compound)
    require_compound(user, place.pk)
    board = selectors.groups_board(user, place.pk, answered_limit=100)
    found = {None: board["open"] + board["answered"], False: board["open"], True: board["answered"]}[answered]
    return [_out(g) for g in found]


@router.get("/{int:group_id}", response=GroupOut, url_name="voice_group")
def group(request, group_id: int):
    _team(request.user)
    return _detail(request.user, group_id)


class CompoundIn(Schema):
    compound: int


class SuggestedOut(Schema):
    id: int
    label: str
    joined: bool
    added: list[int]


@router.post("/suggest", response=list[SuggestedOut], url_name="voice_groups_suggest")
def suggest(request, body: CompoundIn):
    user = request.user
    _team(user)
    place = registry_selectors.compound_get(user, body.compound)
    found = actions.groups_suggest(actor=user, compound=place)
    return [{"id": g.pk, "label": g.label, "joined": g.joined, "added": g.request_ids} for g in found]


class MergeIn(Schema):
    groups: list[int] = Field(..., min_length=1, max_length=MAX_IDS)


@router.post("/merge", response=GroupOut, url_name="voice_groups_merge")
def merge(request, body: MergeIn):
    user = request.user
    _team(user)
    picked = [selectors.require_group(user, pk) for pk in body.groups]
    kept = actions.group_merge(actor=user, groups=picked)
    return _detail(user, kept.pk)


class SplitIn(Schema):
    requests: list[int] = Field(..., min_length=1, max_length=MAX_IDS)
    new_group: bool = True


class SplitOut(Schema):
    group: GroupOut | None
    new_group: GroupOut | None


@router.post("/{int:group_id}/split", response=SplitOut, url_name="voice_group_split")
def split(request, group_id: int, body: SplitIn):
    user = request.user
    _team(user)
    group = selectors.require_group(user, group_id)
    made = actions.group_split(actor=user, group=group, request_ids=body.requests, new_group=body.new_group)
    left = selectors.groups_visible(user).filter(pk=group.pk).exists()
    return {
        "group": _detail(user, group.pk) if left else None,
        "new_group": _detail(user, made.pk) if made else None,
    }


class RemovedOut(Schema):
    request: int
    group: GroupOut | None


@router.post("/requests/{int:request_id}/remove", response=RemovedOut, url_name="voice_group_remove")
def remove(request, request_id: int):
    user = request.user
    _team(user)
    found = require_request(user, request_id)
    group_id = found.group_id
    actions.group_remove_request(actor=user, request=found)
    left = group_id is not None and selectors.groups_visible(user).filter(pk=group_id).exists()
    return {"request": found.pk, "group": _detail(user, group_id) if left else None}


class AnswerIn(Schema):
    text: str = Field(..., max_length=actions.ANSWER_MAX)
    title: str = Field("", max_length=100)
    channels: list[str] = Field([Delivery.ChannelKind.PORTAL.value], min_length=1, max_length=4)


class GroupAnswerOut(Schema):
    group: GroupOut
    notice: int
    answers: int


@router.post(
    "/{int:group_id}/answer", response={200: GroupAnswerOut, 409: dict}, url_name="voice_group_answer"
)
def answer(request, group_id: int, body: AnswerIn):
    user = request.user
    _team(user)
    group = selectors.require_group(user, group_id)
    if user.role not in KEEPERS:
        raise PermissionDenied(_("当前角色不能发布通知"))
    try:
        notice, answers = actions.group_answer_by_notice(
            actor=user, group=group, text=body.text, title=body.title, channels=body.channels
        )
    except ValidationError as error:
        if getattr(error, "code", None) == "group_answer_stale":
            return 409, {"detail": error.messages[0]}
        raise
    return {"group": _detail(user, group.pk), "notice": notice.pk, "answers": len(answers)}
