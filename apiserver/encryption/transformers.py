"""Kubernetes' storage value transformers (k8s.io/apiserver/pkg/storage/value): what
stands between an object's encoded bytes and etcd. Pure: no I/O, no etcd.

A stored value names its transformer in a prefix, `k8s:enc:<provider>:v1:<key name>:`,
followed by the ciphertext; plain JSON (identity) has none. A resource's providers and
keys, in the configuration's order, form one `PrefixTransformers`: it writes with the
first and reads with whichever prefix matches, so rotating a key is listing a new one
first and rewriting the objects. The formats are Kubernetes' own:

- aescbc: a random 16-byte IV, then AES-CBC of the PKCS#7-padded value;
- aesgcm: a random 12-byte nonce, then AES-GCM (tag appended) with the etcd key as the
  additional authenticated data, so a value copied under another key does not open;
- secretbox: a random 24-byte nonce, then NaCl's secretbox (XSalsa20-Poly1305, PyNaCl);
- identity: the value itself; it refuses to read a `k8s:enc:` value, which makes a
  listed identity fall through to the providers after it (the way off encryption)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ENCRYPTED = b"k8s:enc:"  # reserved for encrypted data at rest
BLOCK = 16
GCM_NONCE = 12
SECRETBOX_NONCE = 24


class TransformError(Exception):
    """A stored value could not be turned back into the object's bytes."""


class ValueCipher(Protocol):
    """One provider with one key; `context` is the etcd key (authenticated data)."""

    def encrypt(self, data: bytes, context: bytes) -> bytes: ...

    def decrypt(self, data: bytes, context: bytes) -> bytes: ...


class IdentityCipher:
    def encrypt(self, data: bytes, context: bytes) -> bytes:
        return data

    def decrypt(self, data: bytes, context: bytes) -> bytes:
        if data.startswith(ENCRYPTED):
            raise TransformError("identity transformer tried to read encrypted data")
        return data


class CBCCipher:
    """Kubernetes' aescbc: IV + CBC(PKCS#7(data)). No authentication: Kubernetes
    recommends aesgcm or secretbox over it, and so does this docstring."""

    def __init__(self, key: bytes) -> None:
        self._algorithm = algorithms.AES(key)

    def encrypt(self, data: bytes, context: bytes) -> bytes:
        iv = os.urandom(BLOCK)
        padder = padding.PKCS7(BLOCK * 8).padder()
        padded = padder.update(data) + padder.finalize()
        encryptor = Cipher(self._algorithm, modes.CBC(iv)).encryptor()
        return iv + encryptor.update(padded) + encryptor.finalize()

    def decrypt(self, data: bytes, context: bytes) -> bytes:
        if len(data) < 2 * BLOCK:
            raise TransformError("the stored data was shorter than the required size")
        if len(data) % BLOCK:
            raise TransformError("the stored data is not a multiple of the block size")
        decryptor = Cipher(self._algorithm, modes.CBC(data[:BLOCK])).decryptor()
        padded = decryptor.update(data[BLOCK:]) + decryptor.finalize()
        pad = padded[-1]
        if not 1 <= pad <= BLOCK or padded[-pad:] != bytes([pad]) * pad:
            raise TransformError("invalid padding on input")
        return padded[:-pad]


class GCMCipher:
    """Kubernetes' aesgcm: a random nonce + GCM seal, the etcd key authenticated."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def encrypt(self, data: bytes, context: bytes) -> bytes:
        nonce = os.urandom(GCM_NONCE)
        return nonce + self._aead.encrypt(nonce, data, context)

    def decrypt(self, data: bytes, context: bytes) -> bytes:
        if len(data) < GCM_NONCE + 16:
            raise TransformError("the stored data was shorter than the required size")
        from cryptography.exceptions import InvalidTag

        try:
            return self._aead.decrypt(data[:GCM_NONCE], data[GCM_NONCE:], context)
        except InvalidTag as err:
            raise TransformError("cipher: message authentication failed") from err


class SecretboxCipher:
    """Kubernetes' secretbox: a 24-byte nonce + NaCl secretbox (MAC first), as Go's
    golang.org/x/crypto/nacl/secretbox writes it; PyNaCl's SecretBox is the same box."""

    def __init__(self, key: bytes) -> None:
        from nacl.secret import SecretBox

        self._box = SecretBox(key)

    def encrypt(self, data: bytes, context: bytes) -> bytes:
        nonce = os.urandom(SECRETBOX_NONCE)
        return bytes(self._box.encrypt(data, nonce))

    def decrypt(self, data: bytes, context: bytes) -> bytes:
        from nacl.exceptions import CryptoError

        if len(data) < SECRETBOX_NONCE + 16:
            raise TransformError("the stored data was shorter than the required size")
        try:
            return self._box.decrypt(data)
        except CryptoError as err:
            raise TransformError("output array was not large enough for encryption") from err


CIPHERS: dict[str, type] = {"aescbc": CBCCipher, "aesgcm": GCMCipher, "secretbox": SecretboxCipher}


def key_prefix(provider: str, key_name: str) -> bytes:
    """`k8s:enc:aescbc:v1:key1:`: what a value written with this key starts with."""
    return ENCRYPTED + f"{provider}:v1:{key_name}:".encode()


@dataclass(frozen=True)
class PrefixTransformer:
    prefix: bytes  # b"" for identity
    cipher: ValueCipher

    @property
    def label(self) -> str:
        """The prefix as apiserver_storage_transformation_operations_total labels it:
        the provider's, without the key name (`k8s:enc:aescbc:v1:`; identity: `identity`)."""
        if not self.prefix:
            return "identity"
        return self.prefix.decode().rsplit(":", 2)[0] + ":"


class PrefixTransformers:
    """Kubernetes' prefixTransformers: write with the first, read with the first whose
    prefix matches (an identity that fails falls through to the next)."""

    def __init__(self, transformers: Sequence[PrefixTransformer]) -> None:
        if not transformers:
            raise ValueError("at least one transformer is required")
        self.transformers = tuple(transformers)
        self.writer = self.transformers[0]

    def to_storage(self, data: bytes, context: bytes) -> bytes:
        return self.writer.prefix + self.writer.cipher.encrypt(data, context)

    def is_stale(self, data: bytes) -> bool:
        """Whether `data` was not written by the first transformer (a key rotated away
        from, a provider since put second): rewriting it, even unchanged, re-encrypts it."""
        for t in self.transformers:
            if data.startswith(t.prefix) and (t.prefix or not data.startswith(ENCRYPTED)):
                return t is not self.writer
        return True

    def from_storage(self, data: bytes, context: bytes) -> tuple[bytes, PrefixTransformer]:
        """The plaintext and the transformer that opened it (stale if not the writer)."""
        for t in self.transformers:
            if data.startswith(t.prefix):
                try:
                    return t.cipher.decrypt(data[len(t.prefix) :], context), t
                except TransformError:
                    if not t.prefix:
                        continue  # identity first: try the providers after it
                    raise
        raise TransformError("no matching prefix found")
