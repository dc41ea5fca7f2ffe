"""Correcting a request's category and urgency, and handing it on to another holder: the actions
(audited, refused for residents, a holder outside the compound's team refused, a stale read told who
and when), the request page's two forms, the API's /classify and /hand-on; and the category the text
suggests (words, not single characters; emergencies medical; thanks praise)."""

import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from tongxin.accounts.models import Role
from tongxin.core.models import AuditLog
from tongxin.registry.tests.factories import make_user
from tongxin.voice.actions import requests as actions
from tongxin.voice.categories import EMERGENCY, UTILITIES, suggest_category
from tongxin.voice.models import Category, Request, State
from tongxin.voice.selectors.requests import hand_on_holders

from .request_helpers import make_request, manager

pytestmark = pytest.mark.django_db

BASE = "/api/v1/voice/requests"


def page(name, pk):
    return reverse(f"voice:{name}", args=[pk])


def fresh(request):
    return Request.objects.get(pk=request.pk)


def last_audit(request):
    return AuditLog.objects.filter(object_type="voice.request", object_id=str(request.pk)).latest("pk")


def codes(error: ValidationError) -> list:
    if hasattr(error, "error_dict"):
        return [e.code for errors in error.error_dict.values() for e in errors]
    return [e.code for e in error.error_list]


def post_json(client, url, body=None):
    return client.post(url, json.dumps(body or {}), content_type="application/json")


# Classify: the actions ---------------------------------------------------------------------------


def test_a_volunteer_corrects_category_and_urgency_audited(world):
    request = make_request(world, text="楼下漏水了", household=world.home_a2)
    assert (request.category, request.urgent) == (Category.OTHER, False)
    volunteer = world.users[Role.VOLUNTEER]
    actions.request_classify(actor=volunteer, request=request, category=Category.COMPLAINT, urgent=True)
    stored = fresh(request)
    assert (stored.category, stored.urgent, stored.state) == (Category.COMPLAINT, True, State.NEW)
    row = last_audit(request)
    assert (row.actor, row.action, row.fields) == (volunteer, AuditLog.Action.UPDATE, "category,urgent")
    assert row.detail == {
        "state": "new",
        "step": "更正类别",
        "category": "complaint",
        "urgent": True,
        "was": {"category": "other", "urgent": False},
    }


def test_classify_a_closed_request_keeps_it_closed(world):
    request = make_request(world, text="感谢医生", household=world.home_a2)
    actions.request_answer(actor=manager(world), request=request, text="不客气")
    actions.request_close(actor=manager(world), request=request)
    actions.request_classify(actor=manager(world), request=request, category=Category.PRAISE, urgent=True)
    stored = fresh(request)
    assert (stored.state, stored.category, stored.urgent) == (State.CLOSED, Category.PRAISE, True)


@pytest.mark.parametrize(
    ("category", "urgent", "code", "message"),
    [
        ("other", False, "unchanged", "类别和紧急程度都没有变化"),
        ("weather", False, "unknown_category", "未知的诉求类别"),
        ("other", "yes", "urgent_invalid", "请选择是否紧急"),
        ("other", None, "urgent_invalid", "请选择是否紧急"),
    ],
)
def test_classify_refusals(world, category, urgent, code, message):
    request = make_request(world, text="楼道灯坏了")
    with pytest.raises(ValidationError) as caught:
        actions.request_classify(actor=manager(world), request=request, category=category, urgent=urgent)
    assert codes(caught.value) == [code]
    assert caught.value.messages == [message]
    assert (fresh(request).category, fresh(request).urgent) == (Category.OTHER, False)


def test_classify_is_refused_to_a_resident_and_another_compound(world):
    request = make_request(world, text="楼道灯坏了", household=world.home_a1)
    with pytest.raises(PermissionDenied):
        actions.request_classify(
            actor=world.users[Role.RESIDENT], request=request, category=Category.COMPLAINT, urgent=False
        )
    other_manager = make_user(Role.COMPOUND_MANAGER, username="manager-b", compound=world.compound_b)
    with pytest.raises(Http404):
        actions.request_classify(
            actor=other_manager, request=request, category=Category.COMPLAINT, urgent=False
        )
    assert fresh(request).category == Category.OTHER


def test_a_grid_worker_cannot_classify_a_request_of_another_building(world):
    request = make_request(world, text="楼道灯坏了", household=world.home_a2)  # building 2; grid has 1
    with pytest.raises(Http404):
        actions.request_classify(
            actor=world.users[Role.GRID_WORKER], request=request, category=Category.COMPLAINT, urgent=False
        )


def test_two_classify_on_one_read_the_second_is_told_who_and_when(world):
    request = make_request(world, text="楼道灯坏了")
    first, second = fresh(request), fresh(request)
    actions.request_classify(
        actor=world.users[Role.VOLUNTEER], request=first, category=Category.COMPLAINT, urgent=False
    )
    with pytest.raises(ValidationError) as caught:
        actions.request_classify(actor=manager(world), request=second, category=Category.MEDICAL, urgent=True)
    assert caught.value.code == "conflict"
    when = actions._local(fresh(request).updated_at)
    assert caught.value.messages == [f"该诉求已被volunteer于{when}处理（现为“新诉求”），请刷新后再操作"]
    assert (fresh(request).category, fresh(request).urgent) == (Category.COMPLAINT, False)


# Hand on: the actions ----------------------------------------------------------------------------


def test_a_manager_hands_a_request_on_to_the_grid_worker_of_its_building(world):
    request = make_request(world, text="楼道灯坏了", household=world.home_a1)
    actions.request_acknowledge(actor=world.users[Role.VOLUNTEER], request=request)
    grid = world.users[Role.GRID_WORKER]
    actions.request_hand_on(actor=manager(world), request=request, holder=grid)
    stored = fresh(request)
    assert (stored.holder, stored.state) == (grid, State.ACKNOWLEDGED)
    row = last_audit(request)
    assert (row.actor, row.fields) == (manager(world), "holder")
    assert row.detail == {
        "state": "acknowledged",
        "step": "转交经办人",
        "holder": grid.pk,
        "was": world.users[Role.VOLUNTEER].pk,
    }


@pytest.mark.parametrize("role", [Role.PLATFORM_ADMIN, Role.OFFICIAL, Role.GRID_WORKER])
def test_the_other_keepers_hand_on(world, role):
    request = make_request(world, text="楼道灯坏了", household=world.home_a1)
    actions.request_hand_on(actor=world.users[role], request=request, holder=world.users[Role.VOLUNTEER])
    assert fresh(request).holder == world.users[Role.VOLUNTEER]


@pytest.mark.parametrize(
    ("role", "refusal"),
    [(Role.VOLUNTEER, "只有包联干部、网格员或上级干部可以转交诉求"), (Role.RESIDENT, "")],
)
def test_a_volunteer_and_a_resident_may_not_hand_on(world, role, refusal):
    request = make_request(world, text="楼道灯坏了", household=world.home_a1)
    with pytest.raises(PermissionDenied) as caught:
        actions.request_hand_on(
            actor=world.users[role], request=request, holder=world.users[Role.GRID_WORKER]
        )
    assert str(caught.value) == refusal
    assert fresh(request).holder is None


def _outsiders(world):
    inactive = make_user(Role.VOLUNTEER, username="gone", compound=world.compound_a, is_active=False)
    return {
        "another compound's manager": make_user(
            Role.COMPOUND_MANAGER, username="manager-b", compound=world.compound_b
        ),
        "an official": world.users[Role.OFFICIAL],
        "the platform admin": world.users[Role.PLATFORM_ADMIN],
        "a resident": world.users[Role.RESIDENT],
        "an inactive volunteer": inactive,
        "no one": None,
    }


def test_a_holder_outside_the_compounds_team_is_refused(world):
    request = make_request(world, text="楼道灯坏了", household=world.home_a1)
    for who, holder in _outsiders(world).items():
        with pytest.raises(ValidationError) as caught:
            actions.request_hand_on(actor=manager(world), request=request, holder=holder)
        assert caught.value.message_dict == {"holder": ["只能转交给本小区的工作人员"]}, who
        assert caught.value.error_dict["holder"][0].code == "holder_not_team"
    assert fresh(request).holder is None


def test_a_grid_worker_who_does_not_see_the_household_is_refused(world):
    request = make_request(world, text="楼道灯坏了", household=world.home_a2)  # building 2
    with pytest.raises(ValidationError) as caught:
        actions.request_hand_on(actor=manager(world), request=request, holder=world.users[Role.GRID_WORKER])
    assert caught.value.message_dict == {"holder": ["grid不负责这户所在的楼栋，看不到这条诉求，不能接手"]}
    assert caught.value.error_dict["holder"][0].code == "holder_out_of_scope"


def test_hand_on_to_the_same_holder_or_of_a_closed_request_is_refused(world):
    request = make_request(world, text="楼道灯坏了", household=world.home_a1)
    actions.request_acknowledge(actor=manager(world), request=request)
    with pytest.raises(ValidationError) as caught:
        actions.request_hand_on(actor=manager(world), request=request, holder=manager(world))
    assert caught.value.message_dict == {"holder": ["该诉求已由manager经办"]}
    actions.request_answer(actor=manager(world), request=request, text="已报修")
    actions.request_close(actor=manager(world), request=request)
    with pytest.raises(ValidationError) as caught:
        actions.request_hand_on(actor=manager(world), request=request, holder=world.users[Role.VOLUNTEER])
    assert caught.value.messages == ["诉求当前为“已办结”，不能转交经办人"]
    assert fresh(request).holder == manager(world)


def test_two_hand_ons_on_one_read_the_second_is_told_who(world):
    request = make_request(world, text="楼道灯坏了", household=world.home_a1)
    first, second = fresh(request), fresh(request)
    actions.request_hand_on(actor=manager(world), request=first, holder=world.users[Role.VOLUNTEER])
    with pytest.raises(ValidationError) as caught:
        actions.request_hand_on(
            actor=world.users[Role.GRID_WORKER], request=second, holder=world.users[Role.GRID_WORKER]
        )
    assert caught.value.code == "conflict"
    assert caught.value.messages[0].startswith("该诉求已被manager于")
    assert fresh(request).holder == world.users[Role.VOLUNTEER]


def test_holders_offered_are_exactly_those_the_action_accepts(world, django_assert_num_queries):
    b_manager = make_user(Role.COMPOUND_MANAGER, username="manager-b", compound=world.compound_b)
    fenced = make_user(Role.VOLUNTEER, username="fenced", compound=world.compound_a, buildings=[world.a2])
    gone = make_user(Role.VOLUNTEER, username="gone", compound=world.compound_a, is_active=False)
    everyone = [*world.users.values(), b_manager, fenced, gone]
    for household, expected in [
        (world.home_a1, ["manager", "grid", "volunteer"]),
        (world.home_a2, ["manager", "fenced", "volunteer"]),
        (None, ["manager", "grid", "fenced", "volunteer"]),
    ]:
        request = make_request(world, text="楼道灯坏了", household=household)
        with django_assert_num_queries(2):  # the users, their buildings
            offered = hand_on_holders(request)
        assert [u.username for u in offered] == expected
        accepted = []
        for user in everyone:
            try:
                actions.request_hand_on(
                    actor=world.users[Role.PLATFORM_ADMIN], request=fresh(request), holder=user
                )
            except ValidationError as error:
                assert error.error_dict["holder"][0].code in ("holder_not_team", "holder_out_of_scope")
            else:
                accepted.append(user.username)
        assert sorted(accepted) == sorted(expected)


# The request page ------------------------------------------------------------------------------


def test_the_page_offers_classify_to_the_team_and_hand_on_to_keepers(as_role, world):
    request = make_request(world, text="楼道灯坏了", household=world.home_a1)
    html = as_role(Role.COMPOUND_MANAGER).get(page("request", request.pk)).content.decode()
    assert f'action="{page("request_classify", request.pk)}"' in html
    assert '<option value="other" selected>其他</option>' in html
    assert f'action="{page("request_hand_on", request.pk)}"' in html
    holders = world.users
    assert (
        f'<option value="{holders[Role.COMPOUND_MANAGER].pk}">manager（包联干部）</option>'
        f'\n\n  <option value="{holders[Role.GRID_WORKER].pk}">grid（网格员）</option>'
    ) in html
    assert f'<option value="{holders[Role.VOLUNTEER].pk}">volunteer（志愿者）</option>' in html
    assert f'value="{request.updated_at.isoformat()}"' in html
    volunteer_html = as_role(Role.VOLUNTEER).get(page("request", request.pk)).content.decode()
    assert f'action="{page("request_classify", request.pk)}"' in volunteer_html
    assert "request_hand_on" not in volunteer_html and 'id="hand-on"' not in volunteer_html


def test_the_detail_page_query_count_is_pinned(as_role, world, django_assert_max_num_queries):
    request = make_request(world, text="楼道灯坏了", household=world.home_a1)
    client = as_role(Role.COMPOUND_MANAGER)
    with django_assert_max_num_queries(9):
        assert client.get(page("request", request.pk)).status_code == 200
    for n in range(5):  # more holders to offer: no more queries
        make_user(Role.VOLUNTEER, username=f"v{n}", compound=world.compound_a, buildings=[world.a1])
    with django_assert_max_num_queries(9):
        html = client.get(page("request", request.pk)).content.decode()
    assert html.count("（志愿者）</option>") == 6


def test_a_volunteer_classifies_on_the_page(as_role, world):
    request = make_request(world, text="停水了", household=world.home_a2)
    client = as_role(Role.VOLUNTEER)
    seen = {"state": request.state, "seen": request.updated_at.isoformat()}
    answer = client.post(
        page("request_classify", request.pk), {**seen, "category": "complaint", "urgent": "on"}
    )
    assert answer.status_code == 302 and answer["Location"] == page("request", request.pk)
    stored = fresh(request)
    assert (stored.category, stored.urgent) == (Category.COMPLAINT, True)
    shown = client.get(page("request", request.pk)).content.decode()
    assert "已更正类别" in shown and '<span class="tag urgent">紧急</span>' in shown


def test_classify_unchanged_or_unknown_on_the_page_is_400(as_role, world):
    request = make_request(world, text="楼道灯坏了")
    client = as_role(Role.COMPOUND_MANAGER)
    same = client.post(page("request_classify", request.pk), {"category": "other"})
    assert same.status_code == 400 and "类别和紧急程度都没有变化" in same.content.decode()
    unknown = client.post(page("request_classify", request.pk), {"category": "weather"})
    assert unknown.status_code == 400 and "选择一个有效的选项" in unknown.content.decode()


def test_a_stale_classify_on_the_page_says_who(as_role, world):
    request = make_request(world, text="楼道灯坏了")
    seen = {"state": request.state, "seen": request.updated_at.isoformat()}
    actions.request_acknowledge(actor=world.users[Role.VOLUNTEER], request=request)
    answer = as_role(Role.COMPOUND_MANAGER).post(
        page("request_classify", request.pk), {**seen, "category": "complaint"}
    )
    assert answer.status_code == 400
    html = answer.content.decode()
    assert "该诉求已被volunteer于" in html and "（现为“已确认”），请刷新后再操作" in html
    assert fresh(request).category == Category.OTHER


def test_a_manager_hands_on_on_the_page(as_role, world):
    request = make_request(world, text="楼道灯坏了", household=world.home_a1)
    client = as_role(Role.COMPOUND_MANAGER)
    grid = world.users[Role.GRID_WORKER]
    seen = {"state": request.state, "seen": request.updated_at.isoformat()}
    answer = client.post(page("request_hand_on", request.pk), {**seen, "holder": grid.pk})
    assert answer.status_code == 302
    assert fresh(request).holder == grid
    assert "已转交经办人" in client.get(page("request", request.pk)).content.decode()
    stale = client.post(page("request_hand_on", request.pk), {**seen, "holder": manager(world).pk})
    assert stale.status_code == 400 and "该诉求已被manager于" in stale.content.decode()
    assert fresh(request).holder == grid


def test_hand_on_on_the_page_refuses_a_holder_not_offered(as_role, world):
    request = make_request(world, text="楼道灯坏了", household=world.home_a2)  # grid sees building 1
    b_manager = make_user(Role.COMPOUND_MANAGER, username="manager-b", compound=world.compound_b)
    client = as_role(Role.COMPOUND_MANAGER)
    for holder in (b_manager, world.users[Role.GRID_WORKER]):
        answer = client.post(page("request_hand_on", request.pk), {"holder": holder.pk})
        assert answer.status_code == 400
        assert "只能转交给本小区能看到该诉求的工作人员" in answer.content.decode()
    empty = client.post(page("request_hand_on", request.pk), {"holder": ""})
    assert empty.status_code == 400 and "请选择经办人" in empty.content.decode()
    assert fresh(request).holder is None


def test_page_scope_volunteer_resident_and_another_compound(as_role, world):
    request = make_request(world, text="楼道灯坏了", household=world.home_a1)
    far = make_request(
        world, text="楼道灯坏了", compound=world.compound_b, household=world.home_b,
        actor=world.users[Role.PLATFORM_ADMIN],
    )  # fmt: skip
    grid_pk = world.users[Role.GRID_WORKER].pk
    assert (
        as_role(Role.VOLUNTEER).post(page("request_hand_on", request.pk), {"holder": grid_pk}).status_code
        == 403
    )
    resident = as_role(Role.RESIDENT)
    assert resident.post(page("request_classify", request.pk), {"category": "complaint"}).status_code == 403
    assert resident.post(page("request_hand_on", request.pk), {"holder": grid_pk}).status_code == 403
    client = as_role(Role.COMPOUND_MANAGER)
    assert client.post(page("request_classify", far.pk), {"category": "complaint"}).status_code == 404
    assert client.post(page("request_hand_on", far.pk), {"holder": grid_pk}).status_code == 404
    assert client.get(page("request_classify", request.pk)).status_code == 405
    assert (fresh(request).category, fresh(request).holder, fresh(far).category) == (
        Category.OTHER,
        None,
        Category.OTHER,
    )


# The API -----------------------------------------------------------------------------------------


def test_api_classify(as_role, world):
    request = make_request(world, text="楼下漏水", household=world.home_a2)
    client = as_role(Role.VOLUNTEER)
    body = post_json(
        client, f"{BASE}/{request.pk}/classify", {"category": "complaint", "urgent": True}
    ).json()
    assert (body["category"], body["category_label"], body["urgent"]) == ("complaint", "投诉", True)
    same = post_json(client, f"{BASE}/{request.pk}/classify", {"category": "complaint", "urgent": True})
    assert same.status_code == 400 and same.json()["detail"] == "类别和紧急程度都没有变化"
    assert (
        post_json(
            client, f"{BASE}/{request.pk}/classify", {"category": "weather", "urgent": True}
        ).status_code
        == 422
    )


def test_api_hand_on(as_role, world):
    request = make_request(world, text="楼道灯坏了", household=world.home_a2)
    client = as_role(Role.COMPOUND_MANAGER)
    body = post_json(
        client, f"{BASE}/{request.pk}/hand-on", {"holder": world.users[Role.VOLUNTEER].pk}
    ).json()
    assert (body["holder"], body["state"]) == ("volunteer", "new")
    b_manager = make_user(Role.COMPOUND_MANAGER, username="manager-b", compound=world.compound_b)
    for holder in (b_manager.pk, 987654):
        refused = post_json(client, f"{BASE}/{request.pk}/hand-on", {"holder": holder})
        assert refused.status_code == 400
        assert refused.json() == {
            "detail": "只能转交给本小区的工作人员",
            "errors": {"holder": ["只能转交给本小区的工作人员"]},
        }
    grid = post_json(client, f"{BASE}/{request.pk}/hand-on", {"holder": world.users[Role.GRID_WORKER].pk})
    assert grid.status_code == 400
    assert grid.json()["detail"] == "grid不负责这户所在的楼栋，看不到这条诉求，不能接手"
    volunteer = post_json(
        as_role(Role.VOLUNTEER), f"{BASE}/{request.pk}/hand-on", {"holder": manager(world).pk}
    )
    assert volunteer.status_code == 403
    assert volunteer.json() == {"detail": "只有包联干部、网格员或上级干部可以转交诉求"}
    assert fresh(request).holder == world.users[Role.VOLUNTEER]


def test_api_stale_classify_and_hand_on_are_409(as_role, world):
    request = make_request(world, text="楼道灯坏了", household=world.home_a1)
    seen = {"state": request.state, "seen": request.updated_at.isoformat()}
    actions.request_acknowledge(actor=world.users[Role.VOLUNTEER], request=request)
    client = as_role(Role.COMPOUND_MANAGER)
    classify = post_json(
        client, f"{BASE}/{request.pk}/classify", {**seen, "category": "complaint", "urgent": False}
    )
    hand_on = post_json(
        client, f"{BASE}/{request.pk}/hand-on", {**seen, "holder": world.users[Role.GRID_WORKER].pk}
    )
    for answer in (classify, hand_on):
        assert answer.status_code == 409
        assert answer.json()["detail"].startswith("该诉求已被volunteer于")
        assert answer.json()["detail"].endswith("（现为“已确认”），请刷新后再操作")
    stored = fresh(request)
    assert (stored.category, stored.holder) == (Category.OTHER, world.users[Role.VOLUNTEER])


def test_api_scope(as_role, world):
    request = make_request(world, text="楼道灯坏了", household=world.home_a2)
    far = make_request(
        world, text="楼道灯坏了", compound=world.compound_b, household=world.home_b,
        actor=world.users[Role.PLATFORM_ADMIN],
    )  # fmt: skip
    body = {"category": "complaint", "urgent": False}
    resident = as_role(Role.RESIDENT)
    assert post_json(resident, f"{BASE}/{request.pk}/classify", body).status_code == 403
    assert (
        post_json(resident, f"{BASE}/{request.pk}/hand-on", {"holder": manager(world).pk}).status_code == 403
    )
    client = as_role(Role.COMPOUND_MANAGER)
    assert post_json(client, f"{BASE}/{far.pk}/classify", body).status_code == 404
    assert post_json(client, f"{BASE}/{far.pk}/hand-on", {"holder": manager(world).pk}).status_code == 404
    grid = as_role(Role.GRID_WORKER)  # building 1 only: the request of building 2 is not found
    assert post_json(grid, f"{BASE}/{request.pk}/classify", body).status_code == 404
    assert fresh(far).category == Category.OTHER and fresh(request).category == Category.OTHER


# The category suggested -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # single characters no longer decide
        ("楼上漏水了", Category.OTHER),
        ("水电费在哪交", Category.OTHER),
        ("停水了", Category.OTHER),
        ("停电两个小时了", Category.OTHER),
        ("暖气不热", Category.OTHER),
        ("我的医保卡丢了怎么办", Category.OTHER),
        ("我们在外面见面", Category.OTHER),
        ("停水三天了没人管", Category.COMPLAINT),
        ("停水了家里没水喝", Category.SUPPLIES),
        # thanks that ask nothing are praise
        ("感谢医生", Category.PRAISE),
        ("感谢医生及时送来降压药", Category.PRAISE),
        ("谢谢大白，辛苦了！", Category.PRAISE),
        ("谢谢，老人降压药吃完了", Category.MEDICAL),
        ("辛苦了，能帮忙买点菜吗", Category.SUPPLIES),
        ("谢谢，快递能进吗", Category.ACCESS),
        # emergencies
        ("3楼老人晕倒了", Category.MEDICAL),
        ("我爸摔倒了起不来", Category.MEDICAL),
        ("邻居昏迷不醒", Category.MEDICAL),
        ("胸痛得厉害", Category.MEDICAL),
        ("老人呼吸困难", Category.MEDICAL),
        ("孩子高烧不退", Category.MEDICAL),
        ("明天要去透析", Category.MEDICAL),
        ("化疗不能停", Category.MEDICAL),
        ("孕妇要产检", Category.MEDICAL),
        ("媳妇临产了", Category.MEDICAL),
        ("感谢大家，老人晕倒了快来人", Category.MEDICAL),
        # the rest
        ("血压高了头疼", Category.MEDICAL),
        ("抗原阳了怎么办", Category.TESTING),
        ("外卖能送到门口吗", Category.ACCESS),
        ("想买点大米和鸡蛋", Category.SUPPLIES),
        ("电梯坏了", Category.OTHER),
    ],
)
def test_suggested_categories(text, expected):
    assert suggest_category(text) == expected


@given(st.text(), st.sampled_from(EMERGENCY), st.text())
def test_an_emergency_word_anywhere_is_medical(before, word, after):
    assert suggest_category(before + word + after) == Category.MEDICAL


CALM = st.text(alphabet="的了家里我们大一下")


@given(CALM, st.sampled_from(UTILITIES), CALM)
def test_water_power_and_heating_are_other(before, word, after):
    assert suggest_category(before + word + after) == Category.OTHER


@given(
    CALM,
    st.sampled_from(["感谢", "谢谢", "辛苦了", "表扬", "点赞"]),
    st.sampled_from(["医生", "大夫", "医院"]),
    CALM,
)
def test_thanks_to_a_doctor_that_ask_nothing_are_praise(before, thanks, doctor, after):
    assert suggest_category(before + thanks + doctor + after) == Category.PRAISE


@given(
    CALM, st.sampled_from(["帮忙", "麻烦", "请问", "需要"]), st.sampled_from(["买菜", "大米", "桶装水"]), CALM
)
def test_thanks_that_ask_for_supplies_are_supplies(before, ask, word, after):
    assert suggest_category("谢谢" + before + ask + word + after) == Category.SUPPLIES
