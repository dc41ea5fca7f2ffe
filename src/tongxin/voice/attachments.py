"""Files given with a request: a photo (JPEG, PNG, WebP) or a PDF, recognised by its first bytes
(a name or a content type says nothing), within TONGXIN_VOICE_ATTACHMENT_MAX_BYTES, at most
MAX_FILES per request, each stored under a fresh random name."""

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _

from tongxin.core.uploads import file_kind

MAX_FILES = 5
NAME_MAX = 100
CONTENT_TYPES = {
    "jpg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "pdf": "application/pdf",
}


@dataclass(frozen=True)
class CheckedFile:
    content: ContentFile  # named <random>.<kind>
    name: str  # the name the sender gave, shortened, for display only
    content_type: str
    size: int


def _error(message: str, code: str) -> ValidationError:
    return ValidationError({"attachments": ValidationError(message, code=code)})


def _display_name(upload, kind: str) -> str:
    raw = str(getattr(upload, "name", "") or "")
    raw = raw.replace("\\", "/").rsplit("/", 1)[-1]
    raw = "".join(ch for ch in raw if ch.isprintable()).strip()
    return (raw or f"附件.{kind}")[:NAME_MAX]


def checked_file(upload) -> CheckedFile:
    """One upload (a Django UploadedFile, a file object or bytes) checked: not empty, not over the
    limit, an image or a PDF by its bytes."""
    limit = settings.TONGXIN_VOICE_ATTACHMENT_MAX_BYTES
    size = getattr(upload, "size", None)
    if isinstance(size, int) and size > limit:
        raise _too_large(limit)
    if isinstance(upload, bytes | bytearray | memoryview):
        data = bytes(upload)
    elif hasattr(upload, "read"):
        if hasattr(upload, "seek"):
            upload.seek(0)
        data = upload.read(limit + 1)
        if not isinstance(data, bytes):
            raise _error(_("附件无法读取"), "attachment_unreadable")
    else:
        raise _error(_("附件无法读取"), "attachment_unreadable")
    if len(data) > limit:
        raise _too_large(limit)
    if not data:
        raise _error(_("附件是空文件"), "attachment_empty")
    kind = file_kind(data[:16])
    if kind is None:
        raise _error(_("附件只能是JPEG、PNG、WebP图片或PDF文件"), "attachment_type")
    return CheckedFile(
        content=ContentFile(data, name=f"{uuid.uuid4().hex}.{kind}"),
        name=_display_name(upload, kind),
        content_type=CONTENT_TYPES[kind],
        size=len(data),
    )


def checked_files(uploads) -> list[CheckedFile]:
    uploads = list(uploads or ())
    if len(uploads) > MAX_FILES:
        raise _error(_("附件最多%(n)s个") % {"n": MAX_FILES}, "too_many_attachments")
    return [checked_file(upload) for upload in uploads]


def _too_large(limit: int) -> ValidationError:
    return _error(_("附件不能超过%(mb)sMB") % {"mb": f"{limit / 1024 / 1024:g}"}, "attachment_size")
