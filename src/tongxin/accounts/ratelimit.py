"""Login guessing limits, counted in the shared cache (Redis when several app servers run)."""

from django.conf import settings
from django.core.cache import cache


def _keys(username: str, address: str | None) -> list[tuple[str, int]]:
    keys = [(f"login-fail:user:{username.strip().lower()}", settings.LOGIN_MAX_FAILURES)]
    if address:
        keys.append((f"login-fail:addr:{address}", settings.LOGIN_MAX_FAILURES_PER_ADDRESS))
    return keys


def is_blocked(username: str, address: str | None) -> bool:
    return any((cache.get(key) or 0) >= limit for key, limit in _keys(username, address))


def record_failure(username: str, address: str | None) -> None:
    window = settings.LOGIN_FAILURE_WINDOW_SECONDS
    for key, _limit in _keys(username, address):
        if cache.add(key, 1, timeout=window):
            continue
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=window)


def clear(username: str) -> None:
    cache.delete(f"login-fail:user:{username.strip().lower()}")
