"""`-v N`: klog's integer verbosity, and the one log format of every component.

Kubernetes components log through klog: `-v 0` (the default) shows what an operator
needs, each step up shows more. Python's logging has levels instead, so the mapping:

    -v 0..3   INFO and above             (klog's V(0)-V(3): normal operation)
    -v 4+     DEBUG too                  (klog's V(4): debug, e.g. every decision)
    -v 6+     httpx's one line per request (kubectl's -v 6: the requests made)
    -v 8+     httpx/httpcore's debugging  (kubectl's -v 8: connections, bodies)

Below 6, the HTTP client libraries log warnings only: a line per request even at
`-v 4` would drown what the component itself says.

Every line reads `<time> <component> <LEVEL> <logger>: <message>`.
"""

from __future__ import annotations

import argparse
import logging

DEBUG_VERBOSITY = 4
REQUESTS_VERBOSITY = 6
HTTP_DEBUG_VERBOSITY = 8
HTTP_LOGGERS = ("httpx", "httpcore")


def add_verbosity_flag(parser: argparse.ArgumentParser) -> None:
    """`-v N` / `--v N` (also `--v=N`), an integer as every Kubernetes component takes."""
    parser.add_argument(
        "-v",
        "--v",
        dest="verbosity",
        type=_verbosity,
        default=0,
        metavar="N",
        help=f"log verbosity: 0 info, {DEBUG_VERBOSITY}+ debug, "
        f"{REQUESTS_VERBOSITY}+ every HTTP request",
    )


def _verbosity(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid verbosity {text!r} (want 0, 1, 2, ...)"
        ) from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"invalid verbosity {text!r}: negative")
    return value


def level_for(verbosity: int) -> int:
    """The component's logging level for `-v verbosity`."""
    return logging.DEBUG if verbosity >= DEBUG_VERBOSITY else logging.INFO


def http_level_for(verbosity: int) -> int:
    """The HTTP client libraries' logging level for `-v verbosity`."""
    if verbosity >= HTTP_DEBUG_VERBOSITY:
        return logging.DEBUG
    if verbosity >= REQUESTS_VERBOSITY:
        return logging.INFO
    return logging.WARNING


def log_format(component: str) -> str:
    return f"%(asctime)s {component} %(levelname)s %(name)s: %(message)s"


def setup_logging(component: str, verbosity: int) -> None:
    """Configure the root logger once, at start-up, for `component` at `-v verbosity`."""
    logging.basicConfig(level=level_for(verbosity), format=log_format(component))
    for name in HTTP_LOGGERS:
        logging.getLogger(name).setLevel(http_level_for(verbosity))
