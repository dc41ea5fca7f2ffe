"""The category a request's text suggests, and whether it is urgent. Pure but for `is_urgent`,
which reads the registry.

Keywords are words, not single characters: 水 alone made 漏水 and 水电费 a supplies request, 医
alone made 医保卡 and 感谢医生 medical (and so urgent), and an emergency such as 晕倒 matched
nothing. The few single characters kept (菜, 买, 肉, 药, 疼, 痛, 孕) have no common other sense in
residents' messages. The order of the checks:

1. an emergency word anywhere (晕倒, 胸痛, 临产, 透析...) is medical, whatever else is said;
2. thanks that ask for nothing (感谢医生, 大家辛苦了) are praise, even when they name a doctor;
3. then the first category with a word in the text: medical, testing, access, complaint,
   supplies, praise (thanks that also ask something are what they ask);
4. water, power and heating (停水, 漏水, 水电费, 暖气) and everything else are `other`.
"""

import datetime

from django.utils import timezone

from tongxin.voice.models import Category

# Medical whatever else the text says: someone may be in danger, or a treatment cannot wait.
EMERGENCY: tuple[str, ...] = (
    "急救", "打120", "叫120", "晕倒", "昏倒", "晕过去", "摔倒", "跌倒", "昏迷", "不省人事",
    "胸痛", "胸闷", "心梗", "心脏病发", "中风", "脑梗", "呼吸困难", "喘不上气", "喘不过气",
    "抽搐", "出血", "骨折", "发烧", "高烧", "发热", "透析", "化疗", "放疗", "孕", "临产",
    "羊水", "破水", "宫缩", "分娩", "自杀", "轻生",
)  # fmt: skip

# Thanks or praise; praise on their own when the text asks for nothing (see ASKING).
PRAISE_WORDS: tuple[str, ...] = ("感谢", "谢谢", "多谢", "表扬", "辛苦", "点赞", "锦旗", "致敬", "给力")

# What makes a text a request even when it thanks someone.
ASKING: tuple[str, ...] = (
    "？", "?", "吗", "能不能", "可不可以", "能否", "麻烦", "帮忙", "帮我", "请问", "需要", "求助",
    "怎么", "什么时候", "何时", "几点", "急", "没有了", "吃完", "用完", "缺",
)  # fmt: skip

# Checked in this order after the emergencies and the thanks: the first category with a word wins.
KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        Category.MEDICAL,
        (
            "药", "医院", "就医", "看病", "生病", "病了", "病人", "病情", "犯病", "发病", "慢性病",
            "糖尿病", "高血压", "心脏病", "复诊", "门诊", "住院", "医生", "大夫", "诊所", "卫生院",
            "胰岛素", "血压", "血糖", "打针", "输液", "挂号", "手术", "疼", "痛", "不舒服", "咳嗽",
            "拉肚子", "腹泻", "呕吐", "过敏", "体温",
        ),
    ),
    (Category.TESTING, ("核酸", "检测", "采样", "阳性", "结果", "抗原", "混管", "阳了")),
    (
        Category.ACCESS,
        (
            "出入证", "通行证", "出入", "进出", "出门", "解封", "封控", "静默", "通行", "快递", "外卖",
            "门口", "进小区", "出小区",
        ),
    ),
    (
        Category.COMPLAINT,
        (
            "投诉", "不满", "没人管", "没人理", "没人回", "不回复", "态度", "太差", "差劲", "举报",
            "不作为", "推诿", "敷衍",
        ),
    ),
    (
        Category.SUPPLIES,
        (
            "菜", "买", "肉", "物资", "大米", "米面", "面条", "面粉", "挂面", "方便面", "粮油",
            "食用油", "鸡蛋", "牛奶", "奶粉", "尿不湿", "卫生纸", "纸巾", "日用品", "生活用品",
            "桶装水", "矿泉水", "饮用水", "没水喝", "送水", "送米", "配送", "代购", "团购", "送货",
            "送上来", "送到", "送来", "送点",
        ),
    ),
    (Category.PRAISE, PRAISE_WORDS),
)  # fmt: skip

# Water, power, heating and gas: not supplies (水电费, 漏水), repairs and bills are `other`.
UTILITIES: tuple[str, ...] = (
    "停水", "漏水", "水管", "水表", "水电费", "水费", "停电", "电费", "电表", "跳闸", "暖气",
    "供暖", "燃气", "煤气", "天然气",
)  # fmt: skip


def _has(text: str, words) -> bool:
    return any(word in text for word in words)


def suggest_category(text) -> str:
    """The category the text suggests (see the module's note for the order), `other` when none."""
    if not isinstance(text, str):
        return Category.OTHER.value
    if _has(text, EMERGENCY):
        return Category.MEDICAL.value
    if _has(text, PRAISE_WORDS) and not _has(text, ASKING):
        return Category.PRAISE.value
    for category, words in KEYWORDS:
        if _has(text, words):
            return category.value
    # UTILITIES are `other` too: named so that no supplies word is ever made of them again.
    return Category.OTHER.value


def is_urgent(category: str, household, on: datetime.date | None = None) -> bool:
    """Medical requests are urgent, as is any request from a household where an elderly resident
    lives alone (the registry's `lives_alone` and elderly age on `on`, today by default)."""
    if category == Category.MEDICAL:
        return True
    if household is None:
        return False
    from tongxin.registry.models import Resident, elderly_born_on_or_before

    on = on or timezone.localdate()
    return (
        Resident.objects.filter(
            household_id=household.pk, lives_alone=True, birth_date__lte=elderly_born_on_or_before(on)
        )
        .exclude(presence="moved_out")
        .exists()
    )
