"""The voice part of the demo: a day of 丁香苑小区's requests, common questions and notices, through
the module's own actions."""

import datetime

from django.utils import timezone


def load_demo(*, now: datetime.datetime | None = None) -> dict:
    now = now or timezone.now()
    from tongxin.voice.demo import day

    return day.load(now=now)
