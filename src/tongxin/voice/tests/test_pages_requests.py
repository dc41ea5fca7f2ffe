"""The requests pages: the queue (urgent first, late flagged, filters), the new-request form (room or
phone, resident, files, its refusals), a request's page with its buttons, the HTMX rows, the files
served through the scoped view; who sees what, and query counts that do not grow."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tongxin.accounts.models import Role
from tongxin.supplies.models import SupplyRequest
from tongxin.voice.actions import requests as actions
from tongxin.voice.models import Answer, Attachment, QuestionGroup, Request, State

from .request_helpers import JPEG, PDF, ago, make_request, manager
from .request_helpers import STAFF as TEAM_ROLES

pytestmark = pytest.mark.django_db

QUEUE = reverse("voice:requests")
NEW = reverse("voice:request_new")
HINT = reverse("voice:request_hint")


def a(url, world, **params):
    return url + "?" + "&".join(f"{k}={v}" for k, v in {"compound": world.compound_a.pk, **params}.items())


def page(url, pk=None):
    return reverse(f"voice:{url}", args=[pk] if pk is not None else None)


# The queue ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", TEAM_ROLES)
def test_the_team_sees_the_queue_urgent_first_then_oldest_late_flagged(as_role, world, role):
    old = make_request(world, asker="幸福一家", text="快递能进吗", received_at=ago(200))
    recent = make_request(world, asker="小李", text="什么时候解封", received_at=ago(10))
    urgent = make_request(world, household=world.home_a1, text="老人发烧要买药", received_at=ago(5))
    answered = make_request(world, text="谢谢你们", received_at=ago(300))
    actions.request_answer(actor=manager(world), request=answered, text="不客气")
    answer = as_role(role).get(a(QUEUE, world))
    assert answer.status_code == 200
    html = answer.content.decode()
    positions = [html.index(f'id="request-{r.pk}"') for r in (urgent, old, recent)]
    assert positions == sorted(positions)
    assert f'id="request-{answered.pk}"' not in html  # open ones only by default
    old_row = html[html.index(f'id="request-{old.pk}"') : html.index(f'id="request-{recent.pk}"')]
    assert "tag late" in old_row
    assert "tag late" not in html[html.index(f'id="request-{recent.pk}"') :]
    assert "1号楼1单元101室" in html
    assert answer["Cache-Control"].startswith("max-age=0")


def test_the_queue_filters_by_state_category_and_late(as_role, world):
    late_one = make_request(world, text="快递能进吗", received_at=ago(200))
    make_request(world, text="快递到了吗", received_at=ago(5))
    medical = make_request(world, text="需要买降压药", received_at=ago(5))
    done = make_request(world, text="表扬志愿者", received_at=ago(5))
    actions.request_answer(actor=manager(world), request=done, text="谢谢")
    actions.request_close(actor=manager(world), request=done)
    client = as_role(Role.COMPOUND_MANAGER)

    def ids(**params):
        html = client.get(a(QUEUE, world, **params)).content.decode()
        return {r.pk for r in Request.objects.all() if f'id="request-{r.pk}"' in html}

    assert ids(late=1) == {late_one.pk}
    assert ids(category="medical") == {medical.pk}
    assert ids(state="closed") == {done.pk}
    assert ids(state="closed", category="medical") == set()
    assert len(ids(category="nonsense")) == 3  # an unknown value is no filter
    html = client.get(a(QUEUE, world)).content.decode()
    assert "超时 1" in html


def test_a_resident_is_refused_and_another_compound_is_not_found(as_role, world):
    request = make_request(world, household=world.home_a1)
    resident = as_role(Role.RESIDENT)
    for url in (a(QUEUE, world), a(NEW, world), page("request", request.pk)):
        assert resident.get(url).status_code == 403
    assert resident.post(page("request_acknowledge", request.pk)).status_code == 403
    manager_client = as_role(Role.COMPOUND_MANAGER)
    assert manager_client.get(f"{QUEUE}?compound={world.compound_b.pk}").status_code == 404
    assert manager_client.get(f"{NEW}?compound={world.compound_b.pk}").status_code == 404
    other = make_request(world, compound=world.compound_b, actor=world.users[Role.PLATFORM_ADMIN])
    assert manager_client.get(page("request", other.pk)).status_code == 404
    assert manager_client.post(page("request_acknowledge", other.pk)).status_code == 404
    assert Request.objects.get(pk=other.pk).state == State.NEW


def test_the_grid_worker_sees_his_buildings_and_requests_of_no_household(as_role, world):
    mine = make_request(world, household=world.home_a1, text="一号楼的诉求")
    far = make_request(world, household=world.home_a2, text="二号楼的诉求")
    nobody = make_request(world, text="群里有人问的")
    client = as_role(Role.GRID_WORKER)
    html = client.get(a(QUEUE, world)).content.decode()
    assert f'id="request-{mine.pk}"' in html and f'id="request-{nobody.pk}"' in html
    assert f'id="request-{far.pk}"' not in html
    assert client.get(page("request", far.pk)).status_code == 404
    assert client.post(page("request_start", far.pk)).status_code == 404


def test_an_admin_over_several_compounds_chooses_one(as_role, world):
    html = as_role(Role.PLATFORM_ADMIN).get(QUEUE).content.decode()
    assert "甲小区" in html and "乙小区" in html and "请选择小区" in html


def test_resident_text_is_escaped(as_role, world):
    make_request(world, text="<script>alert(1)</script>什么时候解封")
    html = as_role(Role.COMPOUND_MANAGER).get(a(QUEUE, world)).content.decode()
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_queues_queries_do_not_grow_with_the_requests(as_role, world, django_assert_max_num_queries):
    for n in range(3):
        make_request(world, household=world.home_a1 if n % 2 else world.home_a2, text=f"快递{n}")
    client = as_role(Role.COMPOUND_MANAGER)
    with django_assert_max_num_queries(14) as few:
        assert client.get(a(QUEUE, world)).status_code == 200
    for n in range(12):
        make_request(world, household=world.home_a1 if n % 2 else world.home_a2, text=f"解封{n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(a(QUEUE, world)).status_code == 200


# The row buttons (HTMX) -----------------------------------------------------------------------------


def test_acknowledge_by_htmx_swaps_the_row(as_role, world):
    request = make_request(world, household=world.home_a1)
    client = as_role(Role.COMPOUND_MANAGER)
    answer = client.post(page("request_acknowledge", request.pk), headers={"HX-Request": "true"})
    assert answer.status_code == 200
    html = answer.content.decode()
    assert html.lstrip().startswith("<li") and "已确认" in html and "row-done" in html
    request.refresh_from_db()
    assert (request.state, request.holder) == (State.ACKNOWLEDGED, manager(world))


def test_a_stale_row_is_refused_with_who_did_it(as_role, world):
    request = make_request(world, household=world.home_a1)
    seen = (request.state, request.updated_at.isoformat())
    actions.request_start(actor=world.users[Role.GRID_WORKER], request=request)
    client = as_role(Role.COMPOUND_MANAGER)
    answer = client.post(
        page("request_acknowledge", request.pk),
        {"state": seen[0], "seen": seen[1]},
        headers={"HX-Request": "true"},
    )
    assert answer.status_code == 400
    html = answer.content.decode()
    assert "grid" in html and "请刷新后再操作" in html
    request.refresh_from_db()
    assert (request.state, request.holder) == (State.IN_PROGRESS, world.users[Role.GRID_WORKER])


# The new-request form -------------------------------------------------------------------------------


def test_a_request_logged_for_a_room_with_a_resident_and_files(as_role, world):
    client = as_role(Role.COMPOUND_MANAGER)
    form = client.get(a(NEW, world))
    assert form.status_code == 200 and form["Cache-Control"].startswith("max-age=0")
    answer = client.post(
        a(NEW, world),
        {
            "channel": "hotline",
            "where": "1-1-101",
            "resident": world.elder.pk,
            "asker": "王秀兰",
            "text": "  家里的降压药吃完了  ",
            "category": "",
            "attachments": [
                SimpleUploadedFile("药盒.jpg", JPEG, content_type="image/jpeg"),
                SimpleUploadedFile("处方.pdf", PDF, content_type="application/pdf"),
            ],
        },
    )
    made = Request.objects.get()
    assert answer.status_code == 302 and answer["Location"] == page("request", made.pk)
    assert (made.household, made.resident, made.channel, made.text, made.category, made.urgent) == (
        world.home_a1,
        world.elder,
        "hotline",
        "家里的降压药吃完了",
        "medical",
        True,
    )
    assert sorted(Attachment.objects.values_list("name", "content_type")) == [
        ("处方.pdf", "application/pdf"),
        ("药盒.jpg", "image/jpeg"),
    ]


def test_a_request_by_phone_and_one_from_no_one_known(as_role, world):
    client = as_role(Role.COMPOUND_MANAGER)
    client.post(a(NEW, world), {"channel": "private", "where": "139-0000-1111", "text": "快递能进吗"})
    client.post(a(NEW, world), {"channel": "group", "where": "", "asker": "幸福一家", "text": "什么时候解封"})
    by_phone, nobody = Request.objects.order_by("pk")
    assert (by_phone.household, by_phone.category) == (world.home_a2, "access")
    assert (nobody.household, nobody.asker, nobody.channel) == (None, "幸福一家", "group")


@pytest.mark.parametrize(
    ("fields", "role", "message"),
    [
        ({"text": "   "}, Role.COMPOUND_MANAGER, "请填写诉求内容"),
        ({"where": "9-9-999"}, Role.COMPOUND_MANAGER, "找不到该房号"),
        ({"where": "13000000000"}, Role.COMPOUND_MANAGER, "找不到该手机号对应的住户"),
        ({"where": "2-1-201"}, Role.GRID_WORKER, "找不到该房号"),
        ({"where": "1-1-101", "resident": "NEIGHBOUR"}, Role.COMPOUND_MANAGER, "该居民不属于这一户"),
        ({"channel": "portal"}, Role.COMPOUND_MANAGER, "选择一个有效的选项"),
        ({"received_at": "2099-01-01T10:00"}, Role.COMPOUND_MANAGER, "时间不能晚于现在"),
        ({"attachments": "TEXT"}, Role.COMPOUND_MANAGER, "附件只能是JPEG、PNG、WebP图片或PDF文件"),
        ({"attachments": "SIX"}, Role.COMPOUND_MANAGER, "附件最多5个"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message_and_nothing_written(as_role, world, fields, role, message):
    data = {"channel": "group", "where": "", "text": "什么时候解封", **fields}
    if data.get("resident") == "NEIGHBOUR":
        data["resident"] = world.neighbour.pk
    if data.get("attachments") == "TEXT":
        data["attachments"] = [SimpleUploadedFile("a.jpg", b"hello, not an image", content_type="image/jpeg")]
    if data.get("attachments") == "SIX":
        data["attachments"] = [SimpleUploadedFile(f"{n}.jpg", JPEG) for n in range(6)]
    answer = as_role(role).post(a(NEW, world), data)
    assert answer.status_code == 400
    assert message in answer.content.decode()
    assert not Request.objects.exists() and not Attachment.objects.exists()


def test_the_hints_show_a_rooms_residents_and_the_suggested_category(as_role, world):
    client = as_role(Role.COMPOUND_MANAGER)
    residents = client.get(a(HINT, world, part="residents", where="1-1-101"), headers={"HX-Request": "true"})
    html = residents.content.decode()
    assert residents.status_code == 200 and 'id="voice-residents"' in html
    assert "王秀兰" in html and "王小明" in html and "李建国" not in html
    unknown = client.get(a(HINT, world, part="residents", where="9-9-9")).content.decode()
    assert "找不到该房号" in unknown
    category = client.get(a(HINT, world, part="category", text="核酸几点做")).content.decode()
    assert "按内容建议：核酸" in category
    grid = as_role(Role.GRID_WORKER).get(a(HINT, world, part="residents", where="2-1-201")).content.decode()
    assert "李建国" not in grid and "找不到该房号" in grid


# A request's page and its buttons -------------------------------------------------------------------


def test_a_requests_page_shows_text_answers_files_and_a_masked_phone(as_role, world):
    request = make_request(
        world,
        household=world.home_a1,
        resident=world.elder,
        text="楼下垃圾没人清",
        attachments=[SimpleUploadedFile("照片.jpg", JPEG)],
    )
    actions.request_answer(actor=manager(world), request=request, text="已联系物业今天清理")
    client = as_role(Role.COMPOUND_MANAGER)
    answer = client.get(page("request", request.pk))
    html = answer.content.decode()
    assert answer.status_code == 200 and answer["Cache-Control"].startswith("max-age=0")
    assert "楼下垃圾没人清" in html and "已联系物业今天清理" in html
    assert "138****5678" in html and "13812345678" not in html
    file = Attachment.objects.get()
    assert reverse("voice:request_attachment", args=[request.pk, file.pk]) in html
    volunteer_html = as_role(Role.VOLUNTEER).get(page("request", request.pk)).content.decode()
    assert "138****5678" not in volunteer_html


def test_the_buttons_walk_a_request_from_new_to_closed_and_back(as_role, world):
    request = make_request(world, household=world.home_a2, channel="private")
    client = as_role(Role.COMPOUND_MANAGER)
    assert client.post(page("request_acknowledge", request.pk)).status_code == 302
    assert client.post(page("request_start", request.pk)).status_code == 302
    early = client.post(page("request_close", request.pk), follow=True)
    assert "诉求尚未答复，不能办结" in early.content.decode()
    empty = client.post(page("request_answer", request.pk), {"text": "  "})
    assert empty.status_code == 400 and "请填写答复内容" in empty.content.decode()
    answered = client.post(page("request_answer", request.pk), {"text": "明天上午解封", "channel": ""})
    assert answered.status_code == 302 and answered["Location"] == page("request", request.pk)
    assert list(Answer.objects.values_list("text", "channel")) == [("明天上午解封", "private")]
    client.post(page("request_close", request.pk))
    request.refresh_from_db()
    assert request.state == State.CLOSED and request.closed_at is not None
    no_reason = client.post(page("request_reopen", request.pk), {"reason": ""})
    assert no_reason.status_code == 400 and "请填写重新办理的原因" in no_reason.content.decode()
    client.post(page("request_reopen", request.pk), {"reason": "居民说还没解封"})
    request.refresh_from_db()
    assert (request.state, request.closed_at) == (State.IN_PROGRESS, None)


def test_hand_over_to_supplies_from_the_page(as_role, world):
    request = make_request(world, household=world.home_a2, text="家里没米了")
    client = as_role(Role.COMPOUND_MANAGER)
    refused = client.post(page("request_hand_over", request.pk), {"kind": "medicine", "detail": ""})
    assert refused.status_code == 400 and "请注明需要哪种药品" in refused.content.decode()
    assert not SupplyRequest.objects.exists()
    done = client.post(page("request_hand_over", request.pk), {"kind": "rice", "detail": "5公斤"})
    assert done.status_code == 302
    supply = SupplyRequest.objects.get()
    assert (supply.household, supply.kind, supply.detail, supply.source) == (
        world.home_a2,
        "rice",
        "5公斤",
        f"voice:{request.pk}",
    )
    html = client.get(page("request", request.pk)).content.decode()
    assert "已转物资：大米" in html and page("request_hand_over", request.pk) not in html


def test_a_request_with_no_household_cannot_be_handed_over(as_role, world):
    request = make_request(world)
    html = as_role(Role.COMPOUND_MANAGER).get(page("request", request.pk)).content.decode()
    assert "转为物资需求" not in html
    refused = as_role(Role.COMPOUND_MANAGER).post(page("request_hand_over", request.pk), {"kind": "rice"})
    assert refused.status_code == 400 and "该诉求没有关联住户" in refused.content.decode()


# Files ----------------------------------------------------------------------------------------------


def test_files_are_served_to_who_sees_the_request_only(as_role, world):
    request = make_request(world, household=world.home_a2, attachments=[SimpleUploadedFile("x.pdf", PDF)])
    file = Attachment.objects.get()
    url = reverse("voice:request_attachment", args=[request.pk, file.pk])
    answer = as_role(Role.COMPOUND_MANAGER).get(url)
    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/pdf"
    assert answer["X-Content-Type-Options"] == "nosniff"
    assert b"".join(answer.streaming_content) == PDF
    assert as_role(Role.GRID_WORKER).get(url).status_code == 404  # building 2 is not his
    assert as_role(Role.RESIDENT).get(url).status_code == 404  # another household's
    other = make_request(world, household=world.home_a1, attachments=[SimpleUploadedFile("y.jpg", JPEG)])
    own = other.attachments.get()
    assert (
        as_role(Role.RESIDENT).get(reverse("voice:request_attachment", args=[other.pk, own.pk])).status_code
        == 200
    )
    assert (
        as_role(Role.COMPOUND_MANAGER)
        .get(reverse("voice:request_attachment", args=[request.pk, own.pk]))
        .status_code
        == 404
    )


def test_a_grouped_medical_request_links_its_group_and_hands_over_as_medicine(as_role, world):
    request = make_request(world, household=world.home_a2, text="降压药吃完了")
    group = QuestionGroup.objects.create(compound=world.compound_a, label="买药")
    Request.objects.filter(pk=request.pk).update(group=group)
    html = as_role(Role.COMPOUND_MANAGER).get(page("request", request.pk)).content.decode()
    assert f"#group-{group.pk}" in html and "买药" in html
    assert '<option value="medicine" selected>' in html
