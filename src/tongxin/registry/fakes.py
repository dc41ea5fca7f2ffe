"""Synthetic people for the demo and the benchmark data: Chinese names, ID numbers, phones, places.

Everything is drawn from a `random.Random` the caller seeds, so the same seed gives the same people.
The demo and `synth` draw ID region codes from disjoint lists, so their numbers never collide when
both are loaded into one database.
"""

import datetime
import itertools
import random

from tongxin.core.documents import ID_CHECK_CHARS, ID_WEIGHTS

# The most common surnames, roughly by frequency (weights are shares per thousand).
SURNAMES = (
    ("王", 72), ("李", 72), ("张", 68), ("刘", 54), ("陈", 45), ("杨", 31), ("赵", 20), ("黄", 19),
    ("周", 18), ("吴", 16), ("徐", 13), ("孙", 12), ("胡", 11), ("朱", 11), ("高", 10), ("林", 9),
    ("何", 9), ("郭", 9), ("马", 9), ("罗", 7), ("梁", 7), ("宋", 6), ("郑", 6), ("谢", 6),
    ("韩", 5), ("唐", 5), ("冯", 5), ("于", 5), ("董", 5), ("萧", 4), ("程", 4), ("曹", 4),
    ("袁", 4), ("邓", 4), ("许", 4), ("傅", 3), ("沈", 3), ("曾", 3), ("彭", 3), ("吕", 3),
    ("苏", 3), ("卢", 3), ("蒋", 3), ("蔡", 3), ("贾", 3), ("丁", 3), ("魏", 3), ("薛", 3),
    ("叶", 3), ("阎", 3), ("余", 2), ("潘", 2), ("杜", 2), ("戴", 2), ("夏", 2), ("钟", 2),
    ("汪", 2), ("田", 2), ("任", 2), ("姜", 2), ("范", 2), ("方", 2), ("石", 2), ("姚", 2),
    ("谭", 2), ("廖", 2), ("邹", 2), ("熊", 2), ("金", 2), ("陆", 2), ("郝", 2), ("孔", 2),
    ("白", 2), ("崔", 2), ("康", 2), ("毛", 2), ("邱", 2), ("秦", 2), ("江", 2), ("史", 2),
    ("侯", 2), ("武", 2), ("乔", 2), ("贺", 2), ("云", 1), ("奇", 1), ("包", 1), ("乌", 1),
)  # fmt: skip
SURNAME_LIST = [s for s, _w in SURNAMES]
SURNAME_CUM = list(itertools.accumulate(w for _s, w in SURNAMES))

# Given names by generation: born before 1965, 1965-1989, 1990 on; men, then women.
GIVEN_NAMES = {
    ("old", True): "建国 建军 国强 国庆 志强 德华 振华 永明 福海 文华 金山 保国 卫东 红旗 春生 长林 玉山 "
    "树林 宝山 忠义 明 华 强 军 福 林 山 海 贵 斌".split(),
    ("old", False): "秀兰 桂英 淑珍 玉兰 秀英 凤英 桂兰 玉珍 秀珍 淑英 丽华 美玲 桂芝 翠花 玉梅 春梅 "
    "秀梅 淑兰 素芬 金凤 兰 英 珍 芳 梅 凤 霞 琴".split(),
    ("mid", True): "伟 磊 勇 杰 涛 斌 超 鹏 军 刚 海涛 志刚 建华 晓东 海波 立新 宏伟 俊杰 文斌 永刚 "
    "东升 晓明 利军 光辉".split(),
    ("mid", False): "丽 静 敏 燕 艳 娟 霞 丹 红梅 晓燕 丽娟 海燕 雪梅 春燕 玉洁 秀丽 彩霞 美华 晓红 "
    "丽萍 慧 琳".split(),
    ("young", True): "浩然 子轩 宇航 俊熙 博文 天佑 一鸣 子豪 浩宇 思远 明轩 睿 宇 皓轩 晨阳 奕辰 "
    "铭泽 子墨 嘉豪 宇轩 泽宇 鑫".split(),
    ("young", False): "欣怡 子涵 梓萱 诗涵 雨桐 可馨 思琪 梦瑶 佳怡 雅琪 一诺 语嫣 若曦 紫涵 婉清 "
    "心怡 芷若 梓琪 依诺 雨萱 佳琪 悦".split(),
}
# Mongolian names, written without a Chinese surname as is usual in Hohhot.
MONGOLIAN_NAMES = {
    True: "巴特尔 朝鲁 额尔敦 苏和 巴雅尔 孟和 阿拉坦 宝音 毕力格 特木尔".split(),
    False: "乌云 其其格 斯琴 萨仁 娜仁 苏日娜 敖登 高娃 托娅 塔娜".split(),
}

# ID region codes (GB/T 2260). Hohhot's districts and counties, weighted towards 赛罕区.
HOHHOT_REGIONS = (
    ("150105", 45), ("150102", 14), ("150103", 10), ("150104", 10),
    ("150121", 6), ("150122", 4), ("150123", 4), ("150124", 3), ("150125", 4),
)  # fmt: skip
# Codes created long after many of their holders were born (康巴什区 2016, 集宁区 2003).
LATE_REGIONS = ("150603", "150902")
# Elsewhere in Inner Mongolia and in the rest of China: where migrants and returnees come from.
DEMO_OTHER_REGIONS = {
    "152601": "内蒙古自治区乌兰察布市集宁区",
    "150602": "内蒙古自治区鄂尔多斯市东胜区",
    "150202": "内蒙古自治区包头市东河区",
    "150203": "内蒙古自治区包头市昆都仑区",
    "152502": "内蒙古自治区锡林郭勒盟锡林浩特市",
    "110105": "北京市朝阳区",
    "130102": "河北省石家庄市长安区",
    "140105": "山西省太原市小店区",
    "610102": "陕西省西安市新城区",
    "210102": "辽宁省沈阳市和平区",
}
# The synthetic city's residents carry none of the demo's codes (see the module docstring).
SYNTH_REGIONS = (
    "150204 150205 150206 150207 150221 150222 150223 150302 150303 150304 150402 150403 150404 "
    "150430 150502 150521 150621 150702 150721 150781 150783 150802 150821 150921 150922 152201 "
    "152921 110101 110108 120101 130104 130203 140106 140107 140303 220102 220104 230102 230103 "
    "310101 310104 320102 320104 330102 330106 340102 350102 350103 360102 370102 370202 410102 "
    "410105 420102 420106 430102 440103 440104 450102 500103 510104 510107 520102 530102 620102 "
    "630102 640104 650102"
).split()

PLACES = (
    "北京市朝阳区",
    "天津市和平区",
    "内蒙古自治区包头市昆都仑区",
    "内蒙古自治区鄂尔多斯市东胜区",
    "河北省石家庄市长安区",
    "山西省大同市平城区",
    "陕西省西安市雁塔区",
    "内蒙古自治区乌兰察布市集宁区",
)
STREETS = "新华大街 中山路 锡林郭勒南路 大学西路 昭乌达路 乌兰察布东路 兴安南路 鄂尔多斯大街 丰州路".split()

MOBILE_PREFIXES = (
    "130 131 132 133 134 135 136 137 138 139 147 150 151 152 153 155 156 157 158 159 166 "
    "173 175 176 177 178 180 181 182 183 184 185 186 187 188 189 191 198 199"
).split()


def surname(rng: random.Random) -> str:
    return rng.choices(SURNAME_LIST, cum_weights=SURNAME_CUM)[0]


def generation(birth_year: int) -> str:
    return "old" if birth_year < 1965 else "mid" if birth_year < 1990 else "young"


def given_name(rng: random.Random, birth_year: int, male: bool) -> str:
    return rng.choice(GIVEN_NAMES[generation(birth_year), male])


def full_name(rng: random.Random, birth_year: int, male: bool, family: str | None = None) -> str:
    """A name; about 3% are Mongolian names (no surname) unless a family surname is given."""
    if family is None and rng.random() < 0.03:
        return rng.choice(MONGOLIAN_NAMES[male])
    return (family or surname(rng)) + given_name(rng, birth_year, male)


def mobile(rng: random.Random) -> str:
    return rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(100_000_000):08d}"


def weighted(rng: random.Random, pairs) -> str:
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights)[0]


def birth_date_for_age(rng: random.Random, age: int, today: datetime.date) -> datetime.date:
    """A birth date that makes the person exactly `age` today (whatever today is)."""
    anniversary = datetime.date(today.year - age, today.month, min(today.day, 28))
    return anniversary - datetime.timedelta(days=rng.randrange(360))


def street_address(rng: random.Random, place: str) -> str:
    return f"{place}{rng.choice(STREETS)}{rng.randint(1, 300)}号"


class IdNumbers:
    """Fast valid mainland ID numbers: the check character from cached partial weighted sums."""

    def __init__(self) -> None:
        self._regions: dict[str, int] = {}
        self._dates: dict[int, tuple[str, int]] = {}
        self._sequences: dict[int, int] = {}

    def number(self, region: str, birth_ordinal: int, sequence: int) -> str:
        region_sum = self._regions.get(region)
        if region_sum is None:
            region_sum = self._regions[region] = _weighted_sum(region, 0)
        date_part = self._dates.get(birth_ordinal)
        if date_part is None:
            text = datetime.date.fromordinal(birth_ordinal).strftime("%Y%m%d")
            date_part = self._dates[birth_ordinal] = (text, _weighted_sum(text, 6))
        seq = f"{sequence:03d}"
        seq_sum = self._sequences.get(sequence)
        if seq_sum is None:
            seq_sum = self._sequences[sequence] = _weighted_sum(seq, 14)
        total = region_sum + date_part[1] + seq_sum
        return f"{region}{date_part[0]}{seq}{ID_CHECK_CHARS[total % 11]}"


def _weighted_sum(digits: str, offset: int) -> int:
    return sum(int(c) * w for c, w in zip(digits, ID_WEIGHTS[offset : offset + len(digits)], strict=True))
