"""Requests from sealed and isolated homes: asking, every transition, bad input and bad times,
a short stock refusing the delivery with nothing written, and two workers at once."""

import datetime
import threading
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.http import Http404
from django.test import override_settings
from django.utils import timezone

from tongxin.core.models import AuditLog
from tongxin.supplies.actions import requests as actions
from tongxin.supplies.models import StockMove, SupplyRequest, SupplyRequestLine
from tongxin.supplies.tests.helpers import GRID, MANAGER, OFFICIAL, RESIDENT, VOLUNTEER, user
from tongxin.supplies.tests.request_helpers import ask, balance, request_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(world):
    return request_world(world)


def audits(request) -> list[str]:
    return list(
        AuditLog.objects.filter(object_type="supplies.supplyrequest", object_id=str(request.pk))
        .order_by("pk")
        .values_list("action", flat=True)
    )


# Asking --------------------------------------------------------------------------------------------


def test_a_worker_logs_a_request_by_phone_with_its_lines_and_an_audit_row(w):
    made = ask(w, lines=[(w.water, "", 2, "bucket"), (None, "酱油", 1, "瓶")], detail="  放门口  ")
    assert (made.via, made.state, made.urgent, made.detail, made.asked_by) == (
        "phone",
        "new",
        False,
        "放门口",
        w.manager,
    )
    lines = list(made.lines.order_by("pk").values_list("item__name", "description", "quantity", "unit"))
    assert lines == [("桶装水", "", Decimal(2), "bucket"), (None, "酱油", Decimal(1), "瓶")]
    assert audits(made) == ["create"]


def test_a_resident_asks_for_their_own_household_only(w):
    resident = user(w, RESIDENT)
    made = ask(w, actor=resident, lines=[], hours_ago=None)
    assert (made.via, made.household, made.asked_by) == ("resident", w.home_a1, resident)
    with pytest.raises(Http404):
        ask(w, actor=resident, household=w.home_a2)
    with pytest.raises(ValidationError) as refused:
        ask(w, actor=resident, via="phone")
    assert refused.value.messages == ["居民只能为本户提交需求"]
    assert SupplyRequest.objects.count() == 1


def test_medicine_needs_a_note_of_which_and_is_urgent_for_a_household_with_an_elder(w):
    with pytest.raises(ValidationError) as refused:
        ask(w, kind="medicine", lines=[], detail="  ")
    assert refused.value.messages == ["请注明需要哪种药品"]
    assert SupplyRequest.objects.count() == 0
    elder_home = ask(w, kind="medicine", lines=[], detail="硝苯地平缓释片")
    young_home = ask(w, household=w.home_a2, kind="medicine", lines=[], detail="布洛芬")
    doctor = ask(w, kind="doctor", lines=[], detail="")
    water = ask(w, kind="water")
    assert [elder_home.urgent, young_home.urgent, doctor.urgent, water.urgent] == [True, False, True, False]


@override_settings(TONGXIN_ELDERLY_AGE=90)
def test_urgency_follows_the_registrys_elderly_age(w):
    assert ask(w, kind="medicine", lines=[], detail="降压药").urgent is False


def test_a_grid_worker_asks_only_for_his_buildings_and_another_compound_is_not_found(w):
    grid = user(w, GRID)
    assert ask(w, actor=grid).household == w.home_a1
    with pytest.raises(Http404):
        ask(w, actor=grid, household=w.home_a2)
    with pytest.raises(Http404):
        ask(w, household=w.home_b, lines=[])


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"kind": "gold"}, "未知的需求类别"),
        ({"lines": [(None, "", 1, "")]}, "请写明需要的物品"),
        ({"lines": [(None, "水", 0, "")]}, "数量必须大于零"),
        ({"lines": [(None, "水", -2, "")]}, "数量必须大于零"),
        ({"lines": [(None, "水", "abc", "")]}, "数量无效"),
        ({"lines": [(None, "水", "1e9", "")]}, "数量超过上限 1,000,000"),
        ({"lines": [(None, "水" * 101, 1, "")]}, "物品说明不能超过100个字"),
        ({"lines": [("water", "", 2, "kg")]}, "单位“公斤”不能换算为“桶”"),
        ({"lines": [(None, "水", 1, "")] * 21}, "一次最多20项物品"),
        ({"detail": "药" * 501}, "说明不能超过500个字"),
        ({"via": "resident"}, "工作人员代登记请选择电话或上门登记"),
        ({"source": "x" * 51}, "关联诉求编号不能超过50个字"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message_and_nothing_written(w, extra, message):
    if extra.get("lines") and extra["lines"][0][0] == "water":
        extra["lines"] = [(w.water, "", 2, "kg")]
    with pytest.raises(ValidationError) as refused:
        ask(w, **extra)
    assert refused.value.messages == [message]
    assert SupplyRequest.objects.count() == 0 and SupplyRequestLine.objects.count() == 0
    assert not AuditLog.objects.filter(object_type="supplies.supplyrequest").exists()


def test_an_item_of_another_compound_and_a_future_time_are_refused(w):
    with pytest.raises(ValidationError) as refused:
        ask(w, lines=[(w.water_b, "", 1, "")])
    assert refused.value.messages == ["物资不属于该小区"]
    with pytest.raises(ValidationError) as refused:
        ask(w, hours_ago=-1)
    assert refused.value.messages == ["提出时间不能晚于现在"]
    assert SupplyRequest.objects.count() == 0


def test_a_source_is_handed_over_once(w):
    first = ask(w, kind="medicine", lines=[], detail="胰岛素", source="voice:17", via="worker")
    again = ask(w, kind="medicine", lines=[], detail="胰岛素", source="voice:17", via="worker")
    assert again.pk == first.pk and SupplyRequest.objects.count() == 1
    assert first.source == "voice:17"
    with pytest.raises(ValidationError) as refused:
        ask(w, household=w.home_a2, source="voice:17")
    assert refused.value.messages == ["该诉求已转为另一户的物资需求"]


def test_kind_line_takes_the_compounds_catalogue_item_or_names_the_kind(w):
    assert actions.kind_line(w.home_a1, "water", 3) == [(w.water, "", 3, "bucket")]
    assert actions.kind_line(w.home_a1, "flour", 1) == [(None, "面粉", 1, "")]
    assert actions.kind_line(w.home_a1, "medicine", 1) == []


# Transitions ---------------------------------------------------------------------------------------


def test_accept_bought_deliver_takes_the_stock_out_in_the_same_transaction(w):
    volunteer = user(w, VOLUNTEER)
    made = ask(w, lines=[(w.water, "", 2, "bucket"), (None, "酱油", 1, "瓶")])
    actions.supply_request_accept(actor=w.manager, request=made, assignee=volunteer)
    assert (made.state, made.assignee) == ("accepted", volunteer)
    actions.supply_request_bought(actor=volunteer, request=made)
    assert made.state == "bought" and made.bought_at is not None
    actions.supply_request_deliver(actor=volunteer, request=made, store=w.store)
    fresh = SupplyRequest.objects.get(pk=made.pk)
    assert (fresh.state, fresh.delivered_by, fresh.closed_at) == ("delivered", volunteer, fresh.delivered_at)
    move = StockMove.objects.get(kind="out_household")
    assert (move.item, move.quantity, move.household, move.at, move.note) == (
        w.water,
        Decimal(-2),
        w.home_a1,
        fresh.delivered_at,
        f"物资需求#{made.pk}",
    )
    assert balance(w.water, w.store) == Decimal(8)
    assert audits(made) == ["create", "update", "update", "update"]


def test_a_delivery_straight_after_accepting_needs_a_store_for_its_stock_lines(w):
    made = ask(w)
    actions.supply_request_accept(actor=w.manager, request=made)
    with pytest.raises(ValidationError) as refused:
        actions.supply_request_deliver(actor=w.manager, request=made)
    assert refused.value.messages == ["请选择出库的仓库"]
    with pytest.raises(ValidationError) as refused:
        actions.supply_request_deliver(actor=w.manager, request=made, store=w.store_b)
    assert refused.value.messages == ["仓库不属于该小区"]
    assert SupplyRequest.objects.get(pk=made.pk).state == "accepted"
    actions.supply_request_deliver(actor=w.manager, request=made, store=w.store)
    assert balance(w.water, w.store) == Decimal(8)


def test_a_request_without_stock_lines_is_delivered_without_a_store(w):
    made = ask(w, kind="medicine", lines=[(None, "硝苯地平", 2, "盒")], detail="硝苯地平")
    actions.supply_request_accept(actor=w.manager, request=made)
    actions.supply_request_bought(actor=w.manager, request=made)
    actions.supply_request_deliver(actor=w.manager, request=made)
    assert made.state == "delivered" and not StockMove.objects.filter(kind="out_household").exists()


def test_a_short_stock_refuses_the_delivery_with_the_stock_message_and_nothing_is_written(w):
    made = ask(w, lines=[(w.rice, "", 1, ""), (w.water, "", 11, "")])
    actions.supply_request_accept(actor=w.manager, request=made)
    from tongxin.supplies.actions.stock import stock_in

    stock_in(actor=w.manager, item=w.rice, store=w.store, quantity=5)
    moves, logs = StockMove.objects.count(), AuditLog.objects.count()
    with pytest.raises(ValidationError) as refused:
        actions.supply_request_deliver(actor=w.manager, request=made, store=w.store)
    assert refused.value.messages == ["库存不足：物资站的桶装水仅剩 10桶"]
    fresh = SupplyRequest.objects.get(pk=made.pk)
    assert (fresh.state, fresh.delivered_at, fresh.delivered_by) == ("accepted", None, None)
    assert (StockMove.objects.count(), AuditLog.objects.count()) == (moves, logs)
    assert (balance(w.rice, w.store), balance(w.water, w.store)) == (Decimal(5), Decimal(10))


def test_cannot_needs_a_reason_and_closes_the_request(w):
    made = ask(w)
    with pytest.raises(ValidationError) as refused:
        actions.supply_request_cannot(actor=w.manager, request=made, reason="   ")
    assert refused.value.messages == ["请填写无法办理的原因"]
    actions.supply_request_cannot(actor=w.manager, request=made, reason="该药品全市缺货，已联系社区医生")
    fresh = SupplyRequest.objects.get(pk=made.pk)
    assert (fresh.state, fresh.cannot_reason) == ("cannot", "该药品全市缺货，已联系社区医生")
    assert fresh.closed_at is not None
    log = AuditLog.objects.filter(object_id=str(made.pk), action="update").get()
    assert log.reason == "该药品全市缺货，已联系社区医生"


@pytest.mark.parametrize(
    ("steps", "verb", "message"),
    [
        ([], "bought", "该需求当前为“新提交”，不能标记为已采购"),
        ([], "deliver", "该需求当前为“新提交”，不能标记为已送达"),
        (["accept"], "accept", "该需求当前为“已受理”，不能受理"),
        (["accept", "deliver"], "accept", "该需求当前为“已送达”，不能受理"),
        (["accept", "deliver"], "cannot", "该需求当前为“已送达”，不能标记为无法办理"),
        (["accept", "deliver"], "deliver", "该需求当前为“已送达”，不能标记为已送达"),
        (["cannot"], "deliver", "该需求当前为“无法办理”，不能标记为已送达"),
        (["accept", "bought"], "bought", "该需求当前为“已采购”，不能标记为已采购"),
    ],
)
def test_illegal_transitions_are_refused_with_the_state_named(w, steps, verb, message):
    made = ask(w)
    run = {
        "accept": lambda: actions.supply_request_accept(actor=w.manager, request=made),
        "bought": lambda: actions.supply_request_bought(actor=w.manager, request=made),
        "deliver": lambda: actions.supply_request_deliver(actor=w.manager, request=made, store=w.store),
        "cannot": lambda: actions.supply_request_cannot(actor=w.manager, request=made, reason="无货"),
    }
    for step in steps:
        run[step]()
    before = AuditLog.objects.count()
    with pytest.raises(ValidationError) as refused:
        run[verb]()
    [said] = refused.value.messages
    if steps:  # moved on by someone: who did it, and when
        assert said.startswith(message + f"（{w.manager.username}于")
        assert said.endswith("办理）")
    else:
        assert said == message
    assert AuditLog.objects.count() == before


def test_a_delivery_recorded_before_the_request_or_in_the_future_is_refused(w):
    made = ask(w, hours_ago=3)
    actions.supply_request_accept(actor=w.manager, request=made, at=made.asked_at)
    local = timezone.localtime(made.asked_at).strftime("%Y-%m-%d %H:%M")
    with pytest.raises(ValidationError) as refused:
        actions.supply_request_deliver(
            actor=w.manager, request=made, store=w.store, at=made.asked_at - datetime.timedelta(minutes=5)
        )
    assert refused.value.messages == [f"送达时间不能早于提出时间（{local}）"]
    with pytest.raises(ValidationError) as refused:
        actions.supply_request_deliver(
            actor=w.manager, request=made, store=w.store, at=timezone.now() + datetime.timedelta(hours=1)
        )
    assert refused.value.messages == ["送达时间不能晚于现在"]
    assert SupplyRequest.objects.get(pk=made.pk).state == "accepted"
    assert balance(w.water, w.store) == Decimal(10)


def test_times_keep_their_order_through_the_steps(w):
    made = ask(w, hours_ago=5)
    with pytest.raises(ValidationError) as refused:
        actions.supply_request_accept(
            actor=w.manager, request=made, at=made.asked_at - datetime.timedelta(minutes=1)
        )
    assert refused.value.code == "time_before_previous"
    actions.supply_request_accept(
        actor=w.manager, request=made, at=made.asked_at + datetime.timedelta(hours=2)
    )
    with pytest.raises(ValidationError) as refused:
        actions.supply_request_bought(
            actor=w.manager, request=made, at=made.asked_at + datetime.timedelta(hours=1)
        )
    assert refused.value.messages[0].startswith("采购时间不能早于受理时间")
    with pytest.raises(ValidationError) as refused:
        actions.supply_request_deliver(
            actor=w.manager, request=made, store=w.store, at=made.asked_at + datetime.timedelta(hours=1)
        )
    assert refused.value.messages[0].startswith("送达时间不能早于受理或采购时间")


def test_the_database_refuses_a_delivery_before_the_request_too(w):
    made = ask(w)
    with pytest.raises(IntegrityError), transaction.atomic():
        SupplyRequest.objects.filter(pk=made.pk).update(
            state="delivered", delivered_at=made.asked_at - datetime.timedelta(seconds=1)
        )


def test_who_may_move_a_request(w):
    made = ask(w)
    with pytest.raises(Http404):
        actions.supply_request_accept(actor=user(w, RESIDENT), request=made)
    grid_far = ask(w, household=w.home_a2)
    with pytest.raises(Http404):
        actions.supply_request_accept(actor=user(w, GRID), request=grid_far)
    actions.supply_request_accept(actor=user(w, VOLUNTEER), request=made)
    with pytest.raises(PermissionDenied):
        actions.supply_request_cannot(actor=user(w, VOLUNTEER), request=made, reason="无货")
    actions.supply_request_cannot(actor=user(w, OFFICIAL), request=made, reason="无货")
    assert made.state == "cannot"


def test_the_assignee_must_be_of_the_compounds_team(w):
    from tongxin.registry.tests.factories import make_user

    outsider = make_user("volunteer", username="volunteer_b", compound=w.compound_b)
    made = ask(w)
    with pytest.raises(ValidationError) as refused:
        actions.supply_request_accept(actor=w.manager, request=made, assignee=outsider)
    assert refused.value.messages == ["负责人不属于该小区"]
    with pytest.raises(ValidationError) as refused:
        actions.supply_request_accept(actor=w.manager, request=made, assignee=user(w, RESIDENT))
    assert refused.value.messages == ["负责人须为工作人员或志愿者"]


def test_two_stale_reads_one_wins_and_the_other_is_told_who_and_when(w):
    made = ask(w)
    mine, theirs = SupplyRequest.objects.get(pk=made.pk), SupplyRequest.objects.get(pk=made.pk)
    actions.supply_request_accept(actor=user(w, VOLUNTEER), request=mine)
    with pytest.raises(ValidationError) as refused:
        actions.supply_request_accept(actor=w.manager, request=theirs)
    assert refused.value.code == "stale" and "volunteer" in refused.value.messages[0]
    first, second = SupplyRequest.objects.get(pk=made.pk), SupplyRequest.objects.get(pk=made.pk)
    actions.supply_request_deliver(actor=user(w, VOLUNTEER), request=first, store=w.store)
    with pytest.raises(ValidationError) as refused:
        actions.supply_request_cannot(actor=w.manager, request=second, reason="无货")
    local = timezone.localtime(SupplyRequest.objects.get(pk=made.pk).delivered_at).strftime("%Y-%m-%d %H:%M")
    assert refused.value.messages == [f"该需求已由volunteer于{local}改为“已送达”，请刷新后再操作"]
    assert SupplyRequest.objects.get(pk=made.pk).cannot_reason == ""
    assert StockMove.objects.filter(kind="out_household").count() == 1


def test_a_stale_delivery_takes_no_stock(w):
    made = ask(w)
    actions.supply_request_accept(actor=w.manager, request=made)
    first, second = SupplyRequest.objects.get(pk=made.pk), SupplyRequest.objects.get(pk=made.pk)
    actions.supply_request_deliver(actor=user(w, VOLUNTEER), request=first, store=w.store)
    with pytest.raises(ValidationError) as refused:
        actions.supply_request_deliver(actor=w.manager, request=second, store=w.store)
    assert refused.value.code == "stale"
    assert balance(w.water, w.store) == Decimal(8)
    assert StockMove.objects.filter(kind="out_household").count() == 1


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite's in-memory test database locks whole tables across threads",
)
@pytest.mark.django_db(transaction=True)
def test_two_workers_delivering_at_once_one_wins(world):
    w = request_world(world)
    made = ask(w)
    actions.supply_request_accept(actor=w.manager, request=made)
    barrier = threading.Barrier(2)
    results = []

    def deliver(actor):
        try:
            stale = SupplyRequest.objects.get(pk=made.pk)
            barrier.wait(timeout=5)
            actions.supply_request_deliver(actor=actor, request=stale, store=w.store)
            results.append("ok")
        except ValidationError as error:
            results.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver, args=(user(w, role),)) for role in (MANAGER, VOLUNTEER)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["ok", "stale"]
    assert balance(w.water, w.store) == Decimal(8)
    assert StockMove.objects.filter(kind="out_household").count() == 1
