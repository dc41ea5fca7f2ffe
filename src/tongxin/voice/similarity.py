"""Which requests ask the same thing: Chinese segmentation (jieba), TF-IDF over the texts being
grouped, cosine similarity and average-linkage grouping. Pure: no models, no database.

Residents ask one question in many words ("什么时候解封", "小区啥时候能解封啊", "请问几号解封？"),
so beyond the words themselves:
- question words that mean "when" are one token (啥时候, 几号, 哪天 ... -> 何时), and so on for a few
  other everyday synonyms (见 `SYNONYMS`);
- each word also counts, at half weight, by its characters, so that "能进", "送进" and "进来" meet on
  进 although jieba cuts them differently;
- stop words (的 了 吗 请问 可以 ...), punctuation and the compound itself (小区) carry nothing.

Grouping is average linkage: two groups merge while the mean similarity between their texts
reaches the threshold, best pair first, ties to the lowest indices. Unlike single linkage, a chain
of near neighbours ("快递能进吗" - "快递几点到" - "几点做核酸") does not pull unrelated questions
together. O(n²) memory and about O(n²·k) time for n texts: fine for a few hundred open requests.
"""

import logging
import math
import re
import threading
import unicodedata
from collections import Counter

CHAR_WEIGHT = 0.5
LABEL_MAX = 30

STOP_WORDS = frozenset(
    """
    的 了 吗 呢 啊 吧 呀 哦 嘛 啦 么 呗 哈 哇 嗯 额 噢 喔 哎 唉 么 滴 得 地 着 过 之
    我 我们 你 你们 您 他 她 它 他们 她们 们 大家 听说 据说 我要 咱 咱们 自己 俺 人家 我家 我们家 家里 本人
    请问 请 问 问下 问一下 想问 想 想知道 知道 一下 谢谢 麻烦 您好 你好 老师 领导 工作人员 辛苦
    什么 怎么 怎么样 怎样 如何 为什么 为啥 咋 啥 哪 哪里 哪儿 谁 多少
    能 不能 可以 可不可以 能不能 能否 是否 是不是 会 会不会 要 要不要 需不需要 行 行不行 可能 应该
    是 不 不是 没 没有 有 有没有 在 都 还 就 也 和 跟 与 及 或 或者 又 再 才 只 很 太 更 最 挺 真
    这 那 这个 那个 这些 那些 这里 那里 这边 那边 这样 那样 个 些 点儿 一点 一些
    到 给 让 被 把 对 从 向 往 为 为了 因为 所以 但是 但 而且 如果 然后 还是 已经 一直 现在 目前
    小区 我们小区 本小区 咱小区 社区 楼 号楼 单元 业主 居民 住户
    """.split()
)

# Everyday synonyms residents use for one question; the right side is the token kept.
SYNONYMS = {
    "时候": "何时",
    "啥时候": "何时",
    "什么时候": "何时",
    "啥时": "何时",
    "几时": "何时",
    "几号": "何时",
    "哪天": "何时",
    "哪一天": "何时",
    "多久": "何时",
    "多长时间": "何时",
    "何时": "何时",
    "日期": "何时",
    "解除": "解封",
    "解禁": "解封",
    "放开": "解封",
    "开封": "解封",
    "封控": "封",
    "封闭": "封",
    "封楼": "封",
    "静默": "封",
    "检测": "核酸",
    "核酸检测": "核酸",
    "做核酸": "核酸",
    "采样": "核酸",
    "检测点": "核酸",
    "能进": "进",
    "进来": "进",
    "进去": "进",
    "进入": "进",
    "送进": "进",
    "外卖": "快递",
    "快递员": "快递",
    "包裹": "快递",
    "送菜": "买菜",
    "蔬菜": "菜",
    "团购": "买菜",
    "药品": "药",
    "药物": "药",
    "看病": "就医",
    "就诊": "就医",
    "医院": "就医",
    "投诉": "投诉",
    "垃圾堆": "垃圾",
    "没人收": "清理",
    "清运": "清理",
    "收垃圾": "清理",
    "降压": "降压药",
    "举报": "投诉",
}

_PUNCT_OR_SPACE = re.compile(r"[\s\W_]+", re.UNICODE)
_DIGITS = re.compile(r"\d+")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_MAX_CHARS = 2000  # a request's text is at most 2000 characters

_jieba = None
_jieba_lock = threading.Lock()


def _segmenter():
    """jieba, loaded once per process (its dictionary takes about a second), quietly."""
    global _jieba
    if _jieba is None:
        with _jieba_lock:
            if _jieba is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _jieba = jieba
    return _jieba


def normalize(text: str) -> str:
    """Full-width to half-width (NFKC), ASCII lowercased, digit runs as one "0"."""
    text = unicodedata.normalize("NFKC", str(text or ""))[:_MAX_CHARS].lower()
    return _DIGITS.sub("0", text)


def tokens(text: str) -> list[str]:
    """The words of `text` that say something, synonyms folded, in order (repeats kept)."""
    words = []
    for piece in _PUNCT_OR_SPACE.split(normalize(text)):
        if not piece:
            continue
        for word in _segmenter().lcut(piece):
            word = word.strip()
            if not word or word in STOP_WORDS or _PUNCT_OR_SPACE.fullmatch(word):
                continue
            words.append(SYNONYMS.get(word, word))
    return words


def features(text: str) -> Counter:
    """Term counts: each word, plus at `CHAR_WEIGHT` each Chinese character of a word that is not a
    stop word on its own."""
    counts: Counter = Counter()
    for word in tokens(text):
        counts["w:" + word] += 1.0
        if len(word) > 1:
            for char in word:
                if _CJK.match(char) and char not in STOP_WORDS:
                    counts["c:" + char] += CHAR_WEIGHT
    return counts


def tfidf_vectors(texts: list[str]) -> list[dict[str, float]]:
    """Unit-length TF-IDF vectors over `texts` (smoothed idf: ln((1+n)/(1+df)) + 1; tf damped as
    1 + ln(count)). A text with nothing to say is the empty vector."""
    counted = [features(t) for t in texts]
    n = len(counted)
    df: Counter = Counter()
    for counts in counted:
        df.update(counts.keys())
    idf = {term: math.log((1 + n) / (1 + d)) + 1.0 for term, d in df.items()}
    vectors = []
    for counts in counted:
        vec = {}
        for term, count in counts.items():
            # Characters count at CHAR_WEIGHT per occurrence; damp above one full occurrence.
            tf = count if count <= 1 else 1.0 + math.log(count)
            vec[term] = tf * idf[term]
        norm = math.sqrt(sum(v * v for v in vec.values()))
        vectors.append({k: v / norm for k, v in vec.items()} if norm else {})
    return vectors


def cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b[k] for k, v in a.items() if k in b)


def similarity_matrix(texts: list[str]) -> list[list[float]]:
    vectors = tfidf_vectors(texts)
    n = len(vectors)
    sims = [[0.0] * n for _ in range(n)]
    for i in range(n):
        sims[i][i] = 1.0 if vectors[i] else 0.0
        for j in range(i + 1, n):
            s = cosine(vectors[i], vectors[j])
            sims[i][j] = sims[j][i] = s
    return sims


def _default_threshold() -> float:
    try:
        from django.conf import settings

        return float(getattr(settings, "TONGXIN_VOICE_GROUP_THRESHOLD", 0.35))
    except Exception:  # Django not configured: the module stays usable on its own
        return 0.35


def group_texts(texts: list[str], threshold: float | None = None) -> list[list[int]]:
    """Indices of `texts` grouped by what they ask: a partition of range(len(texts)), each group
    ascending, groups ordered by their first index, single texts as groups of one. Deterministic."""
    if threshold is None:
        threshold = _default_threshold()
    n = len(texts)
    if n == 0:
        return []
    sims = similarity_matrix(texts)
    # Average linkage on sums: link[a][b] = sum of similarities between members of a and b.
    members: dict[int, list[int]] = {i: [i] for i in range(n)}
    link: dict[int, dict[int, float]] = {i: {j: sims[i][j] for j in range(n) if j != i} for i in range(n)}
    while len(members) > 1:
        best = None
        best_score = threshold
        for a in sorted(members):
            size_a = len(members[a])
            for b, total in link[a].items():
                if b <= a:
                    continue
                score = total / (size_a * len(members[b]))
                # Strictly better, or reaching the threshold first (kept: lowest indices win ties).
                if score > best_score + 1e-12 or (best is None and score >= threshold - 1e-12):
                    best, best_score = (a, b), score
        if best is None:
            break
        a, b = best  # a < b: the merged group keeps a's key (its lowest index)
        members[a].extend(members.pop(b))
        row_b = link.pop(b)
        del link[a][b]
        for c, total in row_b.items():
            if c == a:
                continue
            link[a][c] = link[a].get(c, 0.0) + total
            link[c][a] = link[a][c]
            del link[c][b]
    return sorted((sorted(group) for group in members.values()), key=lambda g: g[0])


def label_for(texts: list[str]) -> str:
    """The group's most central text (highest total similarity to the others; the first on a tie),
    whitespace collapsed, cut to 30 characters with an ellipsis."""
    if not texts:
        return ""
    sims = similarity_matrix(texts)
    central = max(range(len(texts)), key=lambda i: (round(sum(sims[i]), 9), -i))
    text = " ".join(str(texts[central] or "").split())
    if len(text) > LABEL_MAX:
        text = text[: LABEL_MAX - 1] + "…"
    return text
