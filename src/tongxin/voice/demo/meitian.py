"""煤田公交小区's figures from the report, replayed in its sealed days (as the supplies demo places
them: 20 days before `now`, for 8 days): the team joined the residents' 5 WeChat groups, published
210 messages, answered 11 hotline calls and solved 20 residents' problems.

The 210 messages are notices to the portal: each morning every unit's testing time (24 units, from
the `testing_unit` template), a daily reminder at noon and the evening's disinfection call
(`cleanup`), 26 a day for 8 days, then the unsealing notice and a letter of thanks. The 20 problems
came from the 5 groups and from 6 of the calls; each was answered within half an hour (a call's
request by what was said on the phone) and closed the same day. No robot: nothing is sent.

Through the actions as 孙立新 (manager_mt) and 高雅琴 (volunteer_mt, on the hotline); loaded once
(a compound that already has requests, notices or calls is left as it is)."""

import datetime

from django.db import transaction
from django.utils import timezone

from tongxin.accounts.models import Role, User
from tongxin.registry.models import Compound, Unit
from tongxin.registry.selectors import household_by_room
from tongxin.voice.actions import hotline as hotline_actions
from tongxin.voice.actions import notices as notice_actions
from tongxin.voice.actions import requests as request_actions
from tongxin.voice.models import Category, Channel, Delivery, HotlineCall, Notice, Request
from tongxin.voice.notice_templates import render_template

MEITIAN = "MTGJ"
SEALED_FROM_DAYS_AGO = 20  # as the supplies demo's sealed days
SEALED_DAYS = 8
PORTAL_ONLY = (Delivery.ChannelKind.PORTAL,)

DAILY = (
    ("居家防护提示", "请大家每天早晚测量体温，如有发热、咳嗽等症状请立即联系楼长，不要自行外出就医。"),
    ("物资保障说明", "封控期间由物资保障组统一配送生活物资，有需要请在群内接龙或拨打热线登记。"),
    ("关于快递的说明", "快递统一放在小区门口，消杀2小时后由志愿者送到单元门口，请及时取件。"),
    ("就医绿色通道", "透析、孕产妇、急重症患者就医请拨打热线，我们联系车辆和医院，全程陪同。"),
    ("关于隔离栏的提醒", "请勿隔着铁栅栏传递物品，巡逻人员会劝阻，有需要请联系志愿者代送。"),
    ("心理疏导热线", "封控在家感到焦虑可拨打心理援助热线，社区医生每天上午在线答疑。"),
    ("垃圾分类投放", "生活垃圾请装袋扎紧后放到单元门口指定位置，每天下午统一清运消杀。"),
    ("青城码弹窗处理", "青城码弹窗的居民请在群内报房号，工作人员核实核酸记录后统一申请解除。"),
)

# (days after the sealing, hour, minute, group or "", asker, room or "", text, category, answer)
GROUP_PROBLEMS = (
    (
        0,
        9,
        20,
        1,
        "3号楼刘阿姨",
        "3-1-201",
        "家里的猫粮吃完了，能帮忙买一袋吗",
        Category.SUPPLIES,
        "志愿者已代购猫粮送到门口。",
    ),
    (
        0,
        15,
        5,
        2,
        "王大爷家属",
        "3-2-402",
        "家里老人糖尿病，胰岛素针头用完了",
        Category.MEDICAL,
        "已从社区卫生站取到针头，送到家中。",
    ),
    (
        1,
        8,
        40,
        3,
        "小鱼",
        "",
        "孩子发烧38度5，能不能出去看病",
        Category.MEDICAL,
        "已联系120和发热门诊，由工作人员陪同就诊。",
    ),
    (
        1,
        21,
        10,
        1,
        "巡夜人",
        "",
        "北边铁栅栏有人往里递东西，不安全",
        Category.COMPLAINT,
        "已安排志愿者夜间巡逻，并在栅栏处张贴提示。",
    ),
    (2, 10, 30, 4, "5号楼住户", "", "单元门禁坏了关不上", Category.OTHER, "物业已修好门禁。"),
    (
        2,
        18,
        0,
        5,
        "7号楼李先生",
        "",
        "家里马桶堵了，物业能上门吗",
        Category.OTHER,
        "物业维修人员穿防护服上门疏通，已修好。",
    ),
    (
        3,
        7,
        50,
        2,
        "3号楼密接家属",
        "3-3-301",
        "居家隔离的密接，核酸怎么做",
        Category.TESTING,
        "医护人员每天上门单采，无需下楼。",
    ),
    (
        3,
        16,
        25,
        3,
        "晴天",
        "",
        "出入证被风刮走了，能补一个吗",
        Category.ACCESS,
        "已补办出入证，由网格员送到家。",
    ),
    (
        4,
        11,
        15,
        4,
        "老周",
        "",
        "手机欠费停机了，没法看群通知",
        Category.OTHER,
        "志愿者已帮忙代缴话费，已恢复通话。",
    ),
    (
        4,
        19,
        40,
        1,
        "6号楼赵女士",
        "",
        "家里燃气卡没钱了，做不了饭",
        Category.OTHER,
        "已联系燃气公司远程充值。",
    ),
    (5, 9, 5, 5, "8号楼住户", "", "老伴行动不便，需要借一辆轮椅", Category.OTHER, "已从社区借到轮椅送到家。"),
    (
        5,
        14,
        30,
        2,
        "网购达人",
        "",
        "网上买的菜被拦在门口了",
        Category.ACCESS,
        "消杀后已由志愿者送到单元门口。",
    ),
    (
        6,
        10,
        0,
        3,
        "2号楼小陈",
        "",
        "青城码弹窗了，怎么处理",
        Category.TESTING,
        "核实核酸记录后已申请解除弹窗。",
    ),
    (7, 17, 45, 4, "一位老党员", "", "感谢工作人员送水上门，太辛苦了", Category.PRAISE, "谢谢您的鼓励！"),
)

# (days after the sealing, hour, minute, caller, phone, asked, answered, room or None for a call
# that became a request (answered by the hotline, then closed) or no request at all)
CALLS = (
    (0, 8, 30, "郑先生", "13947100011", "小区什么时候解封", "以指挥部通知为准，会在群里通知", False, ""),
    (0, 20, 15, "独居的何奶奶", "04714960021", "家里暖气管漏水了", "物业明早上门维修", True, "3-1-101"),
    (1, 12, 0, "冯女士", "15048100032", "需要开证明回单位上班", "社区可出具封控证明，由网格员送达", True, ""),
    (
        2,
        9,
        40,
        "陈先生",
        "18604710043",
        "母亲住院了，家属能不能出小区去陪护",
        "凭医院证明和核酸阴性报告可以出小区",
        True,
        "4-2-301",
    ),
    (2, 15, 20, "褚女士", "13804710054", "核酸今天几点做", "按单元通知下楼，3号楼每天上门采样", False, ""),
    (
        3,
        11,
        30,
        "卫先生",
        "15947100065",
        "家里有孕妇，产检怎么办",
        "已开通就医绿色通道，工作人员陪同产检",
        True,
        "6-1-502",
    ),
    (
        4,
        10,
        10,
        "蒋大爷",
        "04716630076",
        "快递放在门口能送进来吗",
        "消杀2小时后由志愿者送到单元门口",
        False,
        "",
    ),
    (4, 16, 50, "沈女士", "13614710087", "楼下下水道堵了反味", "物业已安排疏通", True, ""),
    (
        5,
        13,
        5,
        "韩大爷（退役老兵）",
        "13314710098",
        "家里米面快吃完了",
        "已送大米和面粉各一袋上门",
        True,
        "2-3-201",
    ),
    (6, 8, 15, "杨先生", "15604710109", "能不能出去买药", "请在群内登记，由志愿者统一代购", False, ""),
    (7, 19, 30, "朱女士", "18847100110", "听说明天解封，是真的吗", "以正式通知为准，明天上午发布", False, ""),
)

THANKS = (
    "致全体居民的感谢信",
    "封控的8天里，大家守望相助、配合核酸和防疫工作，小区顺利解封。感谢每一位居民、志愿者和"
    "物业人员！后续请继续做好个人防护，有困难随时拨打热线。",
)


def _user(username: str, role: str) -> User:
    return User.objects.get(username=username, role=role, is_active=True)


def _at(day: datetime.date, hour: int, minute: int) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def _publish(actor, place: Compound, title: str, body: str, at: datetime.datetime, **fields) -> Notice:
    return notice_actions.notice_create(
        actor=actor, compound=place, title=title, body=body, channels=PORTAL_ONLY, now=at, **fields
    )


def _replay(place: Compound, now: datetime.datetime) -> None:
    manager = _user("manager_mt", Role.COMPOUND_MANAGER)
    volunteer = _user("volunteer_mt", Role.VOLUNTEER)
    first = timezone.localdate(now) - datetime.timedelta(days=SEALED_FROM_DAYS_AGO)
    days = [first + datetime.timedelta(days=n) for n in range(SEALED_DAYS)]
    units = list(
        Unit.objects.filter(compound=place)
        .select_related("building")
        .order_by("building__sort_key", "sort_key")
    )

    for n, day in enumerate(days):
        for i, unit in enumerate(units):
            start = _at(day, 6, 0) + datetime.timedelta(minutes=10 * i)
            end = start + datetime.timedelta(minutes=10)
            title, body = render_template(
                "testing_unit",
                building=unit.building.number,
                unit=unit.number,
                start=f"{timezone.localtime(start):%H:%M}",
                end=f"{timezone.localtime(end):%H:%M}",
            )
            _publish(
                manager,
                place,
                title,
                body,
                _at(day, 5, 30) + datetime.timedelta(minutes=i),
                audience="units",
                audience_ids=[unit.pk],
                template="testing_unit",
            )
        title, body = DAILY[n % len(DAILY)]
        _publish(manager, place, title, body, _at(day, 12, 0))
        following = day + datetime.timedelta(days=1)
        title, body = render_template("cleanup", date=f"{following.month}月{following.day}日", start="14:00")
        _publish(manager, place, title, body, _at(day, 20, 0), template="cleanup")
    unsealed = first + datetime.timedelta(days=SEALED_DAYS)
    title, body = render_template("unsealing", place=place.name, date=f"{unsealed.month}月{unsealed.day}日")
    _publish(manager, place, title, body, _at(unsealed, 10, 0), template="unsealing")
    _publish(manager, place, *THANKS, _at(unsealed, 18, 0))

    for offset, hour, minute, group, asker, room, text, category, answer in GROUP_PROBLEMS:
        request = request_actions.request_create(
            actor=manager,
            compound=place,
            channel=Channel.GROUP,
            text=text,
            household=household_by_room(manager, place, room) if room else None,
            asker=f"{group}群·{asker}",
            category=category,
            received_at=_at(days[offset], hour, minute),
        )
        received = request.received_at
        request_actions.request_answer(
            actor=manager,
            request=request,
            text=answer,
            channel=Channel.PRIVATE,
            at=received + datetime.timedelta(minutes=25 + 5 * (offset % 4)),
        )
        request_actions.request_close(
            actor=manager, request=request, at=received + datetime.timedelta(hours=6)
        )

    for offset, hour, minute, caller, phone, asked, answered, becomes_request, room in CALLS:
        call = hotline_actions.hotline_log(
            actor=volunteer,
            compound=place,
            caller=caller,
            phone=phone,
            asked=asked,
            answered=answered,
            at=_at(days[offset], hour, minute),
            make_request=becomes_request,
            household=household_by_room(volunteer, place, room) if room else None,
        )
        if call.request is not None:  # answered on the phone (the call's answer), closed that evening
            request_actions.request_close(
                actor=manager, request=call.request, at=call.at + datetime.timedelta(hours=6)
            )


def load(*, now: datetime.datetime) -> dict:
    from tongxin.voice.selectors.counts import compound_counts

    place = Compound.objects.get(code=MEITIAN)
    with transaction.atomic():
        fresh = not (
            Request.objects.filter(compound=place).exists()
            or Notice.objects.filter(compound=place).exists()
            or HotlineCall.objects.filter(compound=place).exists()
        )
        if fresh:
            _replay(place, now)
    counts = compound_counts(_user("manager_mt", Role.COMPOUND_MANAGER), place, now=now)
    groups = {
        asker.split("群·", 1)[0]
        for asker in Request.objects.filter(compound=place, channel=Channel.GROUP).values_list(
            "asker", flat=True
        )
    }
    return {
        "wechat_groups": len(groups),
        "notices_published": counts["notices"],
        "calls": counts["calls"],
        "calls_answered": counts["calls_answered"],
        "requests": counts["received"],
        "problems_solved": counts["closed"],
    }
