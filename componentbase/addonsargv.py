"""The command line of `python -m addons` (addons/: the ingress controller, the metrics
server and the dashboard in one process), shared by the host that parses it and by
deploy/, which composes it for `minik up`:

    python -m addons ingress FLAGS... -- metrics FLAGS... -- dashboard FLAGS..."""

from __future__ import annotations

MODULE = "addons"  # `python -m addons`; also the process's name under `minik up`
SEPARATOR = "--"
NAMES = ("ingress", "metrics", "dashboard")  # the add-ons this host can run


class AddOnsArgvError(ValueError):
    """A command line `python -m addons` cannot run."""


def _check_known(name: str) -> None:
    if name not in NAMES:
        raise AddOnsArgvError(f"unknown add-on {name!r}; known: {', '.join(NAMES)}")


def command_line(parts: dict[str, list[str]]) -> list[str]:
    """`python -m addons`' arguments for each add-on's own flags, in `parts`' order."""
    out: list[str] = []
    for name, flags in parts.items():
        _check_known(name)
        if SEPARATOR in flags:
            raise AddOnsArgvError(f"{name}: a flag may not be {SEPARATOR!r}")
        out += [*([SEPARATOR] if out else []), name, *flags]
    return out


def split(argv: list[str]) -> dict[str, list[str]]:
    """Each add-on's own flags, by name, from `python -m addons`' arguments."""
    parts: dict[str, list[str]] = {}
    group: list[str] = []
    for word in [*argv, SEPARATOR]:
        if word != SEPARATOR:
            group.append(word)
            continue
        if not group:
            raise AddOnsArgvError(f"an empty add-on between {SEPARATOR!r}s: name one of {NAMES}")
        name, *flags = group
        _check_known(name)
        if name in parts:
            raise AddOnsArgvError(f"add-on {name!r} named twice")
        parts[name] = flags
        group = []
    return parts


def split_command(argv: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """A whole `python -m addons ...` command: the part up to the module's name, and
    each add-on's flags (deploy/hostcontrolplanes adds one to the metrics server's)."""
    start = argv.index(MODULE) + 1
    return argv[:start], split(argv[start:])
