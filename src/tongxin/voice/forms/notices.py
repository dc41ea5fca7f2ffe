"""Forms of the notice pages and the robots' set-up: they parse; the actions check (an empty
title, an audience of another compound, a past time, a robot URL that is not https)."""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tongxin.registry import selectors as registry_selectors
from tongxin.voice.models import Audience, Delivery, Endpoint
from tongxin.voice.notice_templates import TEMPLATES, template_fields

ROOMS_MAX = 500
FIELD_LABELS = {
    "building": gettext_lazy("楼号"),
    "unit": gettext_lazy("单元号"),
    "start": gettext_lazy("开始时间"),
    "end": gettext_lazy("结束时间"),
    "date": gettext_lazy("日期"),
    "place": gettext_lazy("范围（如：3号楼、全小区）"),
}
FIELD_PLACEHOLDERS = {
    "building": "3",
    "unit": "2",
    "start": "08:00",
    "end": "09:30",
    "date": gettext_lazy("5月3日"),
    "place": gettext_lazy("丁香苑小区"),
}
ROBOT_KINDS = {
    Delivery.ChannelKind.WECOM: Endpoint.Kind.WECOM,
    Delivery.ChannelKind.DINGTALK: Endpoint.Kind.DINGTALK,
}


def template_choices() -> list[tuple[str, str]]:
    return [("", gettext_lazy("不用模板"))] + [(key, t["label"]) for key, t in TEMPLATES.items()]


class TemplateForm(forms.Form):
    """The template picker (GET): a template, then the values its text needs."""

    template = forms.ChoiceField(label=gettext_lazy("通知模板"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].choices = template_choices()
        key = (self.data.get("template") or "") if self.is_bound else ""
        self.chosen = key if key in TEMPLATES else ""
        for name in template_fields(self.chosen) if self.chosen else []:
            self.fields[name] = forms.CharField(
                label=FIELD_LABELS.get(name, name),
                max_length=50,
                required=False,
                widget=forms.TextInput(attrs={"placeholder": FIELD_PLACEHOLDERS.get(name, "")}),
            )

    def values(self) -> dict[str, str]:
        return {name: self.cleaned_data.get(name, "") for name in template_fields(self.chosen)}


def split_rooms(text: str) -> list[str]:
    """One room a line, or several separated by commas, 、 or semicolons ("3-2-301，3-2-302")."""
    parts = re.split(r"[\n\r,，、;；]+", text or "")
    return list(dict.fromkeys(p.strip() for p in parts if p.strip()))


def households_of_rooms(user, compound, rooms: list[str]) -> list[int]:
    """The households (ids) at `rooms` of `compound` that `user` sees; a room not found is named."""
    if len(rooms) > ROOMS_MAX:
        raise ValidationError(_("名单最多%(n)s户") % {"n": ROOMS_MAX}, code="rooms_too_many")
    found, missing = [], []
    for room in rooms:
        household = registry_selectors.household_by_room(user, compound, room)
        if household is None:
            missing.append(room)
        else:
            found.append(household.pk)
    if missing:
        raise ValidationError(
            _("本小区找不到这些房号：%(rooms)s") % {"rooms": "、".join(missing[:20])}, code="rooms_unknown"
        )
    return list(dict.fromkeys(found))


class NoticeForm(forms.Form):
    template = forms.CharField(required=False, widget=forms.HiddenInput, max_length=30)
    title = forms.CharField(label=gettext_lazy("标题"), max_length=100, required=False)
    body = forms.CharField(
        label=gettext_lazy("正文"), max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 6})
    )
    audience = forms.ChoiceField(
        label=gettext_lazy("通知对象"),
        choices=Audience.choices,
        initial=Audience.COMPOUND,
        widget=forms.RadioSelect,
    )
    buildings = forms.TypedMultipleChoiceField(
        label=gettext_lazy("楼栋"), coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    units = forms.TypedMultipleChoiceField(
        label=gettext_lazy("单元"), coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    rooms = forms.CharField(
        label=gettext_lazy("房号名单（一行一户，如 3-2-301）"),
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "3-2-301\n3-2-302"}),
    )
    channels = forms.MultipleChoiceField(
        label=gettext_lazy("发送渠道"),
        widget=forms.CheckboxSelectMultiple,
        initial=[Delivery.ChannelKind.PORTAL],
        error_messages={"required": gettext_lazy("请至少选择一个发送渠道")},
    )
    scheduled_at = forms.DateTimeField(
        label=gettext_lazy("计划发布时间（留空则立即发布）"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        error_messages={"invalid": gettext_lazy("请填写正确的日期和时间")},
    )
    image = forms.FileField(
        label=gettext_lazy("图片（可选，JPEG/PNG/WebP）"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )
    attachment = forms.FileField(
        label=gettext_lazy("附件（可选，图片或PDF）"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp,application/pdf"}),
    )

    def __init__(self, *args, user, compound, robot_kinds=frozenset(), **kwargs):
        super().__init__(*args, **kwargs)
        self.user, self.compound = user, compound
        self.fields["buildings"].choices = [
            (b.pk, str(b))
            for b in registry_selectors.buildings_visible(user, compound).order_by("sort_key", "number")
        ]
        self.fields["units"].choices = [
            (u.pk, str(u))
            for u in registry_selectors.units_visible(user, compound).order_by(
                "building__sort_key", "building__number", "sort_key", "number"
            )
        ]
        self.fields["channels"].choices = [
            (value, label)
            for value, label in Delivery.ChannelKind.choices
            if value not in ROBOT_KINDS or ROBOT_KINDS[value] in robot_kinds
        ]

    def clean_rooms(self) -> list[int]:
        """The households of the listed rooms; a room not found in the compound is named."""
        rooms = split_rooms(self.cleaned_data.get("rooms", ""))
        if self.data.get("audience") != Audience.LIST:
            return []
        return households_of_rooms(self.user, self.compound, rooms)

    def audience_ids(self) -> list[int]:
        audience = self.cleaned_data["audience"]
        return {
            Audience.BUILDINGS: self.cleaned_data.get("buildings") or [],
            Audience.UNITS: self.cleaned_data.get("units") or [],
            Audience.LIST: self.cleaned_data.get("rooms") or [],
        }.get(audience, [])


class EndpointForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("类型"), choices=Endpoint.Kind.choices, widget=forms.RadioSelect
    )
    name = forms.CharField(
        label=gettext_lazy("名称"),
        max_length=50,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("如：3号楼居民群")}),
    )
    url = forms.CharField(
        label=gettext_lazy("Webhook 地址"),
        max_length=500,
        required=False,
        widget=forms.TextInput(
            attrs={
                "placeholder": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…",
                "autocomplete": "off",
            }
        ),
    )
    secret = forms.CharField(
        label=gettext_lazy("加签密钥（仅钉钉，可选）"),
        max_length=200,
        required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "off", "placeholder": "SEC…"}),
    )
