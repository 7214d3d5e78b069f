"""The EncryptionConfiguration `minik up` and the compose lab give the apiserver
(`--encryption-provider-config`): Secrets encrypted in etcd with aescbc under a random
32-byte key, as k3s' `--secrets-encryption` does, and `identity` listed second so the
Secrets of a cluster made before (stored in the clear) still read; rewriting them
(`kubectl get secrets -A -o json | kubectl replace -f -`) encrypts them. The file is
made once per data dir, mode 0600, and kept: a new key would leave every Secret
unreadable. The test harness (deploy/controlplane.py) passes no file unless asked."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path

import yaml

from api.privatefile import write_private

FILE_NAME = "encryption-config.yaml"
KEY_NAME = "key1"


def encryption_configuration(secret: bytes, key_name: str = KEY_NAME) -> dict:
    return {
        "apiVersion": "apiserver.config.k8s.io/v1",
        "kind": "EncryptionConfiguration",
        "resources": [
            {
                "resources": ["secrets"],
                "providers": [
                    {
                        "aescbc": {
                            "keys": [
                                {"name": key_name, "secret": base64.b64encode(secret).decode()}
                            ]
                        }
                    },
                    {"identity": {}},
                ],
            }
        ],
    }


def ensure_encryption_config(path: Path) -> Path:
    """`path`, written with a new random key if absent (created 0600, never widened
    after the key is in it); an existing file is kept as it is."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(encryption_configuration(secrets.token_bytes(32)), sort_keys=False)
    write_private(path, text.encode())
    return path


def flags(path: Path) -> list[str]:
    return ["--encryption-provider-config", str(path)]
