"""Common questions: suggested groups, merged and split by hand, answered once for everyone."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone

from tongxin.accounts.models import Role
from tongxin.core.models import AuditLog
from tongxin.voice.actions.groups import (
    group_answer,
    group_merge,
    group_remove_request,
    group_split,
    groups_suggest,
)
from tongxin.voice.models import Answer, Channel, Notice, QuestionGroup, Request, State
from tongxin.voice.selectors.groups import compound_groups, group_detail
from tongxin.voice.tests.request_helpers import seven_questions

T0 = datetime.datetime(2022, 11, 20, 9, 0, tzinfo=datetime.UTC)


def ask(world, text, *, household=None, compound=None, state=State.NEW, minute=0, **extra):
    return Request.objects.create(
        compound=compound or world.compound_a,
        household=household,
        channel=Channel.GROUP,
        text=text,
        state=state,
        received_at=T0 + datetime.timedelta(minutes=minute),
        **extra,
    )


@pytest.fixture
def asked(world):
    return [
        ask(world, text, household=home, minute=i) for i, (text, home) in enumerate(seven_questions(world))
    ]


def manager(world):
    return world.users[Role.COMPOUND_MANAGER]


def members(group):
    return sorted(Request.objects.filter(group=group).values_list("pk", flat=True))


def test_suggest_groups_the_open_requests_that_ask_the_same_thing(world, asked):
    groups = groups_suggest(actor=manager(world), compound=world.compound_a)
    r = asked
    assert [members(g) for g in groups] == [[r[0].pk, r[3].pk, r[5].pk], [r[1].pk, r[4].pk, r[6].pk]]
    assert [g.label for g in groups] == ["什么时候解封", "快递能进吗"]
    assert Request.objects.get(pk=r[2].pk).group_id is None
    assert all(g.compound_id == world.compound_a.pk and g.created_by == manager(world) for g in groups)
    log = AuditLog.objects.get(reason="group_suggest")
    assert log.detail["requests"] == 7 and len(log.detail["groups"]) == 2
    # Run again: nothing left to group.
    assert groups_suggest(actor=manager(world), compound=world.compound_a) == []
    assert QuestionGroup.objects.count() == 2


def test_suggest_leaves_answered_closed_grouped_and_other_compounds_requests(world, asked):
    ask(world, "什么时候解封", state=State.ANSWERED, first_answer_at=T0)
    ask(world, "什么时候解封啊", state=State.CLOSED, first_answer_at=T0)
    ask(world, "什么时候解封呢", compound=world.compound_b, household=world.home_b)
    groups = groups_suggest(actor=manager(world), compound=world.compound_a)
    grouped = Request.objects.filter(group__isnull=False)
    assert grouped.count() == 6
    assert set(grouped.values_list("compound_id", flat=True)) == {world.compound_a.pk}
    assert set(grouped.values_list("state", flat=True)) == {State.NEW}
    assert len(groups) == 2


def test_a_grid_worker_groups_only_what_he_sees(world, asked):
    # The grid worker has building 1 (home_a1) and requests with no household.
    groups = groups_suggest(actor=world.users[Role.GRID_WORKER], compound=world.compound_a)
    r = asked
    assert [members(g) for g in groups] == [[r[0].pk, r[5].pk], [r[1].pk, r[6].pk]]
    # The manager sees home_a2's questions too: they join the groups asking the same.
    more = [
        ask(world, text, household=world.home_a2, minute=20 + i)
        for i, text in enumerate(["啥时候解封", "几号解封"])
    ]
    joined = groups_suggest(actor=manager(world), compound=world.compound_a)
    assert [(g.pk, g.request_ids, g.joined) for g in joined] == [
        (groups[0].pk, [r[3].pk, more[0].pk, more[1].pk], True),
        (groups[1].pk, [r[4].pk], True),
    ]
    # Now each group holds a request of building 2: the grid worker no longer sees them.
    assert len(compound_groups(world.users[Role.GRID_WORKER], world.compound_a.pk)) == 0
    assert len(compound_groups(manager(world), world.compound_a.pk)) == 2
    with pytest.raises(Http404):
        group_detail(world.users[Role.GRID_WORKER], groups[0].pk)
    with pytest.raises(Http404):
        group_answer(actor=world.users[Role.GRID_WORKER], group=groups[0], text="下周一解封")


def test_scoping_other_compound_and_residents(world, asked):
    groups = groups_suggest(actor=manager(world), compound=world.compound_a)
    b_manager = Role.COMPOUND_MANAGER
    from tongxin.registry.tests.factories import make_user

    other = make_user(b_manager, username="manager_b", compound=world.compound_b)
    with pytest.raises(Http404):
        groups_suggest(actor=other, compound=world.compound_a)
    with pytest.raises(Http404):
        compound_groups(other, world.compound_a.pk)
    with pytest.raises(Http404):
        group_detail(other, groups[0].pk)
    with pytest.raises(Http404):
        group_answer(actor=other, group=groups[0], text="下周一解封")
    with pytest.raises(Http404):
        group_merge(actor=other, groups=groups)
    resident = world.users[Role.RESIDENT]
    with pytest.raises((Http404, PermissionDenied)):
        groups_suggest(actor=resident, compound=world.compound_a)
    with pytest.raises((Http404, PermissionDenied)):
        group_answer(actor=resident, group=groups[0], text="下周一解封")
    with pytest.raises(Http404):
        group_detail(resident, groups[0].pk)
    with pytest.raises(Http404):
        group_detail(manager(world), "abc")
    assert not Answer.objects.exists()


def test_volunteers_and_officials_see_the_groups(world, asked):
    groups_suggest(actor=world.users[Role.VOLUNTEER], compound=world.compound_a)
    listed = compound_groups(world.users[Role.OFFICIAL], world.compound_a.pk)
    assert [(g.label, g.requests_count, g.unanswered_count) for g in listed] == [
        ("快递能进吗", 3, 3),
        ("什么时候解封", 3, 3),
    ]


def test_group_answer_is_recorded_on_every_request(world, asked):
    unseal, parcels = groups_suggest(actor=manager(world), compound=world.compound_a)
    r = asked
    # One of them was answered privately meanwhile, another is being worked on.
    earlier = T0 + datetime.timedelta(hours=1)
    Request.objects.filter(pk=r[3].pk).update(state=State.ANSWERED, first_answer_at=earlier)
    Request.objects.filter(pk=r[5].pk).update(state=State.IN_PROGRESS, holder=world.users[Role.GRID_WORKER])
    notice = Notice.objects.create(compound=world.compound_a, title="解封通知", body="下周一起分批解封")
    answers = group_answer(
        actor=manager(world), group=unseal, text="  下周一起分批解封，请关注通知  ", notice=notice
    )
    assert len(answers) == 3
    rows = Answer.objects.filter(request__group=unseal)
    assert sorted(rows.values_list("request_id", flat=True)) == [r[0].pk, r[3].pk, r[5].pk]
    assert set(rows.values_list("text", "channel", "notice_id", "by_id")) == {
        ("下周一起分批解封，请关注通知", Channel.GROUP, notice.pk, manager(world).pk)
    }
    fresh = {q.pk: q for q in Request.objects.filter(group=unseal)}
    assert {q.state for q in fresh.values()} == {State.ANSWERED}
    assert fresh[r[3].pk].first_answer_at == earlier  # not moved
    assert fresh[r[0].pk].first_answer_at == rows.first().at
    assert fresh[r[5].pk].holder == world.users[Role.GRID_WORKER]
    assert fresh[r[0].pk].holder == manager(world)
    unseal.refresh_from_db()
    assert unseal.answered_at is not None and unseal.notice == notice
    # The other group is untouched.
    assert set(Request.objects.filter(group=parcels).values_list("state", flat=True)) == {State.NEW}
    assert AuditLog.objects.filter(reason="group_answer", object_id=str(unseal.pk)).count() == 1
    listed = {g.pk: g for g in compound_groups(manager(world), world.compound_a.pk)}
    assert (listed[unseal.pk].requests_count, listed[unseal.pk].unanswered_count) == (3, 0)
    assert list(compound_groups(manager(world), world.compound_a.pk, answered=True)) == [unseal]
    assert list(compound_groups(manager(world), world.compound_a.pk, answered=False)) == [parcels]
    detail = group_detail(manager(world), unseal.pk)
    assert [q.pk for q in detail.request_list] == [r[0].pk, r[3].pk, r[5].pk]


def test_a_closed_request_records_the_answer_but_stays_closed(world, asked):
    unseal, _parcels = groups_suggest(actor=manager(world), compound=world.compound_a)
    closed_at = timezone.now()
    Request.objects.filter(pk=asked[0].pk).update(state=State.CLOSED, first_answer_at=T0, closed_at=closed_at)
    group_answer(actor=manager(world), group=unseal, text="下周一解封")
    closed = Request.objects.get(pk=asked[0].pk)
    assert closed.state == State.CLOSED and closed.first_answer_at == T0
    assert closed.answers.get().text == "下周一解封"


@pytest.mark.parametrize("text", ["", "   ", None, "长" * 2001])
def test_group_answer_refuses_bad_text(world, asked, text):
    unseal, _ = groups_suggest(actor=manager(world), compound=world.compound_a)
    with pytest.raises(ValidationError) as caught:
        group_answer(actor=manager(world), group=unseal, text=text)
    assert caught.value.code in ("group_answer_empty", "group_answer_long")
    assert not Answer.objects.exists()
    unseal.refresh_from_db()
    assert unseal.answered_at is None


def test_group_answer_refuses_another_compounds_notice(world, asked):
    unseal, _ = groups_suggest(actor=manager(world), compound=world.compound_a)
    notice = Notice.objects.create(compound=world.compound_b, title="乙", body="乙")
    with pytest.raises(ValidationError) as caught:
        group_answer(actor=manager(world), group=unseal, text="下周一", notice=notice)
    assert caught.value.code == "group_answer_notice"
    assert not Answer.objects.exists()


def test_two_stale_answers_one_wins_the_other_is_told(world, asked):
    unseal, _ = groups_suggest(actor=manager(world), compound=world.compound_a)
    stale = QuestionGroup.objects.get(pk=unseal.pk)
    group_answer(actor=manager(world), group=unseal, text="下周一解封")
    with pytest.raises(ValidationError) as caught:
        group_answer(actor=world.users[Role.VOLUNTEER], group=stale, text="不知道")
    assert caught.value.code == "group_answer_stale"
    assert "manager" in caught.value.messages[0]
    assert Answer.objects.count() == 3
    assert not Answer.objects.filter(text="不知道").exists()


def test_merge_moves_every_request_into_the_oldest_group(world, asked):
    unseal, parcels = groups_suggest(actor=manager(world), compound=world.compound_a)
    kept = group_merge(actor=manager(world), groups=[parcels, unseal, parcels])
    assert kept.pk == unseal.pk and kept.label == "什么时候解封"
    assert len(members(kept)) == 6
    assert not QuestionGroup.objects.filter(pk=parcels.pk).exists()
    assert AuditLog.objects.get(reason="group_merge").detail == {"merged": [parcels.pk], "moved_requests": 3}


def test_merge_refusals(world, asked):
    unseal, parcels = groups_suggest(actor=manager(world), compound=world.compound_a)
    with pytest.raises(ValidationError) as caught:
        group_merge(actor=manager(world), groups=[unseal])
    assert caught.value.code == "group_merge_few"
    other = QuestionGroup.objects.create(compound=world.compound_b, label="乙")
    with pytest.raises(ValidationError) as caught:
        group_merge(actor=manager(world), groups=[unseal, other])
    assert caught.value.code == "group_merge_compound"
    group_answer(actor=manager(world), group=parcels, text="快递放在门口，志愿者消杀后送到楼下")
    with pytest.raises(ValidationError) as caught:
        group_merge(actor=manager(world), groups=[unseal, parcels])
    assert caught.value.code == "group_answered"
    assert len(members(unseal)) == 3 and len(members(parcels)) == 3


def test_split_into_a_new_group_or_out_of_any(world, asked):
    r = asked
    unseal, parcels = groups_suggest(actor=manager(world), compound=world.compound_a)
    group_merge(actor=manager(world), groups=[unseal, parcels])
    new = group_split(actor=manager(world), group=unseal, request_ids=[str(r[1].pk), r[4].pk, r[6].pk])
    assert members(new) == [r[1].pk, r[4].pk, r[6].pk] and new.label == "快递能进吗"
    assert members(unseal) == [r[0].pk, r[3].pk, r[5].pk]
    assert (
        group_split(actor=manager(world), group=new, request_ids=[r[4].pk, r[6].pk], new_group=False) is None
    )
    # Left with one request, the group is dissolved.
    assert not QuestionGroup.objects.filter(pk=new.pk).exists()
    assert Request.objects.filter(pk__in=[r[1].pk, r[4].pk, r[6].pk], group__isnull=False).count() == 0
    # One request alone never makes a group.
    assert group_split(actor=manager(world), group=unseal, request_ids=[r[5].pk]) is None
    assert members(unseal) == [r[0].pk, r[3].pk]


@pytest.mark.parametrize(
    ("ids", "code"),
    [
        ([], "group_split_empty"),
        (["x"], "group_split_ids"),
        (None, "group_split_ids"),
        ("outside", "group_split_outside"),
        ("all", "group_split_all"),
    ],
)
def test_split_refusals(world, asked, ids, code):
    unseal, parcels = groups_suggest(actor=manager(world), compound=world.compound_a)
    if ids == "outside":
        ids = members(parcels)[:1] + members(unseal)[:1]
    elif ids == "all":
        ids = members(unseal)
    with pytest.raises(ValidationError) as caught:
        group_split(actor=manager(world), group=unseal, request_ids=ids)
    assert caught.value.code == code
    assert len(members(unseal)) == 3 and QuestionGroup.objects.count() == 2


def test_remove_a_request(world, asked):
    r = asked
    unseal, _ = groups_suggest(actor=manager(world), compound=world.compound_a)
    group_remove_request(actor=manager(world), request=r[3])
    assert members(unseal) == [r[0].pk, r[5].pk]
    with pytest.raises(ValidationError) as caught:
        group_remove_request(actor=manager(world), request=Request.objects.get(pk=r[3].pk))
    assert caught.value.code == "group_remove_none"
    group_remove_request(actor=manager(world), request=r[5])
    assert not QuestionGroup.objects.filter(pk=unseal.pk).exists()
    assert Request.objects.get(pk=r[0].pk).group_id is None
    assert AuditLog.objects.filter(reason="group_remove").count() == 2


def test_an_answered_group_is_not_changed(world, asked):
    r = asked
    unseal, _ = groups_suggest(actor=manager(world), compound=world.compound_a)
    group_answer(actor=manager(world), group=unseal, text="下周一解封")
    for call in (
        lambda: group_remove_request(actor=manager(world), request=Request.objects.get(pk=r[3].pk)),
        lambda: group_split(actor=manager(world), group=unseal, request_ids=[r[3].pk]),
    ):
        with pytest.raises(ValidationError) as caught:
            call()
        assert caught.value.code == "group_answered"
    assert members(unseal) == [r[0].pk, r[3].pk, r[5].pk]


def test_a_grid_worker_cannot_answer_a_group_holding_requests_he_does_not_see(world, asked):
    unseal, _ = groups_suggest(actor=manager(world), compound=world.compound_a)
    with pytest.raises(Http404):
        group_answer(actor=world.users[Role.GRID_WORKER], group=unseal, text="下周一解封")
    with pytest.raises(Http404):
        group_remove_request(actor=world.users[Role.GRID_WORKER], request=asked[0])
    assert not Answer.objects.exists()


def test_list_query_count_does_not_grow(world, asked, django_assert_max_num_queries):
    groups_suggest(actor=manager(world), compound=world.compound_a)
    for i in range(5):
        ask(world, f"{i}号楼的核酸几点做", minute=30 + i)
        ask(world, f"{i}号楼几点做核酸", minute=40 + i)
    groups_suggest(actor=manager(world), compound=world.compound_a)
    with django_assert_max_num_queries(3):
        listed = list(compound_groups(manager(world), world.compound_a.pk))
        assert [g.requests_count for g in listed] and sum(g.requests_count for g in listed) >= 16


def test_a_new_request_joins_the_unanswered_group_asking_the_same(world, asked):
    r = asked
    unseal, parcels = groups_suggest(actor=manager(world), compound=world.compound_a)
    group_answer(actor=manager(world), group=parcels, text="快递消杀后送到楼下")
    late = [
        ask(world, "到底啥时候解封？", minute=60),
        ask(world, "快递今天能进来吗", minute=61),
        ask(world, "快递可以进小区吗", minute=62),
        ask(world, "楼下垃圾没人收", minute=63),
    ]
    touched = groups_suggest(actor=manager(world), compound=world.compound_a)
    assert [(g.pk, g.request_ids, g.joined) for g in touched][0] == (unseal.pk, [late[0].pk], True)
    # The answered parcels group takes nobody: the two new parcel questions make a group of their own.
    assert len(touched) == 2 and not touched[1].joined and members(touched[1]) == [late[1].pk, late[2].pk]
    assert members(unseal) == [r[0].pk, r[3].pk, r[5].pk, late[0].pk]
    assert members(parcels) == [r[1].pk, r[4].pk, r[6].pk]
    assert Request.objects.get(pk=late[3].pk).group_id is None
    log = AuditLog.objects.filter(reason="group_suggest").latest("pk")
    assert log.detail["joined"] == {str(unseal.pk): [late[0].pk]}


def test_an_emptied_group_is_not_answered(world, asked):
    empty = QuestionGroup.objects.create(compound=world.compound_a, label="什么时候解封")
    with pytest.raises(ValidationError) as caught:
        group_answer(actor=manager(world), group=empty, text="下周一解封")
    assert caught.value.code == "group_answer_none"
    empty.refresh_from_db()
    assert empty.answered_at is None
    assert not AuditLog.objects.filter(reason="group_answer").exists()


def test_a_published_notice_answers_when_it_was_published(world, asked):
    """A notice posted in the groups before it is recorded here answered the requests that came
    before it at its publishing time; a request that came after it is answered now."""
    unseal, _parcels = groups_suggest(actor=manager(world), compound=world.compound_a)
    members = list(Request.objects.filter(group=unseal).order_by("received_at"))
    published = members[1].received_at + datetime.timedelta(seconds=30)  # after two of the three
    notice = Notice.objects.create(
        compound=world.compound_a, title="解封", body="下周一", published_at=published
    )
    before = timezone.now()
    group_answer(actor=manager(world), group=unseal, text="下周一", notice=notice)
    fresh = {q.pk: q for q in Request.objects.filter(group=unseal)}
    assert [fresh[q.pk].first_answer_at for q in members[:2]] == [published, published]
    assert fresh[members[2].pk].first_answer_at >= before
    assert sorted(Answer.objects.filter(request__group=unseal).values_list("at", flat=True))[:2] == [
        published,
        published,
    ]
    unseal.refresh_from_db()
    assert unseal.answered_at == published
