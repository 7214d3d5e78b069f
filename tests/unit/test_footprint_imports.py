"""What a component's process imports at start-up stays resident for its life (issue 18,
footprint): each entry module, imported in a fresh interpreter, must not load what
that component does not use when idle. cryptography (~9 MiB resident) loads where a
certificate is made or parsed (componentbase/selfsigned.py makes the self-signed ones
in a child); httpx's CLI, uvicorn's watchfiles and httpcore's trio never load (api/__init__.py); the
standby proxy waits on its lock with the flags parsed and nothing else."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NEVER = ("httpx._main", "pygments", "watchfiles", "trio")
NO_CRYPTOGRAPHY = (*NEVER, "cryptography")

# entry modules (with what their start-up imports later: the controllers, the
# apiserver's app) -> modules they must not load
CASES: dict[tuple[str, ...], tuple[str, ...]] = {
    ("apiserver.__main__", "apiserver.app"): NEVER,
    ("scheduler.__main__",): NO_CRYPTOGRAPHY,
    ("controller.__main__", "controller.manager"): NO_CRYPTOGRAPHY,
    ("kubelet.__main__",): NO_CRYPTOGRAPHY,
    ("ingress.__main__",): NO_CRYPTOGRAPHY,
    ("metrics.__main__",): NO_CRYPTOGRAPHY,
    ("dashboard.__main__",): NO_CRYPTOGRAPHY,
    ("addons.__main__",): NO_CRYPTOGRAPHY,
    ("deploy.supervisor",): (*NO_CRYPTOGRAPHY, "httpx", "ssl", "http.client", "_hashlib"),
    ("proxy.__main__",): (*NO_CRYPTOGRAPHY, "ssl", "httpx", "dns", "prometheus_client"),
}

PROBE = """
import importlib, json, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
if "controller.manager" in sys.argv[1:]:  # every controller the manager may start
    import re
    source = open(sys.modules["controller.manager"].__file__).read()
    for name in re.findall(r"from (controller\\.[\\w.]+) import", source):
        importlib.import_module(name)
print(json.dumps(sorted(n for n, m in sys.modules.items() if m is not None)))
"""


@pytest.mark.parametrize("modules", list(CASES), ids=lambda m: m[0])
def test_a_component_imports_only_what_it_uses_idle(modules: tuple[str, ...]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *modules],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    loaded = set(json.loads(done.stdout))
    unwanted = {
        name
        for name in loaded
        for banned in CASES[modules]
        if name == banned or name.startswith(f"{banned}.")
    }
    assert not unwanted, f"{modules[0]} imports {sorted(unwanted)}"
