import datetime


def load(*, now: datetime.datetime) -> dict:
    return {}
