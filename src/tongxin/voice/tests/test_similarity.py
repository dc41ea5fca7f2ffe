"""Common questions: segmentation, TF-IDF similarity and grouping on residents' group-chat messages."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tongxin.voice import similarity
from tongxin.voice.similarity import group_texts, label_for, tokens

# Messages pasted in from a Hohhot compound's resident groups, November 2022.
MESSAGES = [
    "什么时候解封",  # 0
    "快递能进吗",  # 1
    "我家老人需要降压药",  # 2
    "小区啥时候能解封啊",  # 3
    "明天几点做核酸？",  # 4
    "快递可以送进小区吗",  # 5
    "请问几号解封？",  # 6
    "核酸几点开始做",  # 7
    "快递能不能进来",  # 8
    "3号楼的垃圾两天没人收了，味道很大",  # 9
    "团购的菜什么时候能送到",  # 10
    "今天还做核酸吗？在哪做",  # 11
    "我妈的降压药吃完了，哪里能买到",  # 12
    "买菜的团购群怎么进",  # 13
    "解封了吗？听说下周一解封",  # 14
    "楼下垃圾堆了好几天了，没人清理",  # 15
    "孩子发烧了，能出去看病吗",  # 16
    "我要投诉5号楼的志愿者态度很差",  # 17
    "在哪里可以团购蔬菜",  # 18
    "核酸结果怎么查不到",  # 19
    "家里没有菜了，怎么买菜",  # 20
    "胰岛素快用完了，能帮忙买吗",  # 21
    "感谢志愿者们，辛苦了！",  # 22
    "核酸结果什么时候出来",  # 23
    "医院能进吗？需要什么证明",  # 24
]


def test_the_three_unsealing_questions_group_together_and_apart_from_parcels_and_medicine():
    texts = ["什么时候解封", "快递能进吗", "小区啥时候能解封啊", "快递可以送进小区吗", "请问几号解封？"]
    texts += ["快递能不能进来", "我家老人需要降压药"]
    assert group_texts(texts, threshold=0.35) == [[0, 2, 4], [1, 3, 5], [6]]


def test_a_day_of_group_messages_groups_exactly():
    assert group_texts(MESSAGES, threshold=0.35) == [
        [0, 3, 6, 14],  # 解封
        [1, 5, 8],  # 快递
        [2],  # 降压药 (one household's need, not a common question)
        [4, 7, 11],  # 核酸时间
        [9, 15],  # 垃圾没人收
        [10, 13, 18, 20],  # 买菜 / 团购
        [12],
        [16],
        [17],  # a complaint about a volunteer ...
        [19, 23],  # 核酸结果
        [21],
        [22],  # ... and thanks to the volunteers stay apart
        [24],
    ]


def test_the_threshold_comes_from_the_settings(settings):
    settings.TONGXIN_VOICE_GROUP_THRESHOLD = 0.99
    assert group_texts(["什么时候解封", "请问几号解封？", "快递能进吗"]) == [[0, 1], [2]]
    settings.TONGXIN_VOICE_GROUP_THRESHOLD = 1.01
    assert group_texts(["什么时候解封", "请问几号解封？", "快递能进吗"]) == [[0], [1], [2]]


def test_average_linkage_does_not_chain_unrelated_questions():
    # "快递几点到" is close to both neighbours; single linkage would join all three.
    texts = ["快递能进吗", "快递几点到", "几点做核酸"]
    groups = group_texts(texts, threshold=0.35)
    assert [0, 1, 2] not in groups
    assert sorted(i for g in groups for i in g) == [0, 1, 2]


def test_stop_words_punctuation_case_and_digits_are_normalised():
    assert tokens("请问，我们小区什么时候解封啊？？") == ["何时", "解封"]
    assert tokens("ＰＣＲ 结果") == tokens("pcr结果")
    assert tokens("3号楼") == tokens("12号楼") == ["0"]
    assert tokens("！？。 ，") == []
    assert tokens("") == []


def test_texts_with_nothing_to_say_stay_alone():
    assert group_texts(["？？", "吗", "什么时候解封", "请问几号解封"], threshold=0.35) == [[0], [1], [2, 3]]


def test_empty_and_single():
    assert group_texts([]) == []
    assert group_texts(["快递能进吗"]) == [[0]]


def test_label_is_the_most_central_text_trimmed():
    assert label_for(["什么时候解封", "解封了吗？听说下周一解封", "小区啥时候能解封啊"]) == "什么时候解封"
    long = "我家住在3号楼2单元，老人行动不便，想问一下什么时候可以解封，还有快递能不能送到楼下"
    label = label_for([long])
    assert len(label) == 30 and label.endswith("…") and label.startswith("我家住在3号楼")
    assert label_for(["  快递\n能进吗  "]) == "快递 能进吗"
    assert label_for([]) == ""


def test_jieba_is_loaded_once(monkeypatch):
    first = similarity._segmenter()
    assert similarity._segmenter() is first


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(max_size=60), max_size=12), st.floats(min_value=0.0, max_value=1.0))
def test_any_texts_are_partitioned_deterministically(texts, threshold):
    groups = group_texts(texts, threshold=threshold)
    flat = [i for g in groups for i in g]
    assert sorted(flat) == list(range(len(texts)))
    assert all(g == sorted(g) and g for g in groups)
    assert [g[0] for g in groups] == sorted(g[0] for g in groups)
    assert group_texts(list(texts), threshold=threshold) == groups
    if texts:
        assert len(label_for(texts)) <= 30


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sampled_from(MESSAGES), min_size=2, max_size=10))
def test_identical_messages_always_group(texts):
    groups = group_texts(texts + [texts[0]], threshold=0.35)
    last = len(texts)
    holding = next(g for g in groups if last in g)
    if similarity.tokens(texts[0]):
        assert 0 in holding


@pytest.mark.parametrize("n", [300])
def test_a_few_hundred_requests_group_quickly(n):
    import time

    texts = [MESSAGES[i % len(MESSAGES)] + f" {i}楼" for i in range(n)]
    started = time.monotonic()
    groups = group_texts(texts, threshold=0.35)
    assert time.monotonic() - started < 20
    assert sorted(i for g in groups for i in g) == list(range(n))
