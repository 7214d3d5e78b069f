"""minik's API types and rules, the layer every other package stands on.

On import it also keeps httpx's command-line client out of every minik process:
httpx's __init__ imports `httpx._main` (click, pygments, rich) and, where rich is not
installed, drops it again, ~3 MiB resident per process for nothing. A module marked
absent in sys.modules raises ImportError, which httpx catches (it then offers a stub
`httpx.main`). minik's packages import api/ before httpx; deploy/ (the supervisor
imports httpx first) does the same in its own __init__."""

import sys

sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
