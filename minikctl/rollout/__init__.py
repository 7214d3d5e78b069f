"""`minikctl rollout status|history|undo|restart|pause|resume`: a Deployment's rollouts,
driven the way kubectl drives them (one module per subcommand)."""

from __future__ import annotations

import argparse
from typing import Any

from minikctl.rollout import history, patches, status, undo


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "rollout",
        parents=parents,
        help="manage the rollout of a deployment",
        description="Watch, list, undo, restart, pause or resume a deployment's rollouts.",
    )
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    for module in (status, history, undo, patches):
        module.register(verbs, parents)
