"""What the team's voice pages share: the role check (each page keeps its own refusal text), the
compound being looked at, and the page to choose one when the user sees several."""

from django.shortcuts import render

from tongxin.core.pages import compound_choice
from tongxin.voice.selectors.scope import TEAM, require_compound, require_role

__all__ = ["choose", "require_role", "team_compound"]


def team_compound(request, message: str = "", *, roles=TEAM):
    """(the compound looked at, the compounds to choose from) for the compound's team: another role
    is refused (403, with `message`), another compound is not found (404); `roles` are those who
    may do what the page does in the compound (`KEEPERS` for writing)."""
    require_role(request.user, message)
    compound, compounds = compound_choice(request)
    if compound is not None:
        require_compound(request.user, compound.pk, roles=roles)
    return compound, compounds


def choose(request, compounds, target: str):
    """The compounds to choose from, each linking to the page `target` (a URL name)."""
    return render(request, "voice/choose.html", {"compounds": compounds, "target": target})
