"""minik's API types and rules, the layer every other package stands on.

On import it also keeps two libraries' optional extras out of every minik process,
each loaded by a library minik uses and never used by minik:
- httpx's __init__ imports its command-line client (`httpx._main`: click, pygments,
  rich) and, where rich is not installed, drops it again: ~3 MiB resident per process.
- uvicorn imports watchfiles (a Rust extension, anyio) for `--reload`, which minik's
  servers never use: ~1 MiB in each process that serves with uvicorn.
A module marked absent in sys.modules raises ImportError, which both catch (httpx
then offers a stub `httpx.main`, uvicorn its stat-polling reloader). minik's packages
import api/ before either library; deploy/ (the supervisor imports httpx first) does
the same in its own __init__."""

import sys

for _unused in ("httpx._main", "watchfiles"):
    sys.modules.setdefault(_unused, None)  # type: ignore[arg-type]
