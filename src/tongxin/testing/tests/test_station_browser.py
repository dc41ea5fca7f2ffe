"""The sampling station in a real browser, with the server stopped and restarted mid-round.

The app runs as a separate process (gunicorn on its own SQLite file, as in the embedded run), so
stopping it is a real outage: the page must keep taking scans into IndexedDB, survive a reload
served by its service worker, and deliver every scan exactly once when the same server comes back
on the same port. Drives Debian's Chromium through Playwright at a 360px phone width.
"""

import json
import os
import time
from pathlib import Path

import pytest

from tongxin.core.tests.browser import CHROMIUM, CHROMIUM_ARGS, AppServer, wait_until

PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True, "locale": "zh-CN"}
PASSWORD = "pw-for-tests-only"

pytestmark = [pytest.mark.browser]


def build_world() -> None:
    """Run inside the app's own process (`tongxin shell`) on the test's database file: a compound of
    two buildings, eleven people, a volunteer and a round with one table. Prints what the test
    scans (the ID numbers a sampler reads off the cards) as JSON."""
    import datetime

    from django.utils import timezone

    from tongxin.accounts.models import Role
    from tongxin.registry import actions
    from tongxin.registry.tests.factories import id_number, make_resident, make_user
    from tongxin.testing.models import RoundCompound, SamplingPoint, SamplingTable, TestRound

    city = actions.area_ensure(level="city", code="150100", name="呼和浩特市")
    district = actions.area_ensure(level="district", code="150105", name="赛罕区", parent=city)
    street = actions.area_ensure(level="subdistrict", code="150105001", name="测试街道", parent=district)
    community = actions.area_ensure(level="community", code="150105001001", name="甲社区", parent=street)
    compound = actions.compound_ensure(code="DXY", name="丁香苑小区", community=community)
    people = {}
    names = [
        ("1", "1", "101", ["王秀兰", "王建军"]),
        ("1", "1", "102", ["李建国", "张丽"]),
        ("1", "2", "201", ["刘芳", "陈静"]),
        ("2", "1", "101", ["杨洋", "赵敏", "黄强"]),
        ("2", "1", "301", ["周丽", "吴军"]),
    ]
    for building_number, unit_number, room, members in names:
        building = actions.building_ensure(compound=compound, number=building_number)
        unit = actions.unit_ensure(building=building, number=unit_number)
        home = actions.household_ensure(unit=unit, room=room)
        for index, name in enumerate(members):
            number = id_number(datetime.date(1950 + len(people) * 4, 3, 15))
            resident = make_resident(
                home, name=name, document_number=number, relation="head" if index == 0 else "spouse"
            )
            people[name] = {"id": resident.pk, "document": number}
    volunteer = make_user(Role.VOLUNTEER, username="sampler", compound=compound)
    round_ = TestRound.objects.create(name="全员核酸", day=timezone.localdate(), pool_size=10)
    RoundCompound.objects.create(round=round_, compound=compound)
    point = SamplingPoint.objects.create(round=round_, compound=compound, name="1号采样点")
    table = SamplingTable.objects.create(
        point=point, round=round_, compound=compound, label="1号台", pool_size=10
    )
    print(json.dumps({"table": table.pk, "user": volunteer.username, "people": people}, ensure_ascii=False))


@pytest.fixture
def app_server(tmp_path):
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install chromium chromium-driver"
    server = AppServer(tmp_path, name="station")
    server.run("migrate", "--noinput", "-v", "0")
    server.world = json.loads(
        server.run(
            "shell", "-c", "from tongxin.testing.tests.test_station_browser import build_world; build_world()"
        )
        .strip()
        .splitlines()[-1]
    )
    server.start()
    yield server
    server.stop()


def scan(page, text: str) -> None:
    """What a keyboard-wedge scanner does: type the code into the focused box, then Enter."""
    box = page.locator("#scan")
    box.fill(text)
    box.press("Enter")


def wait_pending(page, count: int, timeout: int = 30000) -> None:
    page.wait_for_selector(f"#pending[data-count='{count}']", timeout=timeout)


def wait_tube(page, code: str, count: int) -> None:
    page.wait_for_selector(f"#tube[data-code='{code}'][data-count='{count}']")


def test_station_keeps_scanning_through_a_server_restart(app_server, tmp_path):
    from playwright.sync_api import sync_playwright

    people = app_server.world["people"]
    table = app_server.world["table"]
    station_url = f"{app_server.url}/testing/tables/{table}/station/"
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(**PHONE)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on(
            "console",
            lambda message: (
                message.type == "error"
                and "net::ERR_CONNECTION_REFUSED" not in message.text
                and errors.append(message.text)
            ),
        )
        page.goto(f"{app_server.url}/accounts/login/")
        page.fill("input[name=username]", app_server.world["user"])
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        page.goto(station_url)
        page.wait_for_selector("#station[data-ready='1']")
        page.wait_for_selector("#roster-state:has-text('名单 11 人')")
        wait_until(page, "navigator.serviceWorker.controller !== null")
        assert page.locator("#net").inner_text() == "在线"
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

        # Online: a 5-in-1 tube ("F" codes) of five people, by ID card, name and room.
        scan(page, "F0001")
        wait_tube(page, "F0001", 0)
        assert page.locator("#tube-count").inner_text() == "0/5"
        scan(page, people["王秀兰"]["document"])
        wait_tube(page, "F0001", 1)
        scan(page, "李建国")
        wait_tube(page, "F0001", 2)
        assert "李建国" in page.locator("#message").inner_text()
        assert "1号楼1单元102" in page.locator("#message").inner_text()
        scan(page, "李建国")  # the same person twice at this table: refused on the device
        page.wait_for_selector("#message[data-kind='error']:has-text('李建国本轮已在本台采样')")
        page.locator("#scan").fill("101")  # two households have a room 101: pick from the list
        page.wait_for_selector("#matches button[data-resident]")
        page.locator(f"#matches button[data-resident='{people['杨洋']['id']}']").tap()
        wait_tube(page, "F0001", 3)
        scan(page, people["刘芳"]["document"])
        scan(page, "陈静")
        wait_tube(page, "F0001", 5)
        page.wait_for_selector("#tube[data-full='1']")
        assert "试管已满" in page.locator("#prompt").inner_text()
        scan(page, "周丽")  # a sixth person does not go into a full tube
        page.wait_for_selector("#message[data-kind='error']:has-text('试管已满')")
        scan(page, "")  # Enter on the empty box closes the full tube
        page.wait_for_selector("#tube[data-code='']")
        wait_pending(page, 0)
        page.wait_for_selector("#last-sync:has-text('上次同步')")
        assert app_server.query("SELECT count(*) FROM testing_sample") == [(5,)]
        page.wait_for_selector("#unbagged li:has-text('F0001 · 5/5')")
        # Once stored, the device keeps no ID number: the cards' samples keep the person's id.
        kept = page.evaluate(ALL_EVENTS)
        assert people["王秀兰"]["document"] not in json.dumps(kept)
        assert people["刘芳"]["document"] not in json.dumps(kept)
        assert {e["resident"] for e in kept if e["type"] == "sample" and "resident" in e} == {
            people["王秀兰"]["id"],
            people["刘芳"]["id"],
        }

        # The server stops mid-round: scanning goes on, the queue grows.
        app_server.stop()
        scan(page, "F0002")
        wait_tube(page, "F0002", 0)
        scan(page, people["周丽"]["document"])
        scan(page, "吴军")
        scan(page, "赵敏")
        wait_tube(page, "F0002", 3)
        wait_pending(page, 4)
        page.wait_for_selector("#net[data-online='no']")
        assert page.locator("#net").inner_text() == "离线"
        assert page.locator("#pending").inner_text() == "待上传 4 条"

        # A reload with the server down: the service worker serves the page, the queue survives.
        page.reload()
        page.wait_for_selector("#station[data-ready='1']")
        wait_tube(page, "F0002", 3)
        wait_pending(page, 4)
        page.wait_for_selector("#roster-state:has-text('名单 11 人')")
        rows = page.locator("#tube-people li[data-state='pending']")
        assert rows.count() == 3
        scan(page, "黄强")
        scan(page, "王建军")
        wait_tube(page, "F0002", 5)
        scan(page, "")
        page.wait_for_selector("#tube[data-code='']")
        page.locator("#seal-bag").tap()
        page.wait_for_selector("#station[data-mode='bag']")
        scan(page, "BAG0001")
        page.wait_for_selector("#message:has-text('已封袋 BAG0001（2管）')")
        wait_pending(page, 8)
        assert app_server.query("SELECT count(*) FROM testing_sample") == [(5,)]

        # The same server comes back on the same port and database: everything arrives once.
        app_server.start()
        wait_pending(page, 0, timeout=40000)
        page.wait_for_selector("#net[data-online='yes']")
        assert page.locator("#refused li").count() == 0
        assert app_server.query(
            "SELECT count(*), count(DISTINCT scan_id), count(DISTINCT resident_id) FROM testing_sample"
        ) == [(10, 10, 10)]
        assert app_server.query(
            "SELECT code, people, closed_at IS NOT NULL, pool_size FROM testing_tube ORDER BY code"
        ) == [("F0001", 5, 1, 5), ("F0002", 5, 1, 5)]
        assert app_server.query(
            "SELECT b.code, count(t.id) FROM testing_bag b JOIN testing_tube t ON t.bag_id = b.id GROUP BY b.code"
        ) == [("BAG0001", 2)]
        assert "10" == page.locator("#total-people").inner_text()

        # What the server refuses is listed under 需处理 until the sampler has seen it.
        scan(page, "S0003")  # "S" codes are single tubes
        wait_tube(page, "S0003", 0)
        scan(page, "TXP:NOT-A-PASS-0001")
        wait_tube(page, "S0003", 1)
        wait_pending(page, 0)
        refused = page.locator("#refused li[data-code='unknown_person']")
        refused.wait_for()
        assert "查无此人，或不在本轮检测范围内" in refused.inner_text()
        assert page.locator("#handle-count").inner_text() == "需处理 1 条"
        refused.locator("button.dismiss").tap()
        page.wait_for_selector("#refused li", state="detached")
        assert page.locator("#handle-count").is_hidden()
        scan(page, "")  # a single tube is full with one person
        page.wait_for_selector("#tube[data-code='']")
        wait_pending(page, 0)

        # Resend: the device posts every event it made once more; nothing is stored twice.
        answer = page.evaluate(RESEND_ALL, {"url": f"/api/v1/testing/tables/{table}/sync"})
        assert answer["status"] == 200
        assert len(answer["sent"]) == 18  # two tubes of 7 (open, 5 people, close), a bag, a single tube of 3
        assert [r["code"] for r in answer["refused"]] == ["unknown_person"]
        assert sorted(answer["stored"] + [r["id"] for r in answer["refused"]]) == sorted(answer["sent"])
        assert app_server.query("SELECT count(*), count(DISTINCT resident_id) FROM testing_sample") == [
            (10, 10)
        ]
        assert app_server.query("SELECT count(*) FROM testing_tube") == [(3,)]
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        shots = Path(os.environ.get("TONGXIN_SCREENSHOTS", tmp_path))
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / "station-phone.png"), full_page=True)

        # Logged out, the device keeps no name list, without anyone opening the station page
        # again: the login page deletes the kept page and roster, and strips the scans the server
        # holds to what the page needs (a scan not yet sent stays whole).
        kept = "caches.open('tongxin-station-v1').then(c => c.keys()).then(k => k.map(r => new URL(r.url).pathname))"
        named = {f"/testing/tables/{table}/station/", f"/api/v1/testing/tables/{table}/roster"}
        assert named <= set(page.evaluate(kept))
        totals = {key: page.locator(f"#total-{key}").inner_text() for key in ("tubes", "people", "bags")}
        before = page.evaluate(ALL_EVENTS)
        assert "王秀兰" in json.dumps(before, ensure_ascii=False)  # a card's stored scan, labelled by name
        unsent = {
            "id": "unsent",
            "table": table + 1,  # another table this device sampled at, offline
            "type": "sample",
            "tube": "F0009",
            "at": "2022-11-25T08:00:00+08:00",
            "made": int(time.time() * 1000),
            "state": "pending",
            "person": {"document": people["吴军"]["document"]},
        }
        page.evaluate(ADD_EVENT, unsent)
        page.locator(".logout button[type=submit]").click()
        page.wait_for_url("**/accounts/login/")
        wait_until(
            page, f"() => {kept}.then(paths => !paths.some(p => {json.dumps(sorted(named))}.includes(p)))"
        )
        wait_until(page, "async () => {" + READ_EVENTS + "return !all.some((e) => e.resident && e.label); }")
        after = page.evaluate(ALL_EVENTS)
        assert [{k: v for k, v in e.items() if k != "seq"} for e in after if e["id"] == "unsent"] == [unsent]
        held = [e for e in after if e["id"] != "unsent"]
        assert {e["state"] for e in held} == {"stored", "dismissed"}
        assert all(set(e) <= FORGET_KEEPS for e in held)
        assert not any(name in json.dumps(held, ensure_ascii=False) for name in people)
        assert [(e["refusal"], e["label"], e["person"]) for e in held if e["state"] == "dismissed"] == [
            ({"code": "unknown_person"}, "出入证", {"scrubbed": True})
        ]
        assert [page_needs(e) for e in held] == [page_needs(e) for e in before]

        # Asked for the station page logged out, the server sends the login page: the worker keeps
        # no page or roster of any table (only the static files), and the scans still name no one.
        # Polled: wait_for_function takes an async predicate's Promise, which is truthy, as true.
        page.goto(station_url)
        assert page.url == f"{app_server.url}/accounts/login/?next=/testing/tables/{table}/station/"
        wait_until(
            page,
            f"() => {kept}.then(paths => paths.length > 0 && paths.every(p => p.startsWith('/static/')))",
        )
        held = [e for e in page.evaluate(ALL_EVENTS) if e["id"] != "unsent"]
        assert [page_needs(e) for e in held] == [page_needs(e) for e in before]
        assert not any(name in json.dumps(held, ensure_ascii=False) for name in people)

        # Logged in again, the page rebuilds the table's tubes, bags and totals from what it kept.
        page.fill("input[name=username]", app_server.world["user"])
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(station_url)
        page.wait_for_selector("#station[data-ready='1']")
        page.wait_for_selector("#roster-state:has-text('名单 11 人')")
        assert {
            key: page.locator(f"#total-{key}").inner_text() for key in ("tubes", "people", "bags")
        } == totals
        assert totals == {"tubes": "3", "people": "11", "bags": "1"}
        wait_pending(page, 0)
        context.close()
        browser.close()
    assert errors == []


READ_EVENTS = """
  const db = await new Promise((ok, bad) => {
    const r = indexedDB.open("tongxin-station", 1); r.onsuccess = () => ok(r.result); r.onerror = () => bad(r.error);
  });
  const all = await new Promise((ok) => {
    const r = db.transaction("events").objectStore("events").getAll(); r.onsuccess = () => ok(r.result);
  });
"""
# What the device keeps in IndexedDB.
ALL_EVENTS = "async () => {" + READ_EVENTS + "return all; }"
# One more event put into IndexedDB, as the page would.
ADD_EVENT = (
    "async (event) => {"
    + READ_EVENTS
    + """
  await new Promise((ok, bad) => {
    const t = db.transaction("events", "readwrite");
    t.objectStore("events").add(event); t.oncomplete = ok; t.onerror = () => bad(t.error);
  });
  db.close(); }"""
)
# What station-forget.js keeps of a scan the server holds.
FORGET_KEEPS = {
    "seq",
    "id",
    "table",
    "type",
    "at",
    "made",
    "state",
    "tube",
    "pool_size",
    "bag",
    "tubes",
    "resident",
    "person",
    "label",
    "refusal",
}


def page_needs(event: dict) -> tuple:
    """What the station page builds its tubes, bags, totals and duplicate check from."""
    person = event.get("person") or {}
    refusal = event.get("refusal") or {}
    return (
        event["seq"],
        event["id"],
        event["table"],
        event["type"],
        event["at"],
        event["made"],
        event["state"],
        event.get("tube"),
        event.get("pool_size"),
        event.get("bag"),
        event.get("tubes"),
        event.get("resident") or person.get("resident"),
        refusal.get("code"),
    )


# Every event this device made, read back from IndexedDB and posted again as the sender would.
RESEND_ALL = (
    "async ({url}) => {"
    + READ_EVENTS
    + """
  const events = all.map((e) => {
    const out = {id: e.id, type: e.type, at: e.at};
    if (e.tube) out.tube = e.tube;
    if (e.type === "tube_open") out.pool_size = e.pool_size;
    if (e.type === "sample") out.person = e.resident ? {resident: e.resident} : e.person;
    if (e.type === "bag_seal") { out.bag = e.bag; out.tubes = e.tubes; }
    return out;
  });
  const token = document.cookie.split("; ").find((c) => c.startsWith("csrftoken=")).split("=")[1];
  const response = await fetch(url, {method: "POST", credentials: "same-origin",
    headers: {"Content-Type": "application/json", "X-CSRFToken": token}, body: JSON.stringify({events})});
  const body = await response.json();
  return {status: response.status, sent: events.map((e) => e.id), stored: body.stored, refused: body.refused};
}"""
)
