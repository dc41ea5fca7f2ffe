"""Entry-pass codes: signed with Ed25519 so that a gate device checks them with the public key alone.

A code is `TX1.<payload>.<signature>`, both parts base64url without padding. The payload is compact
JSON: `{"n": pass number, "c": compound id, "r": room label ("3-2-301"), "e": expiry (Unix
seconds), "k": key id}`: nothing that would expose the person if the code were photographed (no
name, no ID number, no phone). The signature covers the payload's bytes exactly as encoded.

The signing key is `TONGXIN_PASS_SIGNING_KEY` (base64 of a 32-byte Ed25519 seed) when set, else
derived from SECRET_KEY with HKDF, so every app server of a deployment signs with the same key
without another secret to distribute. Changing either invalidates every pass: reissue them.
"""

import base64
import binascii
import datetime
import functools
import hashlib
import json
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

PREFIX = "TX1"
MAX_CODE_LENGTH = 400  # a real code is about 150 characters


class PassCodeError(ValueError):
    """A code that is not a pass of ours: `reason` is "malformed" (not a pass code at all) or
    "forged" (shaped like one, but the signature does not match its content)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class PassClaims:
    number: str
    compound_id: int
    room: str
    expires_at: datetime.datetime
    key_id: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@functools.lru_cache(maxsize=4)
def _private_key(configured: str, secret_key: str) -> Ed25519PrivateKey:
    if configured:
        try:
            seed = base64.b64decode(configured, validate=True)
        except binascii.Error as exc:
            raise ImproperlyConfigured("TONGXIN_PASS_SIGNING_KEY must be base64") from exc
        if len(seed) != 32:
            raise ImproperlyConfigured("TONGXIN_PASS_SIGNING_KEY must be 32 bytes (base64)")
    else:
        seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"tongxin pass signing v1").derive(
            secret_key.encode()
        )
    return Ed25519PrivateKey.from_private_bytes(seed)


def private_key() -> Ed25519PrivateKey:
    return _private_key(settings.TONGXIN_PASS_SIGNING_KEY, settings.SECRET_KEY)


def public_key_bytes() -> bytes:
    return (
        private_key()
        .public_key()
        .public_bytes(encoding=serialization.Encoding.Raw, format=serialization.PublicFormat.Raw)
    )


def public_key_b64() -> str:
    """The raw 32-byte public key, base64url: what a gate device keeps."""
    return _b64(public_key_bytes())


def key_id() -> str:
    return hashlib.sha256(public_key_bytes()).hexdigest()[:8]


def sign_pass(*, number: str, compound_id: int, room: str, expires_at: datetime.datetime) -> str:
    """The code to print as a QR for this pass."""
    payload = json.dumps(
        {"n": number, "c": compound_id, "r": room, "e": int(expires_at.timestamp()), "k": key_id()},
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()
    return f"{PREFIX}.{_b64(payload)}.{_b64(private_key().sign(payload))}"


def looks_like_pass(code: str) -> bool:
    return isinstance(code, str) and code.startswith(PREFIX + ".")


def read_pass(code: str) -> PassClaims:
    """The claims of a genuine code; PassCodeError otherwise. Expiry and revocation are the
    caller's to check (they need the clock and the revocation list)."""
    if not looks_like_pass(code) or len(code) > MAX_CODE_LENGTH or code.count(".") != 2:
        raise PassCodeError("malformed")
    _prefix, payload_part, signature_part = code.split(".")
    try:
        payload, signature = _unb64(payload_part), _unb64(signature_part)
    except (binascii.Error, ValueError) as exc:
        raise PassCodeError("malformed") from exc
    public = Ed25519PublicKey.from_public_bytes(public_key_bytes())
    try:
        public.verify(signature, payload)
    except InvalidSignature as exc:
        raise PassCodeError("forged") from exc
    try:
        data = json.loads(payload)
        return PassClaims(
            number=str(data["n"]),
            compound_id=int(data["c"]),
            room=str(data["r"]),
            expires_at=datetime.datetime.fromtimestamp(int(data["e"]), tz=datetime.UTC),
            key_id=str(data["k"]),
        )
    except (ValueError, KeyError, TypeError) as exc:  # signed by us, so never: but never trust
        raise PassCodeError("malformed") from exc
