"""What an uploaded file is, from its first bytes: a name or a content type says nothing."""

IMAGES = frozenset({"jpg", "png", "webp"})


def file_kind(head: bytes) -> str | None:
    """ "jpg", "png", "webp" or "pdf" from the file's first bytes (its magic number), else None."""
    if head[:3] == b"\xff\xd8\xff":
        return "jpg"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:5] == b"%PDF-":
        return "pdf"
    return None
