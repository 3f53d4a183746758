"""Keys, at rest and as identifiers: the one base module for the rooms that sign (the LTI tool
keys, the district as issuer) and the room that verifies (badges).

- `key_box`: the Fernet every private key is stored under, derived from LER_SECRET_KEY (so a
  copy of the database alone holds no usable key);
- base58btc / multibase and `did_key`: how an Ed25519 public key is named as a ``did:key``.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ler_plugin.config import Settings

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58)}
# Multicodec prefixes (unsigned varints) of the public keys a did:key / Multikey may carry.
ED25519_PUB = b"\xed\x01"
P256_PUB = b"\x80\x24"


def key_box(settings: Settings) -> Fernet:
    """Seals and opens stored private keys. The derivation is fixed: keys sealed by earlier
    releases (under its first name, "lti tool keys") must still open."""
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"ler-plugin lti tool keys"
    ).derive(settings.secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def b58encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    out = ""
    while number:
        number, rem = divmod(number, 58)
        out = _B58[rem] + out
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + out


def b58decode(text: str) -> bytes:
    number = 0
    for char in text:
        digit = _B58_INDEX.get(char)
        if digit is None:
            raise ValueError(f"{char!r} is not a base58btc character")
        number = number * 58 + digit
    body = number.to_bytes((number.bit_length() + 7) // 8, "big")
    zeros = len(text) - len(text.lstrip("1"))
    return b"\0" * zeros + body


def multibase_decode(value: str) -> bytes:
    """Bytes of a multibase string: ``z`` base58btc or ``u`` base64url (no padding)."""
    if value.startswith("z"):
        return b58decode(value[1:])
    if value.startswith("u"):
        body = value[1:]
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    raise ValueError("multibase value must start with 'z' (base58btc) or 'u' (base64url)")


def did_key(public_key: ed25519.Ed25519PublicKey) -> str:
    """The did:key of an Ed25519 public key (its verification method is ``did#<same id>``)."""
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return "did:key:z" + b58encode(ED25519_PUB + raw)
