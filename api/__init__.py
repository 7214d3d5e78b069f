"""minik's API types and rules, the layer every other package stands on.

On import it also keeps three libraries' optional extras out of every minik process,
each loaded by a library minik uses and never used by minik:
- httpx's __init__ imports its command-line client (`httpx._main`: click, pygments,
  rich) and, where rich is not installed, drops it again: ~3 MiB resident per process.
- uvicorn imports watchfiles (a Rust extension, anyio) for `--reload`, which minik's
  servers never use: ~1 MiB in each process that serves with uvicorn.
- httpcore imports trio, when it is installed, to offer trio locks; minik runs on
  asyncio only, and trio (with attrs, outcome, sortedcontainers: ~4 MiB resident in
  each process with a client) is no dependency of minik's: only a development extra
  (selenium's) puts it beside minik.
A module marked absent in sys.modules raises ImportError, which all three catch (httpx
then offers a stub `httpx.main`, uvicorn its stat-polling reloader, httpcore asyncio's
locks alone, as in an install without trio). minik's packages
import api/ before any of these libraries; deploy/ (the supervisor imports httpx first) does
the same in its own __init__."""

import sys

for _unused in ("httpx._main", "watchfiles", "trio"):
    sys.modules.setdefault(_unused, None)  # type: ignore[arg-type]
