"""The flags every component shares, and Go-style flag types.

Kubernetes components parse flags with Go's pflag: a duration is Go's
`time.ParseDuration` (`15s`, `1m30s`, `500ms`), a boolean is `strconv.ParseBool`, and
a boolean flag given alone (`--leader-elect`) means true. These types give argparse
the same behaviour, so a flag is spelled the same for minik as for Kubernetes, and
every component spells its shared flags (`--kubeconfig`, `--leader-elect*`) alike.
"""

from __future__ import annotations

import argparse
import ipaddress
from typing import TYPE_CHECKING

from api.timefmt import parse_duration

if TYPE_CHECKING:
    from componentbase.serving import TLSPolicy

# componentbase.serving (and with it ssl, ~6 MiB resident: libssl, libcrypto) is
# imported by the TLS flags' functions: a process that parses only the others (the
# standby proxy, waiting on its lock) does not load it.

_TRUE = frozenset({"true", "t", "1", "yes"})
_FALSE = frozenset({"false", "f", "0", "no"})


def duration(text: str) -> float:
    """Seconds from a Go duration (or plain seconds); argparse's error otherwise."""
    try:
        return parse_duration(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def ipv4_address(text: str) -> str:
    """A dotted IPv4 address, normalized; argparse's error otherwise."""
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an IPv4 address: {text!r}") from None


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


def tls_min_version(text: str) -> str:
    """A --tls-min-version value (VersionTLS12, VersionTLS13)."""
    from componentbase.serving import TLS_MIN_VERSIONS

    if text not in TLS_MIN_VERSIONS:
        raise argparse.ArgumentTypeError(
            f"unsupported TLS version {text!r} (allowed: {', '.join(TLS_MIN_VERSIONS)})"
        )
    return text


def tls_cipher_suites(text: str) -> tuple[str, ...]:
    """A --tls-cipher-suites list: Go's names, comma-separated, AEAD suites only."""
    from componentbase.serving import TLSPolicy, TLSPolicyError

    names = tuple(n.strip() for n in text.split(",") if n.strip())
    try:
        TLSPolicy(min_version="VersionTLS13", cipher_suites=names)
    except TLSPolicyError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return names


def add_tls_flags(parser: argparse.ArgumentParser) -> None:
    """Kubernetes' `--tls-min-version` and `--tls-cipher-suites` of a TLS server;
    `tls_policy(parser, args)` turns them into the componentbase.serving.TLSPolicy."""
    from componentbase.serving import (
        DEFAULT_TLS_MIN_VERSION,
        TLS12_CIPHER_SUITES,
        TLS13_CIPHER_SUITES,
        TLS_MIN_VERSIONS,
    )

    parser.add_argument(
        "--tls-min-version",
        type=tls_min_version,
        default=DEFAULT_TLS_MIN_VERSION,
        help=f"minimum TLS version served: {' or '.join(TLS_MIN_VERSIONS)} "
        f"(default {DEFAULT_TLS_MIN_VERSION})",
    )
    parser.add_argument(
        "--tls-cipher-suites",
        type=tls_cipher_suites,
        default=(),
        help="comma-separated TLS 1.2 cipher suites served (Go's names; AEAD ones only: "
        f"{', '.join(sorted(TLS12_CIPHER_SUITES))}; TLS 1.3's "
        f"{', '.join(sorted(TLS13_CIPHER_SUITES))} are always on). Default: all of these",
    )


def tls_policy(parser: argparse.ArgumentParser, args: argparse.Namespace) -> TLSPolicy:
    """The policy add_tls_flags' flags name; a contradiction is the parser's error."""
    from componentbase.serving import TLSPolicy, TLSPolicyError

    try:
        return TLSPolicy(args.tls_min_version, tuple(args.tls_cipher_suites))
    except TLSPolicyError as err:
        parser.error(str(err))
