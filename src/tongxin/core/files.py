"""Serving a stored upload (a parcel's photo, a notice's image, a request's file) through a scoped
view, never a public media URL: inline, with the content type we recorded or derived (the browser
must not guess it) and a plain download name."""

from collections.abc import Mapping

from django.http import FileResponse, Http404
from django.utils.http import content_disposition_header

OCTET_STREAM = "application/octet-stream"


def serve_inline(field, *, filename: str, content_type: str) -> FileResponse:
    """The stored file of `field` (a FieldFile) shown inline as `filename`; 404 when there is none
    or it is gone from the storage."""
    if not field:
        raise Http404
    try:
        handle = field.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(handle, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = content_disposition_header(as_attachment=False, filename=filename)
    return response


def serve_by_suffix(field, *, stem: str, content_types: Mapping[str, str]) -> FileResponse:
    """The stored file of `field` named `stem.<its suffix>`, its content type the one `content_types`
    gives its suffix (else application/octet-stream); 404 when there is none."""
    if not field:
        raise Http404
    suffix = field.name.rsplit(".", 1)[-1].lower()
    return serve_inline(
        field, filename=f"{stem}.{suffix}", content_type=content_types.get(suffix, OCTET_STREAM)
    )
