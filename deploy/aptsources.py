"""The Debian package mirror this machine's apt already uses, so the compose lab's base
image is built from it (a local or corporate mirror is honoured; an offline machine
with a configured mirror just works) and no mirror host is written into minik.

apt reads `/etc/apt/sources.list`, then `/etc/apt/sources.list.d/` in name order:
`*.list` files in the one-line format (`deb [opts] URI SUITE COMPONENT...`) and
`*.sources` files in the deb822 format (`Types:`, `URIs:`, `Suites:`,
`Components:` stanzas). The mirror is the first `deb` URI serving SUITE's `main`
component.

Standard library only: `deploy/compose/build-base.sh` runs it with the host's
python3 as `python3 deploy/aptsources.py bookworm`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Source:
    uri: str
    suites: tuple[str, ...]
    components: tuple[str, ...]


def source_files(root: Path = Path("/")) -> list[Path]:
    """The files apt reads, in its order."""
    etc = root / "etc" / "apt"
    main = [etc / "sources.list"] if (etc / "sources.list").is_file() else []
    parts = etc / "sources.list.d"
    if not parts.is_dir():
        return main
    found = [p for p in parts.iterdir() if p.suffix in (".list", ".sources") and p.is_file()]
    return main + sorted(found, key=lambda p: p.name)


def one_line_sources(text: str) -> Iterator[Source]:
    """`deb` lines of the one-line format (`deb-src` and comments skipped)."""
    for raw in text.splitlines():
        words = raw.split("#", 1)[0].split()
        if not words or words[0] != "deb":
            continue
        rest = words[1:]
        if rest and rest[0].startswith("["):  # [arch=amd64 signed-by=...] options
            while rest and not rest[0].endswith("]"):
                rest = rest[1:]
            rest = rest[1:]
        if len(rest) >= 2:
            yield Source(rest[0], (rest[1],), tuple(rest[2:]))


def deb822_sources(text: str) -> Iterator[Source]:
    """Stanzas of the deb822 format whose Types include `deb` and are not disabled."""
    for stanza in _stanzas(text):
        if "deb" not in stanza.get("types", "").split():
            continue
        if stanza.get("enabled", "yes").strip().lower() == "no":
            continue
        suites = tuple(stanza.get("suites", "").split())
        components = tuple(stanza.get("components", "").split())
        for uri in stanza.get("uris", "").split():
            yield Source(uri, suites, components)


def _stanzas(text: str) -> Iterator[dict[str, str]]:
    fields: dict[str, str] = {}
    key = ""
    for raw in [*text.splitlines(), ""]:
        if raw.lstrip().startswith("#"):
            continue
        if not raw.strip():
            if fields:
                yield fields
            fields, key = {}, ""
        elif raw[0] in " \t" and key:  # a continuation line
            fields[key] += " " + raw.strip()
        elif ":" in raw:
            name, value = raw.split(":", 1)
            key = name.strip().lower()
            fields[key] = value.strip()


def sources(root: Path = Path("/")) -> Iterator[Source]:
    for path in source_files(root):
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        yield from deb822_sources(text) if path.suffix == ".sources" else one_line_sources(text)


def mirror_for(suite: str, root: Path = Path("/")) -> str | None:
    """The first `deb` URI serving `suite`'s main component, or None."""
    for source in sources(root):
        if suite in source.suites and "main" in source.components:
            return source.uri.rstrip("/")
    return None


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: aptsources.py SUITE", file=sys.stderr)
        return 2
    mirror = mirror_for(argv[0])
    if mirror is None:
        print(
            f"no `deb` source for {argv[0]} main in /etc/apt/sources.list or "
            "/etc/apt/sources.list.d/ (*.list, *.sources)",
            file=sys.stderr,
        )
        return 1
    print(mirror)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
