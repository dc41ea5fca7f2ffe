import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tongxin.voice.attachments import MAX_FILES, checked_file, checked_files, file_kind
from tongxin.voice.models import Attachment

from .request_helpers import JPEG, PDF, PNG, WEBP, make_request


@pytest.mark.parametrize(
    ("data", "content_type"),
    [(JPEG, "image/jpeg"), (PNG, "image/png"), (WEBP, "image/webp"), (PDF, "application/pdf")],
)
def test_images_and_pdf_by_their_bytes(data, content_type):
    checked = checked_file(SimpleUploadedFile("x.exe", data, content_type="text/html"))
    assert checked.content_type == content_type
    assert checked.size == len(data)
    assert checked.name == "x.exe"
    stored = checked.content.name
    assert stored != "x.exe" and len(stored.split(".")[0]) == 32


def test_each_stored_name_is_fresh():
    assert checked_file(JPEG).content.name != checked_file(JPEG).content.name


def _code(exc: ValidationError) -> str:
    return exc.error_dict["attachments"][0].code


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "attachment_empty"),
        (b"<html><script>alert(1)</script>", "attachment_type"),
        (b"GIF89a" + b"\x00" * 20, "attachment_type"),
        (b"RIFF\x00\x00\x00\x00WAVE", "attachment_type"),
    ],
)
def test_refused_with_a_clear_error(data, code):
    with pytest.raises(ValidationError) as caught:
        checked_file(io.BytesIO(data))
    assert _code(caught.value) == code


def test_over_the_limit_refused(settings):
    settings.TONGXIN_VOICE_ATTACHMENT_MAX_BYTES = 100
    with pytest.raises(ValidationError) as caught:
        checked_file(io.BytesIO(JPEG + b"\x00" * 100))
    assert _code(caught.value) == "attachment_size"
    assert "MB" in caught.value.error_dict["attachments"][0].message
    assert checked_file(io.BytesIO(JPEG)).size == len(JPEG)  # at the limit or under: fine


def test_default_limit_is_ten_mib(settings):
    assert settings.TONGXIN_VOICE_ATTACHMENT_MAX_BYTES == 10 * 1024 * 1024


def test_at_most_five_files():
    assert len(checked_files([JPEG] * MAX_FILES)) == MAX_FILES
    with pytest.raises(ValidationError) as caught:
        checked_files([JPEG] * (MAX_FILES + 1))
    assert _code(caught.value) == "too_many_attachments"


def test_display_name_has_no_path():
    upload = SimpleUploadedFile("../../etc/passwd.jpg", JPEG)
    assert checked_file(upload).name == "passwd.jpg"


@hsettings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=64))
def test_random_bytes_accepted_only_with_a_known_head(data):
    try:
        checked = checked_file(data)
    except ValidationError as exc:
        assert _code(exc) in {"attachment_empty", "attachment_type"}
        assert file_kind(data[:16]) is None
    else:
        assert file_kind(data[:16]) is not None
        assert checked.size == len(data)


def test_request_keeps_its_files(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    request = make_request(world, attachments=[SimpleUploadedFile("病历.pdf", PDF), JPEG])
    files = list(Attachment.objects.filter(request=request).order_by("pk"))
    assert [(f.name, f.content_type) for f in files] == [
        ("病历.pdf", "application/pdf"),
        ("附件.jpg", "image/jpeg"),
    ]
    assert files[0].file.read() == PDF
    assert "病历" not in files[0].file.name


def test_bad_file_writes_nothing(world, settings, tmp_path):
    from tongxin.voice.models import Request

    settings.MEDIA_ROOT = tmp_path / "media"
    with pytest.raises(ValidationError):
        make_request(world, attachments=[JPEG, b"MZ\x90\x00"])
    assert not Request.objects.exists()
    assert not Attachment.objects.exists()
