"""The flags every component shares, and Go-style flag types.

Kubernetes components parse flags with Go's pflag: a duration is Go's
`time.ParseDuration` (`15s`, `1m30s`, `500ms`), a boolean is `strconv.ParseBool`, and
a boolean flag given alone (`--leader-elect`) means true. These types give argparse
the same behaviour, so a flag is spelled the same for minik as for Kubernetes, and
every component spells its shared flags (`--kubeconfig`, `--leader-elect*`) alike.
"""

from __future__ import annotations

import argparse

from api.timefmt import parse_duration

_TRUE = frozenset({"true", "t", "1", "yes"})
_FALSE = frozenset({"false", "f", "0", "no"})


def duration(text: str) -> float:
    """Seconds from a Go duration (or plain seconds); argparse's error otherwise."""
    try:
        return parse_duration(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def boolean(text: str) -> bool:
    """Go's ParseBool spellings (true/false, t/f, 1/0, any case), and yes/no."""
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise argparse.ArgumentTypeError(f"invalid boolean {text!r} (want true or false)")


def add_bool_flag(
    parser: argparse.ArgumentParser, name: str, default: bool = False, help: str | None = None
) -> None:
    """`--name`, `--name=true|false` or `--name true|false`, as pflag's bool flags."""
    parser.add_argument(name, type=boolean, nargs="?", const=True, default=default, help=help)


def add_kubeconfig_flag(parser: argparse.ArgumentParser) -> None:
    """`--kubeconfig`, for the components that are clients of the apiserver."""
    parser.add_argument(
        "--kubeconfig",
        help="kubeconfig with the apiserver's address and this component's credentials "
        "(default: $KUBECONFIG, then ~/.minik/kubeconfig)",
    )
