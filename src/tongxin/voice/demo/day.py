"""A day of 丁香苑小区 (事事有回应), played through the voice module's own actions, and 煤田公交小区's
figures from the report (see `meitian`).

The day, in the hours before `now`: two dozen messages from the residents' WeChat groups pasted in
by the team; "find common questions" makes three groups (什么时候解封, 快递能进吗, 核酸几点做), each
answered once, in the groups, by one notice; the other questions answered one by one, privately;
a neighbour's medicine, an elder's vegetables and water handed over to the supplies module; three
messages still unanswered past their target (late); five hotline calls, two of which became
requests; from the templates, 1号楼1单元's next testing time (the testing demo's slot when it is
loaded) and the clean-up call, and 1号楼2单元's testing notice scheduled; two group robots (WeCom, DingTalk) whose
address is a reserved `.invalid` host, so nothing is ever sent during the demo: their deliveries
stay pending. The demo resident (李秀英, 1号楼1单元101室) asked in the group and twice through the
portal, and finds the answers and the notices there.

Loaded once: a compound that already has requests or notices is left as it is."""

import datetime

from django.db import transaction
from django.utils import timezone

from tongxin.accounts.models import Role, User
from tongxin.registry.models import Compound, Household, Resident, elderly_born_on_or_before
from tongxin.registry.selectors import household_by_room
from tongxin.voice.actions import endpoints as endpoint_actions
from tongxin.voice.actions import groups as group_actions
from tongxin.voice.actions import hotline as hotline_actions
from tongxin.voice.actions import notices as notice_actions
from tongxin.voice.actions import requests as request_actions
from tongxin.voice.models import Category, Channel, Delivery, Endpoint, Notice, QuestionGroup, Request
from tongxin.voice.notice_templates import render_template

DINGXIANG = "DXY"
RESIDENT_ROOM = "1-1-101"

# Reserved for names that never resolve (RFC 2606): a robot that is never reached.
ROBOTS = (
    (
        Endpoint.Kind.WECOM,
        "丁香苑业主群机器人",
        "https://qyapi.demo.invalid/cgi-bin/webhook/send?key=dxy-demo-1",
        "",
    ),
    (
        Endpoint.Kind.DINGTALK,
        "丁香苑志愿者群机器人",
        "https://oapi.demo.invalid/robot/send?access_token=dxy-demo-2",
        "SECdemo0000000000000000000000000000000000000000000000000000000000",
    ),
)
ROBOT_CHANNELS = (Delivery.ChannelKind.PORTAL, Delivery.ChannelKind.WECOM, Delivery.ChannelKind.DINGTALK)


# The three common questions: the messages that ask them (minutes before `now`, asker, room) and
# the one notice that answers each group.
COMMON = (
    {
        "key": "unsealing",
        "messages": (
            (540, "李秀英", RESIDENT_ROOM, "请问咱们小区什么时候解封？"),
            (505, "晨跑的老张", "", "已经封了十几天了，啥时候能解封啊"),
            (470, "5号楼刘女士", "", "解封有具体日期了吗？单位催着上班"),
            (410, "向日葵", "", "听说下周就解封了，到底什么时候解封？"),
            (335, "8号楼小王", "", "小区几号能解除封控？"),
        ),
        "title": "关于小区解封时间的说明",
        "body": (
            "各位居民：小区已连续多日无新增阳性，正在按规定完成风险评估。解封时间以区疫情防控指挥部"
            "通知为准，确定后第一时间在群内和居民端发布，请不要相信和转发未经证实的消息。"
            "感谢大家的理解和配合！"
        ),
    },
    {
        "key": "parcels",
        "messages": (
            (500, "12号楼宝妈", "", "快递能进小区吗？"),
            (455, "老李头", "", "快递能进来吗？已经到小区门口了"),
            (380, "静待花开", "", "快递现在能不能进小区，放北门了"),
            (300, "6号楼陈先生", "", "京东快递现在还能进吗"),
        ),
        "title": "关于快递进小区的说明",
        "body": (
            "快递和外卖一律放在北门快递存放点，经消杀两小时后，由志愿者每天10点、16点两次分送到"
            "各单元门口，请留意群内通知及时下楼取件。生鲜、药品请在快递单上注明，优先配送。"
        ),
    },
    {
        "key": "testing",
        "messages": (
            (525, "9号楼赵阿姨", "", "今天核酸几点做？"),
            (490, "小周", "", "明天几点下楼做核酸"),
            (440, "2号楼老孙", "", "核酸在哪儿做，几点开始？"),
            (395, "快乐每一天", "", "今天还做核酸吗，几点"),
        ),
        "title": "今明两天核酸检测安排",
        "body": (
            "今明两天每天早上6点起按楼栋、单元顺序在小区广场采样，请听到楼长通知后再下楼，"
            "带好出入证，全程佩戴口罩，保持一米间距。行动不便的老人请联系楼长登记上门采样。"
        ),
    },
)

# Individual questions: (minutes before now, asker, room or "" , text, category, what happens).
# What happens: ("private", answer, close?), ("supplies", kind, detail, answer), ("late", None),
# ("late_held", None): acknowledged by the grid worker, still without an answer.
INDIVIDUAL = (
    (
        515,
        "3号楼热心邻居",
        "elder",
        "{room}的{elder}一个人住，降压药快吃完了，能帮忙买一盒吗",
        Category.MEDICAL,
        (
            "supplies",
            "medicine",
            "硝苯地平缓释片一盒",
            "已转物资保障组代购，药品今天下午送到家门口，请邻居转告。",
        ),
    ),
    (
        485,
        "7号楼孙女",
        "7-2-301",
        "家里老人七十多了不会网上买菜，能不能帮忙送点菜",
        Category.SUPPLIES,
        ("supplies", "vegetables", "蔬菜包一份", "已登记，志愿者明天上午把蔬菜包送到7号楼2单元301。"),
    ),
    (
        460,
        "10号楼王先生",
        "10-3-502",
        "家里没有饮用水了，能送两桶水吗",
        Category.SUPPLIES,
        ("supplies", "water", "桶装水两桶", "已转物资保障组，桶装水今天傍晚前送到。"),
    ),
    (
        430,
        "4号楼楼长",
        "",
        "4号楼1单元楼道灯坏了，晚上太黑老人下楼不方便",
        Category.OTHER,
        ("private", "已联系物业电工，今天中午已经换好灯泡，谢谢楼长反映。", True),
    ),
    (
        420,
        "11号楼马女士",
        "",
        "前天做的核酸结果到现在还查不到",
        Category.TESTING,
        ("private", "已帮您向采样机构查询：结果为阴性，系统延迟上传，今晚可在青城码中查看。", False),
    ),
    (
        395,
        "13号楼小杨",
        "",
        "出入证丢了，怎么补办",
        Category.ACCESS,
        ("private", "已为您补办出入证，原证作废，新证由网格员送到家，请勿转借。", True),
    ),
    (
        360,
        "3号楼住户",
        "",
        "垃圾两天没人收了，楼道里味道很大",
        Category.COMPLAINT,
        ("private", "抱歉让您久等！已协调保洁加派人手，今天上午已清运完毕并消杀。", True),
    ),
    (
        320,
        "9号楼退休教师",
        "",
        "感谢志愿者们这几天辛苦了，天天上门送菜",
        Category.PRAISE,
        ("private", "谢谢您的鼓励，我们会继续做好服务！", True),
    ),
    (300, "12号楼周先生", "", "暖气不热，家里只有十五度", Category.OTHER, ("late",)),
    (270, "6号楼家长", "", "孩子上网课要打印作业，打印机没墨了", Category.OTHER, ("late_held",)),
    (200, "2号楼住户", "", "楼上卫生间漏水，已经渗到我家天花板了", Category.OTHER, ("late",)),
)

# Hotline calls: (minutes before now, caller, phone, asked, answered, follow-up, room of a request
# made from the call or None, its answer (by the hotline) and whether it is closed).
CALLS = (
    (
        560,
        "赵先生",
        "13904710023",
        "父亲需要定期透析，封控期间怎么去医院",
        "已联系社区医生和120转运，明早8点车辆在北门等候",
        "明早7点半电话确认车辆到位",
        ("5-1-202", "已安排：明早8点转运车辆在北门等候，社区医生陪同。", False),
    ),
    (480, "钱女士", "15247110086", "询问小区什么时候解封", "以指挥部通知为准，已在群里统一回复", "", None),
    (
        400,
        "孙大爷",
        "04716651234",
        "快递放在北门取不到",
        "志愿者每天10点、16点消杀后统一分送到单元门口",
        "",
        None,
    ),
    (
        345,
        "周先生",
        "18647100321",
        "楼下垃圾桶满了没人清理",
        "已通知保洁",
        "",
        ("8-2-402", "保洁已清理完毕并消杀。", True),
    ),
    (
        250,
        "吴阿姨",
        "13500471234",
        "想给独居的母亲送点吃的能不能进小区",
        "不能进入，可放在北门由志愿者转交",
        "",
        None,
    ),
)

# The resident's own requests through the portal, each answered there: (text, answer, closed).
PORTAL = (
    (
        "我母亲腿脚不便，下楼做核酸困难，能否上门采样？",
        "已登记上门采样，明天上午9点左右医护人员上门，请在家等候。",
        True,
    ),
    ("家里的出入证什么时候能恢复使用？", "小区解封后出入证自动恢复，届时会在居民端通知您。", False),
)


def _user(username: str, role: str) -> User:
    return User.objects.get(username=username, role=role, is_active=True)


def _ago(now: datetime.datetime, minutes: int) -> datetime.datetime:
    return now - datetime.timedelta(minutes=minutes)


def _household(actor, place: Compound, room: str) -> Household:
    found = household_by_room(actor, place, room)
    if found is None:
        raise LookupError(f"no household {room} in {place.code}")
    return found


def _elder_alone(place: Compound, today: datetime.date) -> tuple[Household, str]:
    """The first household (in building, unit and room order) of 3号楼 where an elderly resident
    lives alone, and how the neighbour calls her or him (王奶奶, 李爷爷)."""
    resident = (
        Resident.objects.filter(
            compound=place,
            household__building__number="3",
            lives_alone=True,
            birth_date__lte=elderly_born_on_or_before(today),
        )
        .exclude(presence="moved_out")
        .select_related("household__unit__building")
        .order_by("household__unit__sort_key", "household__room", "pk")
        .first()
    )
    surname = resident.name[:1] if resident.name else ""
    return resident.household, f"{surname}{'爷爷' if resident.sex == Resident.Sex.MALE else '奶奶'}"


def _testing_times(actor, place: Compound, room: str, now: datetime.datetime):
    """The local start and end of the next testing time of the unit of `room`: its slot in a round
    planned or sampling (the testing demo's), else tomorrow 07:00-07:30 (07:30-08:00 for unit 2)."""
    from tongxin.testing.models import TestRound
    from tongxin.testing.selectors.planning import rounds_visible, slots_of_round

    unit_id = household_by_room(actor, place, room).unit_id
    for round_ in rounds_visible(actor).filter(state__in=(TestRound.State.PLANNED, TestRound.State.SAMPLING)):
        slot = slots_of_round(actor, round_, place).filter(unit_id=unit_id, ends_at__gt=now).first()
        if slot is not None:
            return timezone.localtime(slot.starts_at), timezone.localtime(slot.ends_at)
    tomorrow = timezone.localdate(now) + datetime.timedelta(days=1)
    start = timezone.make_aware(datetime.datetime.combine(tomorrow, datetime.time(7, 0)))
    start += datetime.timedelta(minutes=30 * (int(room.split("-")[1]) - 1))
    return start, start + datetime.timedelta(minutes=30)


def _day_time(moment: datetime.datetime) -> str:
    return f"{moment.month}月{moment.day}日 {moment:%H:%M}"


def _room_words(household: Household) -> str:
    return f"{household.unit.building.number}号楼{household.unit.number}单元{household.room}室"


def _testing_notice(manager, place: Compound, room: str, now: datetime.datetime, *, posted=None) -> None:
    """The testing_unit template's notice of the next testing time of `room`'s unit, to that unit:
    published at `posted` to the portal and the robots, or (None) only to the portal, scheduled for
    the evening before the testing (half an hour from now at the earliest)."""
    building, unit, _room = room.split("-")
    start, end = _testing_times(manager, place, room, now)
    title, body = render_template(
        "testing_unit", building=building, unit=unit, start=_day_time(start), end=f"{end:%H:%M}"
    )
    if posted is not None:
        when = {"channels": ROBOT_CHANNELS, "now": posted}
    else:
        earliest = now + datetime.timedelta(minutes=30)
        when = {
            "channels": (Delivery.ChannelKind.PORTAL,),
            "scheduled_at": max(earliest, start - datetime.timedelta(hours=12)),
            "now": now,
        }
    notice_actions.notice_create(
        actor=manager,
        compound=place,
        title=title,
        body=body,
        audience="units",
        audience_ids=[household_by_room(manager, place, room).unit_id],
        template="testing_unit",
        **when,
    )


def _answer(actor, request: Request, text: str, *, close: bool, now: datetime.datetime, **channel) -> None:
    """The request answered (by `channel` when given, else its own) within its target: 15 minutes
    after it came when urgent, 35 otherwise (never after `now`); closed an hour and a half later
    when `close`."""
    received = request.received_at
    answered = max(received, min(received + datetime.timedelta(minutes=15 if request.urgent else 35), now))
    request_actions.request_answer(actor=actor, request=request, text=text, at=answered, **channel)
    if close:
        closed = max(answered, min(answered + datetime.timedelta(minutes=90), now))
        request_actions.request_close(actor=actor, request=request, at=closed)


def _dingxiang_day(place: Compound, now: datetime.datetime) -> None:
    manager = _user("manager", Role.COMPOUND_MANAGER)
    grid = _user("grid", Role.GRID_WORKER)
    volunteer = _user("volunteer", Role.VOLUNTEER)
    resident_user = _user("resident", Role.RESIDENT)

    for kind, name, url, secret in ROBOTS:
        if Endpoint.objects.filter(compound=place, name=name).exists():
            continue
        endpoint_actions.endpoint_add(
            actor=manager, compound=place, kind=kind, name=name, url=url, secret=secret
        )

    # Notices from the templates: the next testing time of 1号楼1单元 and the clean-up call, posted
    # yesterday evening or this morning; 1号楼2单元's testing notice scheduled for the evening before.
    today = timezone.localdate(now)
    _testing_notice(manager, place, "1-1-101", now, posted=_ago(now, 600))
    cleanup_day = timezone.localdate(_ago(now, 550)) + datetime.timedelta(days=1)
    title, body = render_template("cleanup", date=f"{cleanup_day.month}月{cleanup_day.day}日", start="09:00")
    notice_actions.notice_create(
        actor=manager,
        compound=place,
        title=title,
        body=body,
        template="cleanup",
        channels=ROBOT_CHANNELS,
        now=_ago(now, 550),
    )
    _testing_notice(manager, place, "1-2-101", now)

    # The WeChat groups' messages, pasted in as they came.
    elder_home, elder = _elder_alone(place, today)
    pasted = []
    for common in COMMON:
        for minutes, asker, room, text in common["messages"]:
            pasted.append((minutes, asker, room, text, None, ("group", common["key"])))
    for minutes, asker, room, text, category, outcome in INDIVIDUAL:
        if room == "elder":
            room, text = elder_home, text.format(room=_room_words(elder_home), elder=elder)
        pasted.append((minutes, asker, room, text, category, outcome))
    made: list[tuple[Request, tuple]] = []
    for minutes, asker, room, text, category, outcome in sorted(pasted, key=lambda row: -row[0]):
        household = (
            room if isinstance(room, Household) else (_household(manager, place, room) if room else None)
        )
        resident = None
        if household is not None and household.pk == resident_user.household_id:
            resident = Resident.objects.filter(household=household, name=resident_user.full_name).first()
        request = request_actions.request_create(
            actor=manager,
            compound=place,
            channel=Channel.GROUP,
            text=text,
            household=household,
            resident=resident,
            asker=asker,
            category=category,
            received_at=_ago(now, minutes),
        )
        made.append((request, outcome))

    # Common questions found, each answered once by a notice in the groups.
    groups = group_actions.groups_suggest(actor=manager, compound=place)
    by_text = {request.pk: outcome for request, outcome in made}
    for group in groups:
        keys = {by_text[pk][1] for pk in group.request_ids}
        if len(keys) != 1 or by_text[group.request_ids[0]][0] != "group":
            raise RuntimeError(f"the demo's common questions were grouped otherwise: {group.request_ids}")
        common = next(c for c in COMMON if c["key"] in keys)
        latest = max(r.received_at for r in Request.objects.filter(group=group))
        notice = notice_actions.notice_create(
            actor=manager,
            compound=place,
            title=common["title"],
            body=common["body"],
            channels=ROBOT_CHANNELS,
            now=min(latest + datetime.timedelta(minutes=25), now),
        )
        group_actions.group_answer(actor=manager, group=group, text=common["body"], notice=notice)

    # The other questions, one by one.
    for request, outcome in made:
        step = outcome[0]
        if step == "supplies":
            _kind, kind, detail, answer = outcome
            request_actions.request_hand_over_to_supplies(
                actor=manager, request=request, kind=kind, detail=detail
            )
            _answer(manager, request, answer, close=False, now=now, channel=Channel.PRIVATE)
        elif step == "private":
            _kind, answer, close = outcome
            _answer(manager, request, answer, close=close, now=now, channel=Channel.PRIVATE)
        elif step == "late_held":
            request_actions.request_acknowledge(actor=grid, request=request)

    # The hotline.
    for minutes, caller, phone, asked, answered, follow_up, made_request in CALLS:
        call = hotline_actions.hotline_log(
            actor=manager if made_request else volunteer,
            compound=place,
            caller=caller,
            phone=phone,
            asked=asked,
            answered=answered,
            follow_up=follow_up,
            at=_ago(now, minutes),
            make_request=made_request is not None,
            household=_household(manager, place, made_request[0]) if made_request else None,
        )
        if made_request:
            _room, answer, close = made_request
            _answer(manager, call.request, answer, close=close, now=now)

    # The demo resident, through the portal; the grid worker of 1号楼 answers there.
    home = Household.objects.get(pk=resident_user.household_id)
    for text, answer, close in PORTAL:
        request = request_actions.request_create(
            actor=resident_user, compound=place, channel=Channel.PORTAL, text=text, household=home
        )
        _answer(grid, request, answer, close=close, now=now)


def dingxiang_figures(place: Compound, now: datetime.datetime) -> dict:
    from tongxin.voice.selectors.counts import compound_counts
    from tongxin.voice.selectors.notices import notices_for_household

    manager = _user("manager", Role.COMPOUND_MANAGER)
    resident_user = _user("resident", Role.RESIDENT)
    counts = compound_counts(manager, place, now=now)
    requests = Request.objects.filter(compound=place)
    home = Household.objects.get(pk=resident_user.household_id)
    return {
        "requests": counts["received"],
        "requests_from_groups": requests.filter(channel=Channel.GROUP).count(),
        "answered": counts["answered"],
        "closed": counts["closed"],
        "late": counts["late"],
        "common_questions_answered": QuestionGroup.objects.filter(
            compound=place, answered_at__isnull=False, notice__isnull=False
        ).count(),
        "handed_to_supplies": requests.filter(supply_request__isnull=False).count(),
        "calls": counts["calls"],
        "notices_published": counts["notices"],
        "notices_scheduled": Notice.objects.filter(compound=place, published_at__isnull=True).count(),
        "robots": Endpoint.objects.filter(compound=place).count(),
        "robot_deliveries_pending": Delivery.objects.filter(
            notice__compound=place, endpoint__isnull=False, status=Delivery.Status.PENDING
        ).count(),
        "resident_requests": requests.filter(household=home).count(),
        "resident_notices": len(notices_for_household(resident_user, home)),
    }


def load(*, now: datetime.datetime) -> dict:
    from tongxin.voice.demo import meitian

    place = Compound.objects.get(code=DINGXIANG)
    with transaction.atomic():
        fresh = not (
            Request.objects.filter(compound=place).exists() or Notice.objects.filter(compound=place).exists()
        )
        if fresh:
            _dingxiang_day(place, now)
    return {"DXY": dingxiang_figures(place, now), "MTGJ": meitian.load(now=now)}
