"""ServiceAccount JWTs: Kubernetes' claims, RS256 and ES256 signatures, key ids, and
what verification refuses (pure logic)."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from apiserver.serviceaccount import jwt
from componentbase.pki import ensure_service_account_key

ISSUER = jwt.DEFAULT_ISSUER
NOW = 1_700_000_000


def _claims(**kw) -> dict:
    args = dict(
        issuer=ISSUER,
        audiences=[ISSUER],
        now=NOW,
        expiration_seconds=3600,
        namespace="ns",
        sa_name="robot",
        sa_uid="sa-uid",
    )
    args.update(kw)
    return jwt.claims(**args)


def test_claims_as_kubernetes_makes_them():
    c = _claims(
        bound=jwt.BoundObject("Pod", "web", "pod-uid"), node=jwt.BoundObject("Node", "n1", "nu")
    )
    assert c["iss"] == ISSUER and c["aud"] == [ISSUER]
    assert c["sub"] == "system:serviceaccount:ns:robot"
    assert (c["iat"], c["nbf"], c["exp"]) == (NOW, NOW, NOW + 3600)
    assert c["jti"]
    assert c["kubernetes.io"] == {
        "namespace": "ns",
        "serviceaccount": {"name": "robot", "uid": "sa-uid"},
        "pod": {"name": "web", "uid": "pod-uid"},
        "node": {"name": "n1", "uid": "nu"},
    }
    assert "pod" not in _claims()["kubernetes.io"]


@pytest.mark.parametrize(
    "key,alg",
    [
        (rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256"),
        (ec.generate_private_key(ec.SECP256R1()), "ES256"),
    ],
)
def test_sign_and_verify(key, alg):
    token = jwt.sign(_claims(), key)
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header == {"alg": alg, "kid": jwt.key_id(key.public_key())}
    payload = jwt.verify(token, [key.public_key()], [ISSUER], NOW + 10)
    assert payload["sub"] == "system:serviceaccount:ns:robot"
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(jwt.InvalidToken, match="signature"):
        jwt.verify(token, [other.public_key()], [ISSUER], NOW + 10)
    with pytest.raises(jwt.InvalidToken, match="expired"):
        jwt.verify(token, [key.public_key()], [ISSUER], NOW + 3600 + jwt.LEEWAY_SECONDS + 1)
    assert jwt.verify(token, [key.public_key()], [ISSUER], NOW + 3600 + 30)  # leeway
    with pytest.raises(jwt.InvalidToken, match="not valid yet"):
        jwt.verify(token, [key.public_key()], [ISSUER], NOW - 120)
    with pytest.raises(jwt.NotOurs):
        jwt.verify(token, [key.public_key()], ["https://elsewhere"], NOW)
    head, body, sig = token.split(".")
    tampered = json.loads(base64.urlsafe_b64decode(body + "=="))
    tampered["sub"] = "system:serviceaccount:kube-system:admin"
    forged = base64.urlsafe_b64encode(json.dumps(tampered).encode()).rstrip(b"=").decode()
    with pytest.raises(jwt.InvalidToken):
        jwt.verify(f"{head}.{forged}.{sig}", [key.public_key()], [ISSUER], NOW)


def test_not_a_jwt_is_not_ours():
    for text in ("abc", "a.b.c", "static-token-from-a-file"):
        with pytest.raises(jwt.NotOurs):
            jwt.verify(text, [], [ISSUER], NOW)


def test_key_files(tmp_path):
    files = ensure_service_account_key(tmp_path)
    assert files.key.stat().st_mode & 0o777 == 0o600
    assert ensure_service_account_key(tmp_path) == files  # made once
    private = jwt.load_private_key(files.key)
    [public] = jwt.load_public_keys(files.pub)
    assert jwt.key_id(public) == jwt.key_id(private.public_key())
    # a bundle: a public key and a private key's public half
    other = ec.generate_private_key(ec.SECP256R1())
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(
        files.pub.read_bytes()
        + other.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    assert len(jwt.load_public_keys(bundle)) == 2
    (tmp_path / "empty.pem").write_text("nothing")
    with pytest.raises(jwt.KeyError_):
        jwt.load_public_keys(tmp_path / "empty.pem")


def test_usernames():
    assert jwt.split_username("system:serviceaccount:ns:robot") == ("ns", "robot")
    assert jwt.split_username("system:serviceaccount:ns") is None
    assert jwt.split_username("jane") is None
    assert jwt.groups("ns") == ("system:serviceaccounts", "system:serviceaccounts:ns")
