"""Pass codes: signed with Ed25519, verified with the public key alone; anything else refused as
malformed or forged."""

import base64
import datetime
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.core.exceptions import ImproperlyConfigured

from tongxin.access import signing

EXPIRES = datetime.datetime(2030, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _code(**overrides) -> str:
    fields = {"number": "K7MQ2XW9PA", "compound_id": 12, "room": "3-2-301", "expires_at": EXPIRES}
    fields.update(overrides)
    return signing.sign_pass(**fields)


def test_a_code_reads_back_its_claims():
    claims = signing.read_pass(_code())
    assert claims == signing.PassClaims(
        number="K7MQ2XW9PA", compound_id=12, room="3-2-301", expires_at=EXPIRES, key_id=signing.key_id()
    )


def test_the_code_names_nothing_about_the_person():
    code = _code()
    prefix, payload, _signature = code.split(".")
    assert prefix == "TX1"
    assert json.loads(_unb64(payload)) == {
        "n": "K7MQ2XW9PA",
        "c": 12,
        "r": "3-2-301",
        "e": int(EXPIRES.timestamp()),
        "k": signing.key_id(),
    }
    assert len(code) < 200


def test_the_public_key_alone_verifies_a_code():
    code = _code()
    _prefix, payload, signature = code.split(".")
    public = Ed25519PublicKey.from_public_bytes(_unb64(signing.public_key_b64()))
    public.verify(_unb64(signature), _unb64(payload))  # raises if not
    assert len(_unb64(signing.public_key_b64())) == 32
    assert len(signing.key_id()) == 8 and int(signing.key_id(), 16) >= 0


def test_a_code_signed_with_another_key_is_forged():
    payload = json.dumps({"n": "X", "c": 12, "r": "1-1-101", "e": 4102444800, "k": signing.key_id()}).encode()
    code = f"TX1.{_b64(payload)}.{_b64(Ed25519PrivateKey.generate().sign(payload))}"
    with pytest.raises(signing.PassCodeError) as error:
        signing.read_pass(code)
    assert error.value.reason == "forged"


def test_every_one_character_change_of_the_payload_is_refused():
    code = _code()
    prefix, payload, signature = code.split(".")
    original = _unb64(payload)
    for index, char in enumerate(payload):
        for other in ("A", "z") if char not in "Az" else ("B", "y"):
            altered = f"{prefix}.{payload[:index]}{other}{payload[index + 1 :]}.{signature}"
            try:
                decoded = _unb64(altered.split(".")[1])
            except ValueError:
                decoded = None
            if decoded == original:  # the last character's unused bits: the same bytes
                assert signing.read_pass(altered) == signing.read_pass(code)
                continue
            with pytest.raises(signing.PassCodeError) as error:
                signing.read_pass(altered)
            assert error.value.reason in ("forged", "malformed")


def test_a_changed_signature_or_room_is_forged():
    code = _code()
    prefix, payload, signature = code.split(".")
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    with pytest.raises(signing.PassCodeError) as error:
        signing.read_pass(f"{prefix}.{payload}.{flipped}")
    assert error.value.reason == "forged"
    claims = json.loads(_unb64(payload))
    claims["r"] = "9-9-909"
    moved = _b64(json.dumps(claims, separators=(",", ":")).encode())
    with pytest.raises(signing.PassCodeError) as error:
        signing.read_pass(f"{prefix}.{moved}.{signature}")
    assert error.value.reason == "forged"


@pytest.mark.parametrize(
    "code",
    [
        "",
        "hello",
        "TX1",
        "TX1.",
        "TX1.abc",
        "TX2.abc.def",
        "TX1.a.b.c",
        "TX1.@@@@.####",
        "TX1." + "A" * 500 + ".B",
        "https://example.com/TX1.abc.def",
    ],
)
def test_what_is_not_a_pass_code_is_malformed(code):
    with pytest.raises(signing.PassCodeError) as error:
        signing.read_pass(code)
    assert error.value.reason in ("malformed", "forged")
    if not code.startswith("TX1.") or code.count(".") != 2 or len(code) > signing.MAX_CODE_LENGTH:
        assert error.value.reason == "malformed"


def test_a_signed_payload_that_is_not_a_pass_is_malformed():
    payload = b'{"n": "X"}'
    code = f"TX1.{_b64(payload)}.{_b64(signing.private_key().sign(payload))}"
    with pytest.raises(signing.PassCodeError) as error:
        signing.read_pass(code)
    assert error.value.reason == "malformed"


def test_the_configured_key_signs_and_a_change_of_key_invalidates_codes(settings):
    old = _code()
    seed = bytes(range(32))
    settings.TONGXIN_PASS_SIGNING_KEY = base64.b64encode(seed).decode()
    expected = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
    assert _unb64(signing.public_key_b64()) == expected
    assert signing.read_pass(_code()).number == "K7MQ2XW9PA"
    with pytest.raises(signing.PassCodeError) as error:
        signing.read_pass(old)
    assert error.value.reason == "forged"


@pytest.mark.parametrize("key", ["not base64!", base64.b64encode(b"short").decode()])
def test_a_bad_configured_key_is_refused(settings, key):
    settings.TONGXIN_PASS_SIGNING_KEY = key
    with pytest.raises(ImproperlyConfigured):
        signing.public_key_b64()


def test_looks_like_pass():
    assert signing.looks_like_pass(_code())
    assert not signing.looks_like_pass("150105194803151234")
    assert not signing.looks_like_pass(None)
