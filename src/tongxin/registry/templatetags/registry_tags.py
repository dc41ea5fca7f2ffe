"""Badges for residents' tags and presence, the same on every page."""

from django import template
from django.utils.translation import gettext as _

from tongxin.registry.models import Resident

register = template.Library()


@register.inclusion_tag("registry/_badges.html")
def badges(resident: Resident):
    """Elderly first, then the vulnerable tags, then the others; each with the class that colours it."""
    items = [(_("老年人"), "elderly")] if resident.is_elderly else []
    for field in Resident.TAG_FIELDS:
        if getattr(resident, field):
            kind = "vulnerable" if field in Resident.VULNERABLE_FIELDS else "other"
            items.append((Resident._meta.get_field(field).verbose_name, kind))
    return {"items": items}


@register.inclusion_tag("registry/_presence.html")
def presence(resident: Resident, detail: bool = False):
    return {"resident": resident, "detail": detail}
