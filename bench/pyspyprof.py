"""py-spy profiles of a running process, and their top entries as text.

`Recording` runs `py-spy record -r 200 --format raw` on a pid for the length of a
`with` block; `summary` reads the collapsed stacks it wrote: the functions with the
most samples on top of the stack (self), the most samples anywhere in the stack
(inclusive), and the share of each layer (by the file of the frame on top)."""

from __future__ import annotations

import collections
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from types import TracebackType

# The first matching fragment of the top frame's file names its layer.
LAYERS = (
    ("/aetcd/", "etcd client (aetcd)"),
    ("/grpc/", "etcd client (grpc)"),
    ("/google/protobuf/", "etcd client (protobuf)"),
    ("/uvicorn/", "uvicorn (HTTP)"),
    ("/httptools/", "uvicorn (HTTP)"),
    ("/starlette/", "Starlette/FastAPI"),
    ("/fastapi/", "Starlette/FastAPI"),
    ("/ssl.py", "TLS"),
    ("/asyncio/runners.py", "event loop (uvloop, TLS, sockets: native)"),
    ("/asyncio/", "event loop"),
    ("uvloop", "event loop"),
    ("/json/", "JSON"),
    ("/api/schema", "schema (unknown fields)"),
    ("/api/validation/", "validation"),
    ("/api/defaults", "defaults"),
    ("/apiserver/admission/", "admission"),
    ("/apiserver/authz/", "authorization"),
    ("/apiserver/", "apiserver (other)"),
    ("/api/", "api (other)"),
    ("/componentbase/", "componentbase"),
    ("/copy.py", "deepcopy"),
    ("/re/", "regex"),
    ("/logging/", "logging"),
)


def py_spy() -> str:
    """py-spy beside this interpreter (the venv's, from PyPI), else on PATH."""
    here = Path(sys.executable).with_name("py-spy")
    found = str(here) if here.exists() else shutil.which("py-spy")
    if not found:
        raise RuntimeError("py-spy is not installed: .venv/bin/pip install py-spy")
    return found


class Recording:
    """`py-spy record` of `pid` while the block runs, raw collapsed stacks to `out`."""

    def __init__(self, pid: int, out: Path, rate: int = 200) -> None:
        self.argv = [
            py_spy(), "record", "-r", str(rate), "--pid", str(pid),
            "--format", "raw", "-o", str(out),
        ]  # fmt: skip
        self.out = out
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Recording:
        self.proc = subprocess.Popen(
            self.argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)  # py-spy writes its file on Ctrl-C
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _frame_name(frame: str) -> str:
    """`func (path/to/file.py:123)` -> `func (file.py)`: one entry per function."""
    name, _, where = frame.partition(" (")
    path = where.rsplit(":", 1)[0]
    return f"{name} ({'/'.join(path.split('/')[-2:])})"


def _layer(frame: str) -> str:
    path = "/" + frame.partition(" (")[2]  # py-spy shortens paths: "grpc/aio/_call.py"
    for fragment, layer in LAYERS:
        if fragment in path:
            return layer
    return "other"


def read_stacks(path: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks.append((stack.split(";"), int(count)))
    return stacks


# A thread whose only Python frame is Thread.run is in native code: gRPC's poller
# (aetcd), mostly waiting in epoll; py-spy cannot tell its waiting from its work.
NATIVE_THREAD = "Thread.run (threading.py)"


def summary(path: Path, top: int = 15) -> str:
    """The top entries, over the samples of Python code (NATIVE_THREAD's counted apart:
    the apiserver's CPU per request, measured from /proc, includes its real work)."""
    stacks = read_stacks(path)
    native = sum(c for frames, c in stacks if _frame_name(frames[-1]) == NATIVE_THREAD)
    stacks = [(f, c) for f, c in stacks if _frame_name(f[-1]) != NATIVE_THREAD]
    total = sum(c for _, c in stacks) or 1
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    layers: collections.Counter[str] = collections.Counter()
    for frames, count in stacks:
        own[_frame_name(frames[-1])] += count
        layers[_layer(frames[-1])] += count
        for name in {_frame_name(f) for f in frames}:
            inclusive[name] += count
    lines = [f"{path.name}: {total} samples (+ {native} in the native gRPC poller thread)"]
    lines.append("  self (top of stack):")
    lines += [f"    {100 * c / total:5.1f}%  {n}" for n, c in own.most_common(top)]
    lines.append("  inclusive:")
    lines += [f"    {100 * c / total:5.1f}%  {n}" for n, c in inclusive.most_common(top)]
    lines.append("  by layer (top frame's file):")
    lines += [f"    {100 * c / total:5.1f}%  {n}" for n, c in layers.most_common()]
    return "\n".join(lines)


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print(summary(Path(arg)))
