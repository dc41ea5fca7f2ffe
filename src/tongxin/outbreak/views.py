"""Outbreak pages: parse the request, call one selector or action, render."""

from tongxin.outbreak import selectors

# Resident status


def resident_status_panel(user, resident) -> dict:
    """The status section of the registry's resident page (registered in OutbreakConfig.ready):
    a coloured badge for everyone who sees the resident, the reasons for health roles and the
    resident's own household only."""
    shown = selectors.resident_status_of(user, resident)
    return {
        "template": "outbreak/_resident_status.html",
        "status": shown.status,
        "shows_reasons": shown.shows_reasons,
    }
