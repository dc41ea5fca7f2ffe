"""The category a request's text suggests, and whether it is urgent. Pure but for `is_urgent`,
which reads the registry."""

import datetime

from django.utils import timezone

from tongxin.voice.models import Category

# Checked in this order: the first category with a keyword in the text wins.
KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (Category.MEDICAL, ("药", "医", "病", "发烧", "急救", "医院", "透析", "孕")),
    (Category.TESTING, ("核酸", "检测", "采样", "阳性", "结果")),
    (Category.ACCESS, ("出入证", "出入", "出门", "解封", "封控", "通行", "快递", "门口")),
    (Category.COMPLAINT, ("投诉", "不满", "没人管", "态度")),
    (Category.PRAISE, ("感谢", "表扬", "辛苦")),
    (Category.SUPPLIES, ("菜", "米", "面", "水", "物资", "买", "送")),
)


def suggest_category(text) -> str:
    """The category whose keywords the text holds (medical first: a request for medicine bought
    and sent is medical), `other` when none."""
    if not isinstance(text, str):
        return Category.OTHER.value
    for category, words in KEYWORDS:
        if any(word in text for word in words):
            return category.value
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
