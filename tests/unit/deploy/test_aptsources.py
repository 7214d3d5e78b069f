"""The Debian mirror is read from this machine's apt sources: both formats, apt's
file order, the first `deb` URI of the suite's main component."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.aptsources import main, mirror_for

# RFC 2606 names: no real mirror host appears in minik.
LOCAL = "http://local-mirror.example/debian"
CORP = "https://corp.example/apt/debian/"


def write(root: Path, name: str, text: str) -> None:
    path = root / "etc" / "apt" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_one_line_format_with_options_and_comments(tmp_path: Path) -> None:
    write(
        tmp_path,
        "sources.list",
        "# a comment\n"
        f"deb-src {CORP} bookworm main\n"
        f"deb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] {LOCAL} bookworm main contrib\n",
    )
    assert mirror_for("bookworm", tmp_path) == LOCAL


def test_deb822_format(tmp_path: Path) -> None:
    write(
        tmp_path,
        "sources.list.d/debian.sources",
        "Types: deb deb-src\n"
        "# a comment inside a stanza\n"
        f"URIs: {CORP}\n"
        "Suites: bookworm bookworm-updates\n"
        "Components: main\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n",
    )
    assert mirror_for("bookworm", tmp_path) == CORP.rstrip("/")


def test_only_the_suites_main_component_counts(tmp_path: Path) -> None:
    write(
        tmp_path,
        "sources.list.d/debian.sources",
        "Types: deb\nURIs: http://security.example/debian-security\n"
        "Suites: bookworm-security\nComponents: main\n\n"
        "Types: deb\nURIs: http://vendor.example/apt\nSuites: bookworm\nComponents: stable\n\n"
        "Types: deb\nURIs: http://off.example/debian\nSuites: bookworm\nComponents: main\n"
        "Enabled: no\n\n"
        f"Types: deb\nURIs: {LOCAL}\nSuites: bookworm\nComponents: main\n",
    )
    assert mirror_for("bookworm", tmp_path) == LOCAL


def test_apts_order_sources_list_first_then_by_name(tmp_path: Path) -> None:
    write(tmp_path, "sources.list.d/b.list", f"deb {CORP} bookworm main\n")
    write(tmp_path, "sources.list.d/a.sources", f"Types: deb\nURIs: {LOCAL}\nSuites: bookworm\n"
          "Components: main\n")  # fmt: skip
    write(tmp_path, "sources.list.d/0.list.disabled", "deb http://old.example/d bookworm main\n")
    assert mirror_for("bookworm", tmp_path) == LOCAL
    write(tmp_path, "sources.list", f"deb {CORP} bookworm main\n")
    assert mirror_for("bookworm", tmp_path) == CORP.rstrip("/")


def test_no_source_is_none_and_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert mirror_for("bookworm", tmp_path) is None
    write(tmp_path, "sources.list", "deb http://ubuntu.example/ubuntu noble main\n")
    assert mirror_for("bookworm", tmp_path) is None
    assert main(["no-such-suite"]) == 1
    assert "no `deb` source for no-such-suite main" in capsys.readouterr().err
