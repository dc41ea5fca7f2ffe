"""The common notices' templates: filled, and a missing value refused by name."""

import pytest
from django.core.exceptions import ValidationError

from tongxin.voice.notice_templates import TEMPLATES, render_template, template_fields


def test_testing_schedule_for_a_unit():
    title, body = render_template("testing_unit", building="3", unit="2", start="08:00", end="09:30")
    assert title == "3号楼2单元核酸检测通知"
    assert body.startswith("3号楼2单元 08:00-09:30 下楼核酸，请带好出入证")


def test_missing_values_named():
    with pytest.raises(ValidationError) as exc:
        render_template("testing_unit", building="3", unit=" ", start="08:00")
    assert exc.value.code == "template_missing"
    assert exc.value.messages == ["模板缺少以下内容：unit、end"]


def test_unknown_template():
    with pytest.raises(ValidationError) as exc:
        render_template("nope")
    assert exc.value.code == "template_unknown"


@pytest.mark.parametrize("key", sorted(TEMPLATES))
def test_every_template_renders(key):
    values = {f: f"<{f}>" for f in template_fields(key)}
    title, body = render_template(key, **values)
    assert "{" not in title + body
    for value in values.values():
        assert value in title + body


def test_cleanup_and_unsealing():
    assert template_fields("cleanup") == ["date", "start"]
    _, body = render_template("unsealing", place="2号楼", date="5月3日")
    assert "2号楼自5月3日起解除封控" in body
