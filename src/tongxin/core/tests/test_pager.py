"""The one pager every list page includes: its links keep the page's filters (`query`) when given."""

from django.core.paginator import Paginator
from django.template.loader import render_to_string


def test_the_pager_keeps_the_filters_and_says_where_you_are():
    page = Paginator(range(30), 10).get_page(2)
    html = render_to_string("_pager.html", {"page": page, "query": "compound=3&state=new"})
    assert 'href="?compound=3&amp;state=new&amp;page=1"' in html
    assert 'href="?compound=3&amp;state=new&amp;page=3"' in html
    assert "第 2 / 3 页" in html
    bare = render_to_string("_pager.html", {"page": page})
    assert 'href="?page=1"' in bare and 'href="?page=3"' in bare


def test_one_page_needs_no_pager():
    assert render_to_string("_pager.html", {"page": Paginator(range(3), 10).get_page(1)}).strip() == ""
