"""`minik up` and its supervisor: starting, checking and stopping minik's processes."""

import api  # noqa: F401 - keeps httpx's command-line client out (api/__init__.py)
