"""A compound's group robots as its keepers read them: name, kind, masked address, on or off.
The address and the secret stay encrypted; only the sender decrypts them."""

from django.http import Http404

from tongxin.registry.models import Compound
from tongxin.voice.models import Endpoint
from tongxin.voice.selectors.scope import KEEPERS, require_compound, voice_q


def endpoints_of_compound(user, compound: Compound):
    """The compound's robots, active first, then by name."""
    require_compound(user, compound.pk, roles=KEEPERS)
    return Endpoint.objects.filter(compound=compound).order_by("-active", "kind", "name", "pk")


def endpoint_get(user, endpoint_id: int) -> Endpoint:
    """A robot of a compound `user` works on (404 otherwise); only keepers (403 for the others)."""
    endpoint = Endpoint.objects.filter(voice_q(user), pk=endpoint_id).select_related("compound").first()
    if endpoint is None:
        raise Http404
    require_compound(user, endpoint.compound_id, roles=KEEPERS)
    return endpoint


def active_endpoint_kinds(user, compound: Compound) -> set[str]:
    """The robot kinds the compound has at least one active robot of (what a notice may use)."""
    require_compound(user, compound.pk)
    return set(Endpoint.objects.filter(compound=compound, active=True).values_list("kind", flat=True))
