"""Field protection for ID numbers and phones.

Each protected value is kept three ways: AES-GCM cipher text (only roles that may see it decrypt
it), an HMAC-SHA256 look-up hash (exact search and uniqueness without decrypting), and a masked
form for display. A database dump alone exposes none of the full values.
"""

import base64
import functools
import hashlib
import hmac
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

NONCE_BYTES = 12


@functools.cache
def _keys(master_b64: str) -> tuple[AESGCM, bytes]:
    master = base64.b64decode(master_b64)
    if len(master) < 16:
        raise ValueError("FIELD_ENCRYPTION_KEY must decode to at least 16 bytes")
    derived = HKDF(algorithm=hashes.SHA256(), length=64, salt=None, info=b"tongxin-fields").derive(master)
    return AESGCM(derived[:32]), derived[32:]


def _cipher() -> AESGCM:
    return _keys(settings.FIELD_ENCRYPTION_KEY)[0]


def _hmac_key() -> bytes:
    return _keys(settings.FIELD_ENCRYPTION_KEY)[1]


def encrypt(value: str) -> str:
    """Encrypt `value`; the result is base64 text (nonce + cipher text + tag)."""
    if not value:
        return ""
    nonce = os.urandom(NONCE_BYTES)
    return base64.b64encode(nonce + _cipher().encrypt(nonce, value.encode(), None)).decode()


def decrypt(token: str) -> str:
    if not token:
        return ""
    raw = base64.b64decode(token)
    return _cipher().decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], None).decode()


def lookup_hash(kind: str, value: str) -> str:
    """A keyed hash of a normalised value: equal values give equal hashes, and nothing else leaks."""
    if not value:
        return ""
    return hmac.new(_hmac_key(), f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


class FieldProtector:
    """Batch helper for bulk loading: one cipher object, no settings look-ups per row."""

    def __init__(self) -> None:
        self.cipher, self.key = _keys(settings.FIELD_ENCRYPTION_KEY)

    def encrypt(self, value: str) -> str:
        if not value:
            return ""
        nonce = os.urandom(NONCE_BYTES)
        return base64.b64encode(nonce + self.cipher.encrypt(nonce, value.encode(), None)).decode()

    def hash(self, kind: str, value: str) -> str:
        if not value:
            return ""
        return hmac.new(self.key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def encrypt_bytes(data: bytes) -> str:
    """Encrypt a file's bytes (an upload kept between two requests); base64 text like `encrypt`."""
    nonce = os.urandom(NONCE_BYTES)
    return base64.b64encode(nonce + _cipher().encrypt(nonce, data, None)).decode()


def decrypt_bytes(token: str) -> bytes:
    raw = base64.b64decode(token)
    return _cipher().decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], None)
