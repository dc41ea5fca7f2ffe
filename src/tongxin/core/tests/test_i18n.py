"""The English catalog is complete, its committed .mo is compiled from its .po, and the switch works."""

from pathlib import Path

import polib
from django.conf import settings
from django.urls import reverse

CATALOG = Path(settings.LOCALE_PATHS[0]) / "en" / "LC_MESSAGES"


def entries(catalog) -> dict:
    return {
        (entry.msgctxt, entry.msgid, entry.msgid_plural): (entry.msgstr, dict(entry.msgstr_plural))
        for entry in catalog
        if entry.msgid
    }


def test_committed_mo_is_compiled_from_the_po(tmp_path):
    po = polib.pofile(str(CATALOG / "django.po"))
    po.save_as_mofile(str(tmp_path / "django.mo"))
    compiled = polib.mofile(str(tmp_path / "django.mo"))
    committed = polib.mofile(str(CATALOG / "django.mo"))
    assert entries(committed) == entries(compiled)
    assert committed.metadata.get("Plural-Forms") == "nplurals=2; plural=(n != 1);"


def test_every_message_is_translated():
    po = polib.pofile(str(CATALOG / "django.po"))
    active = [entry for entry in po if not entry.obsolete]
    assert len(active) > 100
    assert [e.msgid for e in active if "fuzzy" in e.flags] == []
    untranslated = [
        e.msgid
        for e in active
        if (not all(e.msgstr_plural.values()) if e.msgid_plural else not e.msgstr.strip())
    ]
    assert untranslated == []


def test_login_page_is_chinese_by_default_and_english_after_switching(client):
    login = reverse("accounts:login")
    html = client.get(login).content.decode()
    assert '<html lang="zh-hans">' in html and "登录同心" in html
    response = client.post(reverse("set_language"), {"language": "en", "next": login}, follow=True)
    html = response.content.decode()
    assert '<html lang="en">' in html
    assert "Log in to Tongxin" in html and "Username" in html and "登录同心" not in html
    response = client.post(reverse("set_language"), {"language": "zh-hans", "next": login}, follow=True)
    assert "登录同心" in response.content.decode()
