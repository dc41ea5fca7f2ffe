import pytest
from hypothesis import given
from hypothesis import strategies as st

from tongxin.voice.categories import is_urgent, suggest_category
from tongxin.voice.models import Category


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("家里没菜了，能帮忙买点吗", Category.SUPPLIES),
        ("桶装水什么时候送", Category.SUPPLIES),
        ("老人降压药吃完了", Category.MEDICAL),
        ("孩子发烧39度", Category.MEDICAL),
        ("需要去医院透析", Category.MEDICAL),
        ("核酸结果怎么还没出", Category.TESTING),
        ("明天几点采样", Category.TESTING),
        ("什么时候解封", Category.ACCESS),
        ("快递能进吗", Category.ACCESS),
        ("出入证在哪办", Category.ACCESS),
        ("我要投诉，三天没人管", Category.COMPLAINT),
        ("志愿者态度很差", Category.COMPLAINT),
        ("感谢大白们", Category.PRAISE),
        ("大家辛苦了", Category.PRAISE),
        ("楼道灯坏了", Category.OTHER),
        ("", Category.OTHER),
    ],
)
def test_suggests_from_keywords(text, expected):
    assert suggest_category(text) == expected


def test_medicine_to_buy_is_medical_not_supplies():
    assert suggest_category("帮忙买药送上来") == Category.MEDICAL


@given(st.one_of(st.text(), st.none(), st.integers(), st.binary()))
def test_never_crashes_and_always_a_category(value):
    assert suggest_category(value) in Category.values


FILLER = st.text(alphabet="的了吗家里我们")


# Words, not the single characters 米/面/水/送 once listed here: those made 厘米, 里面, 漏水 and 送医
# supplies requests (see categories.py).
@given(FILLER, st.sampled_from(["菜", "大米", "面条", "桶装水", "物资", "买", "配送"]), FILLER)
def test_a_supplies_word_among_filler_is_supplies(before, word, after):
    assert suggest_category(before + word + after) == Category.SUPPLIES


@given(st.text(), st.sampled_from(["发烧", "急救", "透析", "孕"]), st.text())
def test_a_medical_word_always_wins(before, word, after):
    assert suggest_category(before + word + after) == Category.MEDICAL


def test_urgent_medical_or_elderly_alone(world):
    assert is_urgent(Category.MEDICAL, None) is True
    assert is_urgent(Category.OTHER, None) is False
    # 王秀兰 (born 1948) lives alone in home_a1; home_a2's resident is not elderly-alone.
    assert is_urgent(Category.ACCESS, world.home_a1) is True
    assert is_urgent(Category.ACCESS, world.home_a2) is False


def test_elderly_not_alone_is_not_urgent(world):
    world.elder.lives_alone = False
    world.elder.save(update_fields=["lives_alone"])
    assert is_urgent(Category.SUPPLIES, world.home_a1) is False
