"""`python -m addons`: the ingress controller, the metrics server and the dashboard in
one process (see addons/__init__.py), each with its own flags:

    python -m addons ingress --kubeconfig A ... -- metrics --kubeconfig B ... -- dashboard ...

Any subset, in any order. Each add-on's flags are checked by its own parser before
anything starts. They run side by side until SIGTERM/SIGINT; when one of them ends
(its port taken, its kubeconfig unreadable, a crash) the others are stopped and the
process exits non-zero, so its supervisor restarts all three, as it would restart one
of them alone."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import dashboard.__main__ as dashboard_main
import ingress.__main__ as ingress_main
import metrics.__main__ as metrics_main
from componentbase.addonsargv import AddOnsArgvError, split
from componentbase.logs import setup_logging
from componentbase.run import run, run_until_signalled

log = logging.getLogger("addons")

Parser = Callable[[list[str]], argparse.Namespace]
Runner = Callable[[argparse.Namespace], Awaitable[None]]

# Each add-on: its own flag parser, and what runs it (until cancelled) from its flags.
ADDONS: dict[str, tuple[Parser, Runner]] = {
    "ingress": (ingress_main.parse_args, ingress_main.run_addon),
    "metrics": (metrics_main.parse_args, metrics_main.run_addon),
    "dashboard": (dashboard_main.parse_args, dashboard_main.serve),
}


class AddOnEnded(Exception):
    """One add-on stopped (an error, or it returned): the process ends with it."""


@dataclass
class Parsed:
    name: str
    args: argparse.Namespace

    def start(self) -> Awaitable[None]:
        return ADDONS[self.name][1](self.args)


def parse(argv: list[str]) -> list[Parsed]:
    """Each named add-on's flags through its own parser (argparse exits 2 on bad ones)."""
    return [Parsed(name, ADDONS[name][0](flags)) for name, flags in split(argv).items()]


async def run_all(addons: list[Parsed]) -> None:
    """Every add-on at once; the first to end, whatever the reason, ends them all."""
    tasks = {asyncio.ensure_future(a.start()): a.name for a in addons}
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        task = done.pop()
        name = tasks[task]
        if task.cancelled():
            raise AddOnEnded(f"{name}: cancelled")
        err = task.exception()
        if err is not None:
            raise AddOnEnded(f"{name}: {err}") from err
        raise AddOnEnded(f"{name}: ended")
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def main(argv: list[str] | None = None) -> int:
    try:
        addons = parse(sys.argv[1:] if argv is None else argv)
    except AddOnsArgvError as err:
        print(f"python -m addons: {err}", file=sys.stderr)
        return 2
    setup_logging("addons", max(a.args.verbosity for a in addons))
    log.info("running %s in one process", ", ".join(a.name for a in addons))
    try:
        run(run_until_signalled(run_all(addons)))
    except AddOnEnded as err:
        log.error("%s; stopping the others", err)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
