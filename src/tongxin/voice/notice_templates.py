"""The common notices as data: a title and a body with {placeholders}; `render_template` fills
them and refuses clearly when a value is missing."""

import string

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

TEMPLATES: dict[str, dict] = {
    "testing_unit": {
        "label": gettext_lazy("单元核酸检测安排"),
        "title": gettext_lazy("{building}号楼{unit}单元核酸检测通知"),
        "body": gettext_lazy(
            "{building}号楼{unit}单元 {start}-{end} 下楼核酸，请带好出入证，全程佩戴口罩，"
            "保持一米间距，听从工作人员安排。"
        ),
    },
    "cleanup": {
        "label": gettext_lazy("环境清洁消杀"),
        "title": gettext_lazy("{date}环境清洁消杀通知"),
        "body": gettext_lazy(
            "{date} {start}起小区开展环境清洁消杀，请各位居民关好门窗，收好晾晒衣物，"
            "将生活垃圾放到指定地点。感谢配合！"
        ),
    },
    "unsealing": {
        "label": gettext_lazy("解除封控"),
        "title": gettext_lazy("{place}解除封控通知"),
        "body": gettext_lazy(
            "经评估，{place}自{date}起解除封控。请大家继续做好个人防护，出入扫码、测温，"
            "非必要不聚集。感谢大家的支持与配合！"
        ),
    },
}


def template_fields(key: str) -> list[str]:
    template = TEMPLATES[key]
    seen: list[str] = []
    for text in (str(template["title"]), str(template["body"])):
        for _literal, field, _spec, _conv in string.Formatter().parse(text):
            if field and field not in seen:
                seen.append(field)
    return seen


def render_template(key: str, **values) -> tuple[str, str]:
    """(title, body) of template `key` filled with `values`; an unknown key or a missing (blank)
    value is refused."""
    if key not in TEMPLATES:
        raise ValidationError(_("没有这个通知模板：%(key)s") % {"key": key}, code="template_unknown")
    missing = [f for f in template_fields(key) if not str(values.get(f, "") or "").strip()]
    if missing:
        raise ValidationError(
            _("模板缺少以下内容：%(fields)s") % {"fields": "、".join(missing)}, code="template_missing"
        )
    clean = {k: str(v).strip() for k, v in values.items()}
    template = TEMPLATES[key]
    return str(template["title"]).format(**clean), str(template["body"]).format(**clean)
