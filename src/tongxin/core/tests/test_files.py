import io

import pytest
from django.http import Http404

from tongxin.core.files import serve_by_suffix, serve_inline


class Stored:
    """A stand-in for a FieldFile: a name, truthy when set, open() gives its bytes."""

    def __init__(self, name: str, data: bytes | None = b"%PDF-1.4"):
        self.name, self.data = name, data

    def __bool__(self):
        return bool(self.name)

    def open(self, mode):
        if self.data is None:
            raise FileNotFoundError(self.name)
        return io.BytesIO(self.data)


def test_served_inline_with_its_type_name_and_no_sniffing():
    response = serve_inline(Stored("requests/x.pdf"), filename="单据.pdf", content_type="application/pdf")
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == "inline; filename*=utf-8''%E5%8D%95%E6%8D%AE.pdf"
    assert b"".join(response.streaming_content) == b"%PDF-1.4"


def test_named_and_typed_by_its_suffix():
    response = serve_by_suffix(
        Stored("notices/AB12.JPG"), stem="notice-7-image", content_types={"jpg": "image/jpeg"}
    )
    assert response["Content-Type"] == "image/jpeg"
    assert response["Content-Disposition"] == 'inline; filename="notice-7-image.jpg"'
    unknown = serve_by_suffix(Stored("notices/AB12.bin"), stem="notice-7-attachment", content_types={})
    assert unknown["Content-Type"] == "application/octet-stream"


@pytest.mark.parametrize("stored", [Stored(""), Stored("parcels/gone.png", data=None)])
def test_none_or_gone_is_not_found(stored):
    with pytest.raises(Http404):
        serve_by_suffix(stored, stem="parcel-1", content_types={"png": "image/png"})
    with pytest.raises(Http404):
        serve_inline(stored, filename="x.png", content_type="image/png")
