"""/voice/requests/ledger/: the requests ledger (诉求台账) of a span of days, for the roles that keep
the books (not volunteers): a form with the two days, and the .xlsx it downloads (audited). Days
that cannot be used are refused on the form with a clear message (400)."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.http import content_disposition_header
from django.views.decorators.cache import never_cache

from tongxin.core.audit import client_ip
from tongxin.core.pages import compound_choice
from tongxin.voice.actions.exports import requests_ledger_export
from tongxin.voice.selectors.ledger import ledger_span
from tongxin.voice.selectors.scope import KEEPERS
from tongxin.voice.views.common import choose, require_role

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@never_cache
@login_required
def ledger(request):
    user = request.user
    require_role(user, roles=KEEPERS)
    compound, compounds = compound_choice(request)
    if compound is None:
        return choose(request, compounds, "voice:ledger")
    start, end = request.GET.get("start", ""), request.GET.get("end", "")
    errors = {}
    try:
        span = ledger_span(start, end)
    except ValidationError as error:
        errors = {field: messages[0] for field, messages in error.message_dict.items()}
        span = None
    if span is not None and request.GET.get("download"):
        content, file_name = requests_ledger_export(
            actor=user, compound=compound, span=span, ip=client_ip(request)
        )
        response = HttpResponse(content, content_type=XLSX_TYPE)
        response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=file_name)
        return response
    context = {"compound": compound, "span": span, "start": start, "end": end, "errors": errors}
    return render(request, "voice/ledger.html", context, status=400 if errors else 200)


urlpatterns = [path("requests/ledger/", ledger, name="ledger")]
