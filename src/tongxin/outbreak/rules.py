"""Rule sets as data: risk levels and their lowering, isolation plans, test validity, status rules.

A deployment picks one with TONGXIN_RULE_SET and tunes any number with TONGXIN_RULES (JSON merged
over the chosen set, e.g. `{"levels": {"high": {"days": 7}}, "test_validity_hours": 72}`). No rule
number appears anywhere else in the code: everything reads `active_rules()`.
"""

import copy
import functools
import json
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Level:
    code: str
    label: str
    rank: int  # higher is stricter; 0 is "no risk" and is never stored on an area
    lower_to: str | None = None  # the level it drops to when the rule holds; None: lifted
    days: int | None = None  # consecutive days with no new positive before lowering
    screening_day: int | None = None  # an all-negative screening on or after this day of the clock
    short: str = ""  # the name in a map cell: 高, 封控


@dataclass(frozen=True)
class IsolationPlan:
    """Days are counted from the start, the start day being day 1."""

    central_days: int = 0
    home_days: int = 0
    central_test_days: tuple[int, ...] = ()
    home_test_days: tuple[int, ...] = ()


@dataclass(frozen=True)
class RuleSet:
    code: str
    label: str
    levels: dict[str, Level]
    raise_level: str  # the level a new positive's area gets by default
    close_contact: IsolationPlan
    high_risk_leaver: IsolationPlan
    arrival_test_within_hours: int = 48
    arrival_tests: int = 2
    arrival_tests_within_days: int = 3
    test_validity_hours: int = 48
    yellow_clear_negatives: int = 2
    yellow_clear_within_days: int = 3
    yellow_clear_min_gap_hours: int = 24
    lost_after_days: int = 2  # no check-in nor test for this many days: lost to follow-up
    extra: dict = field(default_factory=dict)

    def level(self, code: str) -> Level | None:
        return self.levels.get(code)

    def ordered_levels(self) -> list[Level]:
        return sorted(self.levels.values(), key=lambda lv: -lv.rank)


BUILT_IN: dict[str, dict] = {
    "2022-11": {
        "label": _("2022年11月“二十条”：高风险区/低风险区"),
        "levels": {
            "high": {"label": _("高风险区"), "short": _("高"), "rank": 2, "lower_to": None, "days": 5},
        },
        "raise_level": "high",
        "close_contact": {
            "central_days": 5,
            "home_days": 3,
            "central_test_days": [1, 2, 3, 5],
            "home_test_days": [1, 3],
        },
        "high_risk_leaver": {"home_days": 7, "home_test_days": [1, 3, 5, 7]},
    },
    "2022-06": {
        "label": _("2022年6月第九版：高/中/低风险区"),
        "levels": {
            "high": {
                "label": _("高风险区"),
                "short": _("高"),
                "rank": 3,
                "lower_to": "medium",
                "days": 7,
                "screening_day": 7,
            },
            "medium": {
                "label": _("中风险区"),
                "short": _("中"),
                "rank": 2,
                "lower_to": None,
                "days": 7,
                "screening_day": 7,
            },
        },
        "raise_level": "high",
        "close_contact": {
            "central_days": 7,
            "home_days": 3,
            "central_test_days": [1, 2, 3, 5, 7],
            "home_test_days": [3],
        },
        "high_risk_leaver": {"home_days": 7, "home_test_days": [1, 3, 5, 7]},
    },
    "shanghai-2022": {
        "label": _("2022年4月上海：封控区/管控区/防范区"),
        "levels": {
            "sealed": {
                "label": _("封控区"),
                "short": _("封控"),
                "rank": 3,
                "lower_to": "controlled",
                "days": 7,
                "screening_day": 13,
            },
            "controlled": {
                "label": _("管控区"),
                "short": _("管控"),
                "rank": 2,
                "lower_to": "precaution",
                "days": 7,
                "screening_day": 6,
            },
            "precaution": {"label": _("防范区"), "short": _("防范"), "rank": 1, "lower_to": None, "days": 14},
        },
        "raise_level": "sealed",
        "close_contact": {
            "central_days": 7,
            "home_days": 7,
            "central_test_days": [1, 2, 3, 5, 7],
            "home_test_days": [1, 3, 5, 7],
        },
        "high_risk_leaver": {"home_days": 7, "home_test_days": [1, 3, 5, 7]},
    },
}
DEFAULT_RULE_SET = "2022-11"


def _merge(base: dict, override: dict) -> dict:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def build_rule_set(code: str, overrides: dict | None = None) -> RuleSet:
    if code not in BUILT_IN:
        raise ValueError(f"unknown rule set {code!r}; known: {', '.join(BUILT_IN)}")
    data = _merge(BUILT_IN[code], overrides or {})
    levels = {key: Level(code=key, **value) for key, value in data.pop("levels").items()}
    for level in levels.values():
        if level.lower_to is not None and level.lower_to not in levels:
            raise ValueError(f"level {level.code!r} lowers to unknown level {level.lower_to!r}")
    plans = {
        name: IsolationPlan(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.pop(name).items()})
        for name in ("close_contact", "high_risk_leaver")
    }
    if data["raise_level"] not in levels:
        raise ValueError(f"raise_level {data['raise_level']!r} is not a level of {code!r}")
    known = set(RuleSet.__dataclass_fields__) - {"code", "levels", "close_contact", "high_risk_leaver"}
    extra = {k: data.pop(k) for k in list(data) if k not in known}
    return RuleSet(code=code, levels=levels, **plans, **data, extra=extra)


@functools.cache
def _cached(code: str, overrides_json: str) -> RuleSet:
    return build_rule_set(code, json.loads(overrides_json or "{}"))


def active_rules() -> RuleSet:
    """The deployment's rule set: settings.TONGXIN_RULE_SET tuned by settings.TONGXIN_RULES."""
    overrides = settings.TONGXIN_RULES
    if isinstance(overrides, dict):
        overrides = json.dumps(overrides, sort_keys=True)
    return _cached(settings.TONGXIN_RULE_SET, overrides or "{}")
