"""Exports of the voice module, each audited with who took what."""

from django.utils.translation import gettext as _

from tongxin.core.audit import audit
from tongxin.voice import ledger_export
from tongxin.voice.selectors.ledger import Span, requests_ledger


def requests_ledger_export(*, actor, compound, span: Span, ip=None) -> tuple[bytes, str]:
    """The compound's requests ledger for `span` as .xlsx (what residents wrote, the answers; no
    phones), audited with the days and the number of rows."""
    rows = requests_ledger(actor, compound.pk, span)
    content = ledger_export.write_ledger(rows, compound=compound, span=span)
    audit(
        actor=actor,
        action="export",
        object_type="voice.request",
        label=f"{compound.name} {_('诉求台账')}",
        fields="requests_ledger",
        detail={
            "compound": compound.pk,
            "start": span.start.isoformat(),
            "end": span.end.isoformat(),
            "count": len(rows),
        },
        ip=ip,
    )
    return content, ledger_export.ledger_file_name(compound, span)
