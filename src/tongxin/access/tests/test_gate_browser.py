"""The gate page in a real browser.

- `decide` of static/access/gate.js and `access.verdict.decide` on the same table of cases, and
  the page's pass reading (WebCrypto's Ed25519 and the vendored noble-ed25519 fallback) against
  `access.signing.read_pass` on codes signed by the server: run in Chromium with the static files
  served straight from the source tree (no app server).
- A volunteer's shift at a 360px phone: the app runs as a separate process (gunicorn on its own
  SQLite file, as in the embedded run), so stopping it is a real outage; the page must keep
  deciding from its snapshot, and every event must reach the server exactly once when the same
  server comes back on the same port.
"""

import base64
import datetime
import itertools
import json
import os
from pathlib import Path

import pytest

from tongxin.core.tests.browser import CHROMIUM, CHROMIUM_ARGS, AppServer, wait_until

PHONE = {
    "viewport": {"width": 360, "height": 740},
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
    "timezone_id": "Asia/Shanghai",
}
PASSWORD = "pw-for-tests-only"
STATIC = Path(__file__).resolve().parents[1] / "static"
ORIGIN = "http://localhost:8765"  # routed to the source tree; localhost is a secure context

pytestmark = [pytest.mark.browser]


def _launch(playwright):
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install chromium chromium-driver"
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def _serve_static(route) -> None:
    path = route.request.url[len(ORIGIN) :].split("?")[0]
    if path == "/":
        route.fulfill(
            status=200,
            content_type="text/html; charset=utf-8",
            body='<!doctype html><meta charset="utf-8"><script src="/static/access/gate.js"></script>',
        )
        return
    file = (STATIC / path.removeprefix("/static/")).resolve()
    if not path.startswith("/static/") or STATIC not in file.parents or not file.is_file():
        route.fulfill(status=404, body="")
        return
    route.fulfill(status=200, content_type="text/javascript; charset=utf-8", body=file.read_text("utf-8"))


@pytest.fixture(scope="module")
def playwright():
    """One Playwright driver for the module (a second one cannot start beside it)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def script_page(playwright):
    """A blank page that has loaded gate.js (no config: only `window.TongxinGate`)."""
    browser = _launch(playwright)
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.route(f"{ORIGIN}/**", _serve_static)
    page.goto(f"{ORIGIN}/")
    wait_until(page, "window.TongxinGate !== undefined")
    yield page
    assert errors == []
    browser.close()


# -- decide: the same table in Python and in the page ---------------------------------------------

NOW = datetime.datetime(2022, 11, 24, 9, 30, 17, tzinfo=datetime.UTC)


def _people():
    from tongxin.access.verdict import Person

    yield None
    base = {
        "color": "green",
        "status_reason": "",
        "overdue": False,
        "sealed": False,
        "household_out_over_time": False,
        "household_exits": 0,
        "out_due_at": None,
    }
    variants = [
        {},
        {"color": "red", "status_reason": "case"},
        {"color": "red", "status_reason": "isolation"},
        {"color": "red"},  # red without a stored reason: "isolation" from the colour
        {"color": "yellow", "status_reason": "yellow"},
        {"color": "yellow"},
        {"sealed": True},
        {"overdue": True},
        {"sealed": True, "overdue": True},
        {"household_out_over_time": True},
        {"household_exits": 1},
        {"household_exits": 2},
        {"overdue": True, "household_exits": 3},
        {"out_due_at": NOW - datetime.timedelta(minutes=25, seconds=30)},
        {"out_due_at": NOW - datetime.timedelta(seconds=59)},
        {"out_due_at": NOW + datetime.timedelta(minutes=5)},
        {"out_due_at": NOW, "color": "red", "status_reason": "case"},
        {"color": "red", "status_reason": "case", "sealed": True, "household_exits": 5},
    ]
    for variant in variants:
        yield Person(**{**base, **variant})


def _policies():
    from tongxin.access.verdict import Policy

    yield Policy()
    yield Policy(exits_per_household=1, exit_period_days=2, exit_max_minutes=120)
    yield Policy(exits_per_household=2, exit_max_minutes=90, sealed_no_exit=False, exit_needs_test=False)
    yield Policy(exits_per_household=0, exit_max_minutes=0, test_validity_hours=72)


def _epoch(moment):
    return moment.timestamp() if moment is not None else None


def decide_cases() -> list[dict]:
    from tongxin.access.verdict import PASS_STATES

    cases = []
    for direction, emergency, pass_state, person, policy in itertools.product(
        ("in", "out"), (False, True), PASS_STATES, list(_people()), list(_policies())
    ):
        cases.append(
            {
                "direction": direction,
                "emergency": emergency,
                "pass_state": pass_state,
                "person": None
                if person is None
                else {**person.__dict__, "out_due_at": _epoch(person.out_due_at)},
                "policy": dict(policy.__dict__),
                "now": NOW.timestamp(),
                "_python": (person, policy),
            }
        )
    return cases


def test_the_page_decides_like_the_server_on_every_case(script_page):
    from tongxin.access.verdict import decide

    cases = decide_cases()
    expected = []
    for case in cases:
        person, policy = case.pop("_python")
        answer = decide(
            direction=case["direction"],
            emergency=case["emergency"],
            pass_state=case["pass_state"],
            person=person,
            policy=policy,
            now=NOW,
        )
        expected.append([answer.allowed, answer.reason, _epoch(answer.due_at), answer.late_minutes])
    got = script_page.evaluate(
        "cases => cases.map(c => { const v = window.TongxinGate.decide(c);"
        " return [v.allowed, v.reason, v.due_at, v.late_minutes]; })",
        cases,
    )
    assert len(got) == len(cases) == 2 * 2 * 7 * 19 * 4
    mismatches = [
        (case, want, have) for case, want, have in zip(cases, expected, got, strict=True) if want != have
    ]
    assert mismatches == []
    # The table reaches every reason of a resident's check.
    reasons = {row[1] for row in expected}
    assert reasons == {
        "ok",
        "emergency",
        "over_time",
        "malformed",
        "forged",
        "other_compound",
        "expired",
        "revoked",
        "unknown",
        "case",
        "isolation",
        "yellow",
        "sealed",
        "no_test",
        "quota",
    }
    # Back 25 min 30 s late: 25 minutes; 59 s late: over time, 0 minutes.
    assert {row[3] for row in expected if row[1] == "over_time" and row[0]} == {25, 0}


def test_the_page_reads_a_household_pass_like_the_server(script_page):
    from tongxin.access.verdict import household_person

    people = [p for p in _people() if p is not None]
    groups = [[], *([p] for p in people), *itertools.combinations(people, 2), people[::3], people[::-2]]
    due = NOW - datetime.timedelta(minutes=3)
    expected = []
    for members in groups:
        person = household_person(members, out_due_at=due if len(members) % 2 else None)
        expected.append(
            None if person is None else {**person.__dict__, "out_due_at": _epoch(person.out_due_at)}
        )
    got = script_page.evaluate(
        "([groups, due]) => groups.map((members, i) => window.TongxinGate.householdPerson(members,"
        " members.length % 2 ? due : null))",
        [
            [[{**p.__dict__, "out_due_at": _epoch(p.out_due_at)} for p in members] for members in groups],
            _epoch(due),
        ],
    )
    assert len(got) == len(groups) > 150
    assert got == expected
    assert expected[0] is None and {p["color"] for p in expected[1:]} == {"green", "yellow", "red"}


def test_the_page_decides_visitors_like_the_server(script_page):
    from tongxin.access.verdict import decide_visitor

    colors = ["green", "yellow", "red", ""]
    got = script_page.evaluate(
        "colors => colors.map(c => { const v = window.TongxinGate.decideVisitor(c); return [v.allowed, v.reason]; })",
        colors,
    )
    want = [[v.allowed, v.reason] for v in (decide_visitor(code_color=c) for c in colors)]
    assert got == want == [[True, "ok"], [False, "code_yellow"], [False, "code_red"], [False, "code_yellow"]]


# -- pass codes: the page reads them as the server does --------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def pass_codes(settings) -> dict[str, str]:
    """Codes as a gate may see them, by name."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from tongxin.access import signing

    settings.TONGXIN_PASS_SIGNING_KEY = ""
    live = datetime.datetime.now(tz=datetime.UTC) + datetime.timedelta(days=30)
    genuine = signing.sign_pass(number="GATE0001", compound_id=7, room="3-2-301", expires_at=live)
    _prefix, payload, signature = genuine.split(".")
    altered = json.loads(base64.urlsafe_b64decode(payload + "=="))
    altered["r"] = "3-2-302"
    altered_payload = _b64(json.dumps(altered, separators=(",", ":")).encode())
    stranger_key = Ed25519PrivateKey.generate()
    forged_payload = base64.urlsafe_b64decode(payload + "==")
    return {
        "genuine": genuine,
        "chinese_room": signing.sign_pass(
            number="GATE0002", compound_id=7, room="东区3-2-301", expires_at=live
        ),
        "other_compound": signing.sign_pass(
            number="GATE0003", compound_id=8, room="1-1-101", expires_at=live
        ),
        "expired": signing.sign_pass(
            number="GATE0004",
            compound_id=7,
            room="1-1-101",
            expires_at=datetime.datetime.now(tz=datetime.UTC) - datetime.timedelta(minutes=1),
        ),
        "revoked": signing.sign_pass(number="GATE0005", compound_id=7, room="1-1-102", expires_at=live),
        "altered": f"TX1.{altered_payload}.{signature}",
        "forged": f"TX1.{payload}.{_b64(stranger_key.sign(forged_payload))}",
        "short_signature": f"TX1.{payload}.{signature[:40]}",
        "swapped": f"TX1.{signature}.{payload}",
        "not_base64": f"TX1.{payload}!.{signature}",
        "one_char_too_many": f"TX1.{payload}A.{signature}",
        "empty": "TX1..",
        "four_parts": f"TX1.{payload}.{signature}.x",
        "other_prefix": f"TX2.{payload}.{signature}",
        "health_code_url": "https://example.invalid/qr?id=1234567890",
        "too_long": f"TX1.{payload}.{signature}" + "A" * 400,
    }


def server_state(code: str, *, compound: int, revoked: set[str], now: datetime.datetime) -> str:
    """The pass state the server gives a code at a gate of `compound`."""
    from tongxin.access.signing import PassCodeError, read_pass

    try:
        claims = read_pass(code)
    except PassCodeError as error:
        return error.reason
    if claims.compound_id != compound:
        return "other_compound"
    if claims.expires_at <= now:
        return "expired"
    if claims.number in revoked:
        return "revoked"
    return "ok"


READ_ALL = """
async ({codes, key, kind, compound, revoked, now}) => {
  const G = window.TongxinGate;
  const keyBytes = G.unb64(key);
  const verifier = kind === "webcrypto"
    ? await G.webcryptoVerifier(keyBytes)
    : await G.fallbackVerifier(keyBytes, "/static/access/gate-ed25519.js");
  const gone = {};
  revoked.forEach((n) => { gone[n] = true; });
  const out = {};
  for (const [name, code] of Object.entries(codes)) {
    const read = await G.readPass(code, {verify: verifier.verify, compound, now, revoked: gone});
    out[name] = [read.state, read.claims ? read.claims.room : null, read.claims ? read.claims.number : null];
  }
  return {kind: verifier.kind, out};
}
"""


@pytest.mark.parametrize("kind", ["webcrypto", "fallback"])
def test_the_page_reads_pass_codes_as_the_server_does(script_page, settings, kind):
    from tongxin.access import signing

    codes = pass_codes(settings)
    now = datetime.datetime.now(tz=datetime.UTC)
    revoked = {"GATE0005"}
    answer = script_page.evaluate(
        READ_ALL,
        {
            "codes": codes,
            "key": signing.public_key_b64(),
            "kind": kind,
            "compound": 7,
            "revoked": sorted(revoked),
            "now": now.timestamp(),
        },
    )
    assert answer["kind"] == kind
    states = {name: row[0] for name, row in answer["out"].items()}
    assert states == {
        name: server_state(code, compound=7, revoked=revoked, now=now) for name, code in codes.items()
    }
    assert states == {
        "genuine": "ok",
        "chinese_room": "ok",
        "other_compound": "other_compound",
        "expired": "expired",
        "revoked": "revoked",
        "altered": "forged",
        "forged": "forged",
        "short_signature": "forged",
        "swapped": "forged",
        "not_base64": "ok",  # the server skips what is not base64, and so does the page
        "one_char_too_many": "malformed",
        "empty": "forged",
        "four_parts": "malformed",
        "other_prefix": "malformed",
        "health_code_url": "malformed",
        "too_long": "malformed",
    }
    assert answer["out"]["genuine"][1:] == ["3-2-301", "GATE0001"]
    assert answer["out"]["chinese_room"][1] == "东区3-2-301"


def mutations(code: str) -> dict[str, str]:
    """A genuine code with a character inserted, deleted or replaced here and there: what a
    scanner that drops or adds a character makes of it."""
    _prefix, payload, signature = code.split(".")
    out = {}
    for part, text in (("payload", payload), ("signature", signature)):
        for at in sorted({0, 1, 2, 3, len(text) // 2, len(text) - 2, len(text) - 1, len(text)}):
            for junk in ("!", " ", "=", "==", "\n", "中", "+", "/", "-", "A"):
                changed = text[:at] + junk + text[at:]
                out[f"{part} +{junk!r}@{at}"] = (
                    f"TX1.{changed}.{signature}" if part == "payload" else f"TX1.{payload}.{changed}"
                )
            if at < len(text):
                changed = text[:at] + text[at + 1 :]
                out[f"{part} -@{at}"] = (
                    f"TX1.{changed}.{signature}" if part == "payload" else f"TX1.{payload}.{changed}"
                )
    return out


@pytest.mark.parametrize("kind", ["webcrypto", "fallback"])
def test_the_page_reads_damaged_codes_as_the_server_does(script_page, settings, kind):
    from tongxin.access import signing

    codes = mutations(pass_codes(settings)["genuine"])
    now = datetime.datetime.now(tz=datetime.UTC)
    answer = script_page.evaluate(
        READ_ALL,
        {
            "codes": codes,
            "key": signing.public_key_b64(),
            "kind": kind,
            "compound": 7,
            "revoked": [],
            "now": now.timestamp(),
        },
    )
    states = {name: row[0] for name, row in answer["out"].items()}
    expected = {name: server_state(code, compound=7, revoked=set(), now=now) for name, code in codes.items()}
    assert states == expected
    # The server reads some damage past (a space, a pad at the end) and refuses the rest: both kinds.
    assert {"ok", "forged", "malformed"} <= set(expected.values())


# -- a volunteer's shift, through an outage -------------------------------------------------------


def build_world() -> None:
    """Run inside the app's own process (`tongxin shell`) on the test's database file: a compound
    with a gate and its exit policy (two exits per household every two days, two hours each),
    residents in every state the gate must tell apart, their passes and a volunteer. Prints what
    the test scans (pass codes, ID numbers) as JSON."""
    import datetime
    import uuid

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from django.utils import timezone

    from tongxin.access.actions.gates import gate_check
    from tongxin.access.models import AccessPolicy
    from tongxin.access.tests.gate_helpers import hold, make_pass, set_status
    from tongxin.accounts.models import Role
    from tongxin.registry import actions
    from tongxin.registry.tests.factories import id_number, make_resident, make_user

    city = actions.area_ensure(level="city", code="150100", name="呼和浩特市")
    district = actions.area_ensure(level="district", code="150105", name="赛罕区", parent=city)
    street = actions.area_ensure(level="subdistrict", code="150105001", name="测试街道", parent=district)
    community = actions.area_ensure(level="community", code="150105001001", name="甲社区", parent=street)
    compound = actions.compound_ensure(code="MTGJ", name="煤田公交小区", community=community)
    AccessPolicy.objects.create(
        compound=compound, exits_per_household=2, exit_period_days=2, exit_max_minutes=120
    )
    from tongxin.access.models import Gate

    gate = Gate.objects.create(compound=compound, name="南门")
    volunteer = make_user(Role.VOLUNTEER, username="gatekeeper", compound=compound)
    now = timezone.now()
    people, codes = {}, {}
    names = [
        ("1", "1", "101", ["王秀兰", "王建军"]),
        ("1", "1", "102", ["李建国", "张丽"]),  # sealed: the strictest risk level
        ("1", "2", "201", ["刘芳", "陈静"]),  # 刘芳's last test is three days old
        ("2", "1", "101", ["杨洋", "赵敏"]),  # 杨洋 in home isolation
        ("2", "1", "301", ["周丽", "吴军"]),  # 周丽's pass revoked
        ("2", "1", "401", ["孙伟", "孙丽"]),  # one pass for the household
    ]
    homes = {}
    for building_number, unit_number, room, members in names:
        building = actions.building_ensure(compound=compound, number=building_number)
        unit = actions.unit_ensure(building=building, number=unit_number)
        home = actions.household_ensure(unit=unit, room=room)
        homes[f"{building_number}-{unit_number}-{room}"] = home
        for index, name in enumerate(members):
            number = id_number(datetime.date(1950 + len(people) * 4, 3, 15))
            resident = make_resident(
                home, name=name, document_number=number, relation="head" if index == 0 else "spouse"
            )
            people[name] = {"id": resident.pk, "document": number, "household": home.pk}
            sealed = room == "102" and building_number == "1"
            if name == "刘芳":
                set_status(resident, last_sampled_at=now - datetime.timedelta(days=3))
            elif name == "杨洋":
                set_status(resident, holds=[hold("red", "home", days_ago=2, days_left=5)])
            else:
                set_status(resident, risk_level="high" if sealed else "")
            if room != "401":
                issued, code = make_pass(resident, revoked=name == "周丽")
                codes[name] = code
                people[name]["pass"] = issued.number
    _pass, codes["孙家"] = make_pass(homes["2-1-401"])
    # 陈静 went out three hours ago and 吴军 two and a half: both were due back by now.
    for name, hours in (("陈静", 3), ("吴军", 2.5)):
        gate_check(
            actor=volunteer,
            gate=gate,
            scan_id=uuid.uuid4(),
            at=now - datetime.timedelta(hours=hours),
            direction="out",
            resident_id=people[name]["id"],
        )
    # A pass made with a key that is not the server's: shaped like ours, signed by someone else.
    genuine = codes["王秀兰"]
    _prefix, payload, _signature = genuine.split(".")
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    codes["forged"] = f"TX1.{payload}.{_b64(Ed25519PrivateKey.generate().sign(raw))}"
    print(
        json.dumps(
            {"gate": gate.pk, "user": volunteer.username, "people": people, "codes": codes},
            ensure_ascii=False,
        )
    )


def revoke(name: str) -> None:
    """Run inside the app's process: a grid worker revokes a resident's pass (lost phone)."""
    from tongxin.access.actions.passes import pass_revoke
    from tongxin.access.models import Pass
    from tongxin.accounts.models import Role
    from tongxin.registry.models import Resident
    from tongxin.registry.tests.factories import make_user

    resident = Resident.objects.get(name=name)
    manager = make_user(Role.COMPOUND_MANAGER, compound=resident.household.unit.building.compound)
    pass_ = Pass.objects.get(resident=resident, revoked_at__isnull=True)
    pass_revoke(actor=manager, pass_=pass_, reason=Pass.Revoked.LOST)


@pytest.fixture
def app_server(tmp_path):
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install chromium chromium-driver"
    server = AppServer(tmp_path, name="gate", hosts=(PLAIN_HOST,))
    server.run("migrate", "--noinput", "-v", "0")
    server.world = json.loads(
        server.shell("from tongxin.access.tests.test_gate_browser import build_world; build_world()")
        .strip()
        .splitlines()[-1]
    )
    server.start()
    yield server
    server.stop()


VERDICT = """() => {
  const text = (id) => document.getElementById(id).textContent;
  const panel = document.getElementById("verdict");
  return {allowed: panel.dataset.allowed === "1", reason: panel.dataset.reason, id: panel.dataset.id,
          word: text("verdict-word"), text: text("verdict-reason"), name: text("verdict-name"),
          room: text("verdict-room"), extra: text("verdict-extra"), source: text("verdict-source")};
}"""
READ_DB = """
  const db = await new Promise((ok, bad) => {
    const r = indexedDB.open("tongxin-gate", 1); r.onsuccess = () => ok(r.result); r.onerror = () => bad(r.error);
  });
  const read = (store) => new Promise((ok) => {
    const r = db.transaction(store).objectStore(store).getAll(); r.onsuccess = () => ok(r.result);
  });
  const events = await read("events");
  const snapshots = await read("snapshots");
  db.close();
"""
# What the device keeps in IndexedDB.
DEVICE = "async () => {" + READ_DB + "return {events, snapshots}; }"
# Every event this device made (but the ID number checks, which only the server makes), read back
# from IndexedDB and posted again as the sender would.
RESEND_ALL = (
    "async ({url}) => {"
    + READ_DB
    + """
  // Checks by ID number are the server's alone: they never go through the device's queue.
  const wire = events.filter((e) => e.method !== "document").map((e) => e.type === "visitor"
    ? {id: e.id, type: "visitor", at: e.at, kind: e.kind, name: e.name, phone: e.phone || "13800000000",
       reason: e.why, visiting: e.visiting, resident: e.resident || undefined, code_color: e.code_color,
       came_from: e.came_from}
    : {id: e.id, type: "check", at: e.at, direction: e.direction, method: e.method, resident: e.resident || undefined,
       allowed: e.allowed, reason: e.reason, emergency: e.emergency});
  const token = document.cookie.split("; ").find((c) => c.startsWith("csrftoken=")).split("=")[1];
  const response = await fetch(url, {method: "POST", credentials: "same-origin",
    headers: {"Content-Type": "application/json", "X-CSRFToken": token}, body: JSON.stringify({events: wire})});
  const body = await response.json();
  return {status: response.status, sent: wire.map((e) => e.id), stored: body.stored, refused: body.refused};
}"""
)


# What gate-forget.js keeps of an event the server holds.
FORGET_KEEPS = {
    "seq",
    "id",
    "gate",
    "type",
    "at",
    "made",
    "state",
    "direction",
    "kind",
    "allowed",
    "reason",
    "text",
    "emergency",
    "decided",
    "acked_at",
    "late_minutes",
}


def scan(page, text: str) -> None:
    """What a keyboard-wedge scanner does: type the code into the focused box, then Enter."""
    box = page.locator("#scan")
    box.fill(text)
    box.press("Enter")


def turn(page, direction: str) -> None:
    """The direction for the next person: the big toggle, or the answer's own 下一位 buttons."""
    button = "#next-" if page.locator("#verdict").is_visible() else "#dir-"
    page.locator(button + direction).tap()
    page.wait_for_selector(f"#gate[data-direction='{direction}']")


def answer_to(page, action) -> dict:
    """Do `action` and return the new answer the page shows."""
    before = page.locator("#verdict").get_attribute("data-id") or "none"
    action()
    page.wait_for_selector(f"#verdict:not([hidden]):not([data-id='{before}'])")
    return page.evaluate(VERDICT)


def check(page, text: str) -> dict:
    return answer_to(page, lambda: scan(page, text))


def pick(page, text: str, resident: int) -> dict:
    scan(page, text)
    page.wait_for_selector(f"#matches button[data-resident='{resident}']")
    return answer_to(page, lambda: page.locator(f"#matches button[data-resident='{resident}']").tap())


def register(page, *, kind, name, phone, color, room, reason="", came_from="", resident=None) -> dict:
    page.locator("#verdict").click() if page.locator("#verdict").is_visible() else None
    card = page.locator("#visitor-card")
    if card.get_attribute("open") is None:
        card.locator("summary").click()
    form = page.locator("#visitor-form")
    form.locator(f"input[name=kind][value={kind}]").check()
    form.locator("input[name=name]").fill(name)
    form.locator("input[name=phone]").fill(phone)
    form.locator(f"input[name=code_color][value={color}]").check()
    form.locator("input[name=room]").fill(room)
    if resident is not None:
        form.locator(f"input[name=resident][value='{resident}']").check()
    form.locator("input[name=reason]").fill(reason)
    form.locator("input[name=came_from]").fill(came_from)
    return answer_to(page, lambda: form.locator("button[type=submit]").click())


def wait_pending(page, count: int, timeout: int = 30000) -> None:
    page.wait_for_selector(f"#pending[data-count='{count}']", timeout=timeout)


def hexid(value: str) -> str:
    return value.replace("-", "")


def test_a_volunteer_keeps_the_gate_through_a_server_restart(app_server, playwright, tmp_path):
    world = app_server.world
    people, codes = world["people"], world["codes"]
    gate_url = f"{app_server.url}/access/gates/{world['gate']}/"
    errors: list[str] = []
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, args=CHROMIUM_ARGS + FAKE_CAMERA + PLAIN_HTTP
    )
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: (
            message.type == "error"
            and "net::ERR_CONNECTION_REFUSED" not in message.text
            and "Failed to load resource" not in message.text
            and errors.append(message.text)
        ),
    )
    page.goto(f"{app_server.url}/accounts/login/")
    page.fill("input[name=username]", world["user"])
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    page.goto(gate_url)
    page.wait_for_selector("#gate[data-ready='1']")
    page.wait_for_selector("#snapshot-state:has-text('名单 12 人')")
    wait_until(page, "navigator.serviceWorker.controller !== null")
    assert page.locator("#net").inner_text() == "在线"
    assert page.locator("#snapshot-age").inner_text().startswith("名单更新于 ")
    assert page.locator("#snapshot-age").inner_text().endswith("，刚刚")
    assert page.locator("#camera").is_hidden()  # no BarcodeDetector in desktop Chromium
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    # Online: the server decides, the page shows its answer.
    turn(page, "out")
    seen = check(page, codes["王秀兰"])
    assert (seen["allowed"], seen["word"], seen["name"], seen["room"]) == (
        True,
        "放行",
        "王秀兰",
        "1-1-101",
    )
    assert re_match(r"请于 \d\d:\d\d 前返回", seen["extra"]) and seen["source"] == ""
    turn(page, "in")
    seen = check(page, codes["王秀兰"])
    assert (seen["allowed"], seen["reason"], seen["extra"]) == (True, "ok", "")
    turn(page, "out")
    seen = check(page, codes["李建国"])
    assert (seen["allowed"], seen["word"], seen["text"], seen["name"]) == (
        False,
        "禁止通行",
        "住户被封控",
        "李建国",
    )
    seen = pick(page, "1-2-201", people["刘芳"]["id"])  # two live there: pick from the list
    assert (seen["allowed"], seen["text"], seen["name"], seen["room"]) == (
        False,
        "48小时内无核酸",
        "刘芳",
        "1-2-201",
    )
    seen = check(page, codes["周丽"])
    assert (seen["allowed"], seen["reason"], seen["text"]) == (False, "revoked", "出入证已注销")
    seen = check(page, codes["forged"])
    assert (seen["allowed"], seen["reason"], seen["text"]) == (False, "forged", "出入证无效")
    seen = check(page, "杨洋")
    assert (seen["allowed"], seen["reason"], seen["text"]) == (False, "isolation", "密接隔离中")
    seen = check(page, codes["孙家"])  # a household pass stands for its household
    assert (seen["allowed"], seen["name"], seen["room"]) == (True, "孙伟、孙丽", "2-1-401")
    page.locator("#verdict").click()
    page.locator("#emergency").tap()  # an ambulance case nobody can name: passes, on record
    seen = answer_to(page, lambda: page.locator("#emergency-anonymous").tap())
    assert (seen["allowed"], seen["reason"], seen["name"], seen["source"]) == (
        True,
        "emergency",
        "身份不明",
        "",
    )
    turn(page, "in")
    seen = check(page, people["陈静"]["document"])  # an ID number: the server only
    assert (seen["allowed"], seen["reason"], seen["name"]) == (True, "over_time", "陈静")
    assert re_match(r"超时 (59|60|61) 分钟", seen["extra"])
    register(
        page,
        kind="visitor",
        name="送药人",
        phone="13912345678",
        color="green",
        room="1-1-101",
        reason="送药",
    )
    seen = page.evaluate(VERDICT)
    assert (seen["allowed"], seen["word"], seen["name"]) == (True, "放行", "送药人")
    seen = register(
        page, kind="visitor", name="黄码访客", phone="13912340000", color="yellow", room="2-1-101"
    )
    assert (seen["allowed"], seen["text"]) == (False, "黄码，不得进入")
    seen = register(
        page,
        kind="returning",
        name="赵敏",
        phone="13912341111",
        color="green",
        room="2-1-101",
        resident=people["赵敏"]["id"],
        came_from="北京",
    )
    assert (seen["allowed"], seen["name"], seen["room"]) == (True, "赵敏", "2-1-101")
    turn(page, "out")  # back from elsewhere: the arrival rule keeps her home until her tests
    seen = check(page, codes["赵敏"])
    assert (seen["allowed"], seen["text"], seen["name"]) == (False, "黄码，请居家", "赵敏")
    wait_pending(page, 0)
    online_checks = app_server.query(
        "SELECT reason, allowed, offline FROM access_accessevent WHERE on_duty_id IS NOT NULL"
        " AND method != 'visitor' ORDER BY id"
    )
    assert online_checks[2:] == [  # the first two: 陈静 and 吴军 going out hours ago
        ("ok", 1, 0),
        ("ok", 1, 0),
        ("sealed", 0, 0),
        ("no_test", 0, 0),
        ("revoked", 0, 0),
        ("forged", 0, 0),
        ("isolation", 0, 0),
        ("ok", 1, 0),
        ("emergency", 1, 0),
        ("over_time", 1, 0),
        ("yellow", 0, 0),
    ]
    assert app_server.query(
        "SELECT name, kind, code_color, admitted, phone_masked FROM access_visitor ORDER BY id"
    ) == [
        ("送药人", "visitor", "green", 1, "139****5678"),
        ("黄码访客", "visitor", "yellow", 0, "139****0000"),
        ("赵敏", "returning", "green", 1, "139****1111"),
    ]

    # A pass is revoked at the office; the gate takes a new snapshot, then the server stops.
    app_server.shell("from tongxin.access.tests.test_gate_browser import revoke; revoke('王建军')")
    page.locator("#verdict").click()
    page.locator("#refresh").click()
    wait_until(
        page,
        "async (number) => {"
        + READ_DB
        + "return snapshots.length > 0 && snapshots[0].data.revoked.includes(number); }",
        people["王建军"]["pass"],
    )
    app_server.stop()

    turn(page, "out")
    seen = check(page, codes["王建军"])
    assert (seen["allowed"], seen["reason"], seen["source"]) == (False, "revoked", "离线判定")
    page.wait_for_selector("#net[data-online='no']")
    assert page.locator("#net").inner_text() == "离线"
    seen = check(page, codes["王秀兰"])  # the household's second exit in two days
    assert (seen["allowed"], seen["reason"], seen["name"], seen["source"]) == (
        True,
        "ok",
        "王秀兰",
        "离线判定",
    )
    assert re_match(r"请于 \d\d:\d\d 前返回", seen["extra"])
    seen = check(page, "王建军")  # the third: the quota is used up
    assert (seen["allowed"], seen["text"], seen["name"]) == (False, "本户外出名额已用完", "王建军")
    seen = check(page, "张丽")
    assert (seen["allowed"], seen["text"]) == (False, "住户被封控")
    scan(page, people["刘芳"]["document"])  # an ID number needs the server
    page.wait_for_selector("#message:has-text('离线时不能按身份证号核验')")
    page.locator("#emergency").tap()
    page.wait_for_selector("#gate[data-emergency='1']")
    seen = check(page, "张丽")
    assert (seen["allowed"], seen["reason"], seen["text"], seen["name"]) == (
        True,
        "emergency",
        "紧急就医，放行",
        "张丽",
    )
    assert page.locator("#gate").get_attribute("data-emergency") == "0"  # one check only
    seen = register(page, kind="visitor", name="快递员", phone="13600001234", color="green", room="1-2-201")
    assert (seen["allowed"], seen["name"], seen["room"]) == (True, "快递员", "1-2-201")
    turn(page, "in")
    seen = check(page, "吴军")  # out two and a half hours, due back after two
    assert (seen["allowed"], seen["reason"], seen["name"]) == (True, "over_time", "吴军")
    assert re_match(r"超时 (29|30|31) 分钟", seen["extra"])
    seen = check(page, codes["王秀兰"])
    assert (seen["allowed"], seen["reason"], seen["extra"]) == (True, "ok", "")
    seen = check(page, codes["孙家"])  # back by the household pass they went out by
    assert (seen["allowed"], seen["reason"], seen["name"]) == (True, "ok", "孙伟、孙丽")
    wait_pending(page, 9)
    assert page.locator("#pending").inner_text() == "待上传 9 条"
    assert re_match(r"名单更新于 \d\d:\d\d，(刚刚|\d分钟前)", page.locator("#snapshot-age").inner_text())

    # A reload with the server down: the service worker serves the page, the queue and the
    # snapshot survive, and the page still decides.
    page.reload()
    page.wait_for_selector("#gate[data-ready='1']")
    wait_pending(page, 9)
    page.wait_for_selector("#snapshot-state:has-text('名单 12 人')")
    turn(page, "out")
    seen = check(page, codes["王秀兰"])  # out again: 王秀兰's household has had its two exits
    assert (seen["allowed"], seen["reason"]) == (False, "quota")
    wait_pending(page, 10)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    kept = page.evaluate(DEVICE)
    device_checks = {
        hexid(e["id"]): (e["reason"], e["allowed"]) for e in kept["events"] if e["type"] == "check"
    }
    device_visitors = sorted(e["name"] for e in kept["events"] if e["type"] == "visitor")

    # The same server comes back on the same port and database: everything arrives once.
    app_server.start()
    wait_pending(page, 0, timeout=40000)
    page.wait_for_selector("#net[data-online='yes']")
    assert page.locator("#refused li").count() == 0
    stored = {
        row[0]: (row[1], bool(row[2]))
        for row in app_server.query(
            "SELECT scan_id, reason, allowed FROM access_accessevent WHERE method != 'visitor'"
        )
    }
    assert {k: v for k, v in stored.items() if k in device_checks} == device_checks
    assert set(device_checks) <= set(stored)
    assert app_server.query(
        "SELECT count(*), count(DISTINCT scan_id), sum(offline) FROM access_accessevent WHERE method != 'visitor'"
    ) == [(len(device_checks) + 2, len(device_checks) + 2, 9)]  # nine checks decided offline
    assert sorted(r[0] for r in app_server.query("SELECT name FROM access_visitor")) == device_visitors
    # Outings: 王秀兰 out and back twice, 孙家 out and back, 张丽 out for the hospital, 吴军 back late.
    outings = app_server.query(
        "SELECT r.name, o.back_at IS NOT NULL, o.emergency FROM access_outing o"
        " LEFT JOIN registry_resident r ON r.id = o.resident_id ORDER BY o.id"
    )
    assert outings == [
        ("陈静", 1, 0),
        ("吴军", 1, 0),
        ("王秀兰", 1, 0),
        (None, 1, 0),  # 孙家 by their household pass, naming no one
        ("王秀兰", 1, 0),
        ("张丽", 0, 1),
    ]

    # Resend: the device posts every event it made once more; nothing is stored twice.
    before = app_server.query("SELECT count(*) FROM access_accessevent")
    visitors_before = app_server.query("SELECT count(*) FROM access_visitor")
    answer = page.evaluate(RESEND_ALL, {"url": f"/api/v1/access/gates/{world['gate']}/sync"})
    assert answer["status"] == 200
    assert answer["refused"] == []
    assert sorted(answer["stored"]) == sorted(answer["sent"])
    assert app_server.query("SELECT count(*) FROM access_accessevent") == before
    assert app_server.query("SELECT count(*) FROM access_visitor") == visitors_before
    phone_camera(browser, app_server, gate_url)
    plain_http(browser, app_server)
    shots = Path(os.environ.get("TONGXIN_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "gate-phone.png"), full_page=True)
    # Once stored, the device keeps no visitor's phone and no pass code.
    kept = json.dumps(page.evaluate(DEVICE)["events"], ensure_ascii=False)
    assert "13912345678" not in kept and "13600001234" not in kept and codes["王秀兰"] not in kept

    # Logged out, the device keeps no name list: the login page deletes the snapshot and strips
    # the events the server holds to what the day's totals count (an event not yet sent stays
    # whole), without anyone opening the gate page again.
    page.locator("#verdict").click() if page.locator("#verdict").is_visible() else None
    unsent = {"id": "unsent", "gate": world["gate"], "type": "check", "state": "pending", "name": "王秀兰"}
    page.evaluate(
        "async (unsent) => {"
        + READ_DB.replace("db.close();", "")
        + """
        await new Promise((ok) => { const t = db.transaction("events", "readwrite");
          t.objectStore("events").add(unsent); t.oncomplete = ok; });
        db.close(); }""",
        unsent,
    )
    page.locator(".logout button[type=submit]").click()
    page.wait_for_url("**/accounts/login/")
    wait_until(page, "async () => {" + READ_DB + "return snapshots.length === 0; }")
    wait_until(
        page, "async () => {" + READ_DB + "return !events.some((e) => e.state === 'stored' && e.name); }"
    )
    device = page.evaluate(DEVICE)
    stored = [e for e in device["events"] if e["state"] == "stored"]
    assert stored and all(set(e) <= FORGET_KEEPS for e in stored)
    assert [(e["name"], e["state"]) for e in device["events"] if e["id"] == "unsent"] == [
        ("王秀兰", "pending")
    ]
    assert "王秀兰" not in json.dumps(
        [e for e in device["events"] if e["id"] != "unsent"], ensure_ascii=False
    )
    # The worker drops its kept page and any snapshot when the server sends the gate page to the
    # login page.
    page.goto(gate_url)
    assert page.url.startswith(f"{app_server.url}/accounts/login/?next=")
    wait_until(page, "async () => {" + READ_DB + "return snapshots.length === 0; }")
    assert page.evaluate(DEVICE)["events"]  # the events stay (all stored, forgotten in two days)
    context.close()
    browser.close()
    assert errors == []


FAKE_CAMERA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
# A name for the app server that is not localhost: pages from it are not a secure context, as on
# a compound's own network over plain HTTP (no WebCrypto, no service worker).
PLAIN_HOST = "gate.test"
PLAIN_HTTP = [f"--host-resolver-rules=MAP {PLAIN_HOST} 127.0.0.1"]
# A phone's BarcodeDetector, which desktop Chromium lacks: it "sees" window.cameraSees once the
# camera's video plays (Chromium's fake camera).
BARCODE_DETECTOR = """
window.BarcodeDetector = class {
  constructor(options) { this.formats = options.formats; }
  static getSupportedFormats() { return Promise.resolve(["qr_code", "ean_13"]); }
  detect(video) {
    const seen = window.cameraSees;
    if (!seen || video.readyState < 2) { return Promise.resolve([]); }
    window.cameraSees = null;
    return Promise.resolve([{rawValue: seen, format: "qr_code"}]);
  }
};
"""


def phone_camera(browser, app_server, gate_url: str) -> None:
    """On a phone whose browser has a BarcodeDetector, the camera button shows and a pass held up
    to the camera is checked like a scanned one."""
    world = app_server.world
    context = browser.new_context(**PHONE)
    context.grant_permissions(["camera"], origin=app_server.url)
    context.add_init_script(BARCODE_DETECTOR)
    page = context.new_page()
    page.goto(f"{app_server.url}/accounts/login/")
    page.fill("input[name=username]", world["user"])
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    page.goto(gate_url)
    page.wait_for_selector("#gate[data-ready='1']")
    page.wait_for_selector("#snapshot-state:has-text('名单 12 人')")
    page.wait_for_selector("#camera:not([hidden])")
    turn(page, "in")
    page.locator("#camera").tap()
    page.wait_for_selector("#camera-sheet:not([hidden])")
    wait_until(page, "document.getElementById('camera-video').readyState >= 2")
    seen = answer_to(
        page, lambda: page.evaluate("code => { window.cameraSees = code; }", world["codes"]["陈静"])
    )
    assert (seen["allowed"], seen["name"], seen["room"]) == (True, "陈静", "1-2-201")
    assert page.locator("#camera-sheet").is_hidden()
    assert page.evaluate("document.getElementById('camera-video').srcObject") is None  # the camera is off
    context.close()


def plain_http(browser, app_server) -> None:
    """Served over plain HTTP (not a secure context: no crypto.subtle, no service worker, no
    crypto.randomUUID), the page verifies passes with the vendored noble-ed25519 and still
    decides and queues with no network."""
    world = app_server.world
    origin = f"http://{PLAIN_HOST}:{app_server.port}"
    context = browser.new_context(**PHONE)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{origin}/accounts/login/")
    page.fill("input[name=username]", world["user"])
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    page.goto(f"{origin}/access/gates/{world['gate']}/")
    page.wait_for_selector("#gate[data-ready='1']")
    page.wait_for_selector("#gate[data-verifier='fallback']")
    assert page.evaluate("() => [isSecureContext, !!window.crypto.subtle, 'serviceWorker' in navigator]") == [
        False,
        False,
        False,
    ]
    context.set_offline(True)
    turn(page, "out")
    seen = check(page, world["codes"]["forged"])
    assert (seen["allowed"], seen["reason"], seen["source"]) == (False, "forged", "离线判定")
    seen = check(page, world["codes"]["陈静"])
    assert (seen["allowed"], seen["reason"], seen["name"], seen["source"]) == (True, "ok", "陈静", "离线判定")
    wait_pending(page, 2)
    ids = [e["id"] for e in page.evaluate(DEVICE)["events"]]
    assert all(
        re_match(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", i) for i in ids
    )
    context.set_offline(False)
    wait_pending(page, 0, timeout=40000)
    assert app_server.query(
        "SELECT reason, allowed, offline FROM access_accessevent WHERE scan_id IN (?, ?) ORDER BY at",
        [hexid(i) for i in ids],
    ) == [("forged", 0, 1), ("ok", 1, 1)]
    context.close()
    assert errors == []


def re_match(pattern: str, text: str) -> bool:
    import re

    return re.fullmatch(pattern, text) is not None
