"""A self-signed serving certificate made in a short-lived child process.

The scheduler's and the controller manager's secure ports and the ingress
controller's fallback certificate need one certificate at start-up and no X.509 code
after it. Made in-process, it would leave cryptography loaded for the life of the
component: ~10 MiB resident (its Rust extension's pages and its modules) that Python
never unloads, in each of them. The child (`python -m componentbase.selfsigned`) makes
the certificate with componentbase.pki and hands it back over a pipe, then exits.

    python -m componentbase.selfsigned COMMON_NAME [HOST...]   (JSON on stdout)
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SOURCE_ROOT = Path(__file__).resolve().parents[1]  # where `-m componentbase...` is found
TIMEOUT_SECONDS = 60.0


class SelfSignedError(Exception):
    pass


def self_signed_pem(common_name: str, hosts: tuple[str, ...] = ()) -> tuple[bytes, bytes]:
    """componentbase.pki.self_signed_pem's certificate and key (PEM), made by a child."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "componentbase.selfsigned", common_name, *hosts],
            cwd=SOURCE_ROOT,
            capture_output=True,
            timeout=TIMEOUT_SECONDS,
            check=True,
        )
        pair = json.loads(done.stdout)
        return pair["cert"].encode(), pair["key"].encode()
    except (OSError, subprocess.SubprocessError, ValueError, KeyError) as err:
        stderr = getattr(err, "stderr", b"") or b""
        raise SelfSignedError(f"making a self-signed certificate: {err} {stderr[-500:]!r}") from err


def main(argv: list[str]) -> int:
    from componentbase.pki import self_signed_pem as make

    if not argv:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    cert, key = make(argv[0], tuple(argv[1:]))
    json.dump({"cert": cert.decode(), "key": key.decode()}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
