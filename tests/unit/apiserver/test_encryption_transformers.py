"""Kubernetes' storage value transformers (apiserver/encryption/transformers.py), the
pure part of encryption at rest (issue 11: "Secrets were stored in plaintext in etcd").
Each format is also opened with the primitive directly, so a value minik writes is the
value kube-apiserver writes: prefix, then IV/nonce, then ciphertext."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from nacl.bindings import crypto_secretbox_open

from apiserver.encryption.transformers import (
    CBCCipher,
    GCMCipher,
    IdentityCipher,
    PrefixTransformer,
    PrefixTransformers,
    SecretboxCipher,
    TransformError,
    key_prefix,
)

KEY = b"\x01" * 32
OTHER = b"\x02" * 32
CONTEXT = b"/registry/secrets/default/s"
DATA = b'{"kind":"Secret","data":{"password":"aHVudGVyMg=="}}'


@pytest.mark.parametrize("cipher", [CBCCipher, GCMCipher, SecretboxCipher])
@pytest.mark.parametrize("data", [b"", b"x", b"y" * 16, DATA, os.urandom(5000)])
def test_round_trip(cipher: type, data: bytes) -> None:
    sealed = cipher(KEY).encrypt(data, CONTEXT)
    # (a byte or two may turn up in random ciphertext by chance; 16 may not)
    assert len(data) < 16 or data not in sealed
    assert cipher(KEY).decrypt(sealed, CONTEXT) == data
    assert cipher(KEY).encrypt(data, CONTEXT) != sealed  # a fresh IV/nonce each time


@pytest.mark.parametrize("size", [16, 24, 32])
def test_aescbc_is_iv_then_pkcs7_padded_cbc(size: int) -> None:
    key = os.urandom(size)
    sealed = CBCCipher(key).encrypt(DATA, CONTEXT)
    assert len(sealed) == 16 + (len(DATA) // 16 + 1) * 16
    decryptor = Cipher(algorithms.AES(key), modes.CBC(sealed[:16])).decryptor()
    padded = decryptor.update(sealed[16:]) + decryptor.finalize()
    pad = padded[-1]
    assert padded[-pad:] == bytes([pad]) * pad and padded[:-pad] == DATA


def test_aesgcm_is_nonce_then_sealed_with_the_etcd_key_authenticated() -> None:
    sealed = GCMCipher(KEY).encrypt(DATA, CONTEXT)
    assert len(sealed) == 12 + len(DATA) + 16
    assert AESGCM(KEY).decrypt(sealed[:12], sealed[12:], CONTEXT) == DATA


def test_secretbox_is_a_24_byte_nonce_then_nacl_secretbox() -> None:
    sealed = SecretboxCipher(KEY).encrypt(DATA, CONTEXT)
    assert len(sealed) == 24 + 16 + len(DATA)
    assert crypto_secretbox_open(sealed[24:], sealed[:24], KEY) == DATA


@pytest.mark.parametrize("cipher", [CBCCipher, GCMCipher, SecretboxCipher])
def test_a_wrong_key_does_not_give_the_plaintext(cipher: type) -> None:
    sealed = cipher(KEY).encrypt(DATA, CONTEXT)
    try:
        opened = cipher(OTHER).decrypt(sealed, CONTEXT)
    except TransformError:
        return
    assert opened != DATA  # CBC has no MAC: garbage with a valid-looking pad at worst


@pytest.mark.parametrize("cipher", [GCMCipher, SecretboxCipher])
def test_tampered_authenticated_values_are_refused(cipher: type) -> None:
    sealed = bytearray(cipher(KEY).encrypt(DATA, CONTEXT))
    sealed[-5] ^= 0x01
    with pytest.raises(TransformError):
        cipher(KEY).decrypt(bytes(sealed), CONTEXT)


def test_aesgcm_refuses_a_value_moved_to_another_key() -> None:
    sealed = GCMCipher(KEY).encrypt(DATA, CONTEXT)
    with pytest.raises(TransformError, match="message authentication failed"):
        GCMCipher(KEY).decrypt(sealed, b"/registry/secrets/default/other")


@pytest.mark.parametrize(
    ("cipher", "value", "message"),
    [
        (CBCCipher, b"short", "shorter than the required size"),
        (CBCCipher, b"x" * 33, "not a multiple of the block size"),
        (GCMCipher, b"short", "shorter than the required size"),
        (SecretboxCipher, b"short", "shorter than the required size"),
    ],
)
def test_malformed_values(cipher: type, value: bytes, message: str) -> None:
    with pytest.raises(TransformError, match=message):
        cipher(KEY).decrypt(value, CONTEXT)


def test_cbc_bad_padding_is_an_error_not_a_value() -> None:
    iv = b"\x00" * 16
    encryptor = Cipher(algorithms.AES(KEY), modes.CBC(iv)).encryptor()
    block = encryptor.update(b"A" * 15 + b"\x00") + encryptor.finalize()  # pad byte 0
    with pytest.raises(TransformError, match="invalid padding"):
        CBCCipher(KEY).decrypt(iv + block, CONTEXT)


def test_identity_passes_json_and_refuses_encrypted_data() -> None:
    assert IdentityCipher().encrypt(DATA, CONTEXT) == DATA
    assert IdentityCipher().decrypt(DATA, CONTEXT) == DATA
    with pytest.raises(TransformError, match="identity transformer tried to read encrypted"):
        IdentityCipher().decrypt(b"k8s:enc:aescbc:v1:key1:xxxx", CONTEXT)


def chain(*parts: tuple[str, str, bytes]) -> PrefixTransformers:
    ciphers = {"aescbc": CBCCipher, "aesgcm": GCMCipher, "secretbox": SecretboxCipher}
    out = []
    for provider, name, key in parts:
        if provider == "identity":
            out.append(PrefixTransformer(b"", IdentityCipher()))
        else:
            out.append(PrefixTransformer(key_prefix(provider, name), ciphers[provider](key)))
    return PrefixTransformers(out)


def test_writes_with_the_first_and_reads_with_the_matching_prefix() -> None:
    old = chain(("aescbc", "key1", KEY))
    rotated = chain(("aescbc", "key2", OTHER), ("aescbc", "key1", KEY))
    before = old.to_storage(DATA, CONTEXT)
    assert before.startswith(b"k8s:enc:aescbc:v1:key1:")
    opened, used = rotated.from_storage(before, CONTEXT)
    assert opened == DATA and used.prefix == b"k8s:enc:aescbc:v1:key1:"
    assert rotated.is_stale(before)
    after = rotated.to_storage(DATA, CONTEXT)
    assert after.startswith(b"k8s:enc:aescbc:v1:key2:") and not rotated.is_stale(after)
    with pytest.raises(TransformError, match="no matching prefix found"):
        old.from_storage(after, CONTEXT)  # key2 is not listed there


def test_key_names_are_matched_whole() -> None:
    both = chain(("aescbc", "key1", KEY), ("aescbc", "key10", OTHER))
    sealed = chain(("aescbc", "key10", OTHER)).to_storage(DATA, CONTEXT)
    assert both.from_storage(sealed, CONTEXT)[0] == DATA


def test_identity_first_writes_plaintext_and_still_reads_the_providers_after_it() -> None:
    sealed = chain(("aesgcm", "k", KEY)).to_storage(DATA, CONTEXT)
    off = chain(("identity", "", b""), ("aesgcm", "k", KEY))
    assert off.to_storage(DATA, CONTEXT) == DATA
    assert off.from_storage(sealed, CONTEXT)[0] == DATA
    assert off.from_storage(DATA, CONTEXT)[0] == DATA
    assert off.is_stale(sealed) and not off.is_stale(DATA)


def test_plaintext_needs_identity_listed() -> None:
    on = chain(("secretbox", "k", KEY), ("identity", "", b""))
    assert on.from_storage(DATA, CONTEXT)[0] == DATA and on.is_stale(DATA)
    with pytest.raises(TransformError, match="no matching prefix found"):
        chain(("secretbox", "k", KEY)).from_storage(DATA, CONTEXT)


def test_a_matching_prefix_that_fails_is_an_error_not_a_fall_through() -> None:
    sealed = chain(("aesgcm", "k", KEY)).to_storage(DATA, CONTEXT)
    wrong = chain(("aesgcm", "k", OTHER), ("identity", "", b""))
    with pytest.raises(TransformError, match="message authentication failed"):
        wrong.from_storage(sealed, CONTEXT)
