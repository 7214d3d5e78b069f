"""`minik certs renew | check-expiration`: a local cluster's certificates, as kubeadm's
`certs` commands handle a control plane's.

Every leaf certificate of a data dir is found by what signed it, not by a list of names:
each `*.crt` under `<data-dir>/pki` (and its subdirectories) and under a kubelet's
`<data-dir>/nodes/<node>/pki` that the cluster CA (`<data-dir>/pki/ca.crt`) or etcd's
(`<data-dir>/pki/etcd/ca.crt`, kubeadm's `etcd-ca`) issued, with its key beside it
(`<stem>.key`). The CAs themselves are not renewed here (10 years, as kubeadm's).
Renewing keeps each certificate's subject, names and usages and makes a new key, as
kubeadm does; the components read their certificates when they start, so
the ones that name a renewed file in their flags must be restarted."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

import yaml

from api.humanize import human_duration
from componentbase.pki import (
    RENEW_BEFORE,
    expires_within,
    issued_by,
    not_after,
    renew_certificate,
)
from deploy import supervisor


@dataclass(frozen=True)
class Leaf:
    name: str  # the path under the data dir, without `.crt` (pki/apiserver)
    cert: Path
    key: Path
    ca_dir: Path  # the directory of the CA that issued it
    ca_name: str  # kubeadm's name of that CA: `ca` or `etcd-ca`


def authorities(data_dir: Path) -> list[tuple[str, Path]]:
    """A data dir's CAs by kubeadm's names: the cluster's, etcd's."""
    pki = data_dir / "pki"
    return [("ca", pki), ("etcd-ca", pki / "etcd")]


def leaf_certificates(data_dir: Path) -> list[Leaf]:
    """The leaves of the data dir's CAs with a key beside them, in a stable order."""
    pki = data_dir / "pki"
    found = sorted(pki.rglob("*.crt")) if pki.is_dir() else []
    found += sorted((data_dir / "nodes").glob("*/pki/*.crt"))
    leaves = []
    for cert in found:
        key = cert.with_suffix(".key")
        if not key.exists():
            continue
        for ca_name, ca_dir in authorities(data_dir):
            if issued_by(cert, ca_dir):
                name = str(cert.relative_to(data_dir).with_suffix(""))
                leaves.append(Leaf(name, cert, key, ca_dir, ca_name))
    return leaves


def renew(
    data_dir: Path,
    within: datetime.timedelta | None = None,
    only: list[str] | None = None,
) -> list[Leaf]:
    """Renew every leaf (kubeadm's `certs renew all`), or those named in `only`, or
    with `within` only those that expire sooner than that (what `minik up` does, with
    RENEW_BEFORE). Returns the renewed ones."""
    renewed = []
    for leaf in leaf_certificates(data_dir):
        if only is not None and leaf.name not in only:
            continue
        if within is None or expires_within(leaf.cert, within):
            renew_certificate(leaf.ca_dir, leaf.cert, leaf.key)
            renewed.append(leaf)
    return renewed


def renew_expiring(data_dir: Path) -> list[Leaf]:
    """`minik up`'s renewal: the leaves within RENEW_BEFORE (30 days) of their end."""
    return renew(data_dir, RENEW_BEFORE)


def components_using(data_dir: Path, leaves: list[Leaf]) -> list[str]:
    """The components of the data dir's `minik up` table whose flags or environment
    name one of these certificates or keys: they load them only when they start."""
    spec = data_dir / "components.json"
    if not spec.exists() or not leaves:
        return []
    paths = {str(p) for leaf in leaves for p in (leaf.cert, leaf.key)}
    names = []
    for component in supervisor.read_spec(spec):
        words = [*component.argv, *component.env.values()]
        words += [f for w in words if w.endswith(".kubeconfig") for f in _client_files(w)]
        if any(w in paths or w.partition("=")[2] in paths for w in words):
            names.append(component.name)
    return names


def _client_files(kubeconfig: str) -> list[str]:
    """The client certificate and key files a kubeconfig names (deploy/identities)."""
    try:
        doc = yaml.safe_load(Path(kubeconfig).read_text()) or {}
    except (OSError, yaml.YAMLError):
        return []
    users = [u.get("user") or {} for u in doc.get("users") or [] if isinstance(u, dict)]
    return [str(u[k]) for u in users for k in ("client-certificate", "client-key") if u.get(k)]


def _when(moment: datetime.datetime) -> str:
    return moment.strftime("%b %d, %Y %H:%M UTC")  # kubeadm's "Jan 02, 2006 15:04 MST"


def expiration_table(data_dir: Path) -> str:
    """kubeadm's `certs check-expiration`: each leaf, then the CA."""
    now = datetime.datetime.now(datetime.UTC)
    lines = [
        f"{'CERTIFICATE':<44} {'EXPIRES':<24} {'RESIDUAL TIME':<15} "
        f"{'CERTIFICATE AUTHORITY':<23} EXTERNALLY MANAGED"
    ]
    for leaf in leaf_certificates(data_dir):
        end = not_after(leaf.cert)
        left = human_duration((end - now).total_seconds()) if end > now else "<invalid>"
        lines.append(f"{leaf.name:<44} {_when(end):<24} {left:<15} {leaf.ca_name:<23} no")
    cas = [(name, d / "ca.crt") for name, d in authorities(data_dir) if (d / "ca.crt").exists()]
    if cas:
        lines += [
            "",
            f"{'CERTIFICATE AUTHORITY':<23} {'EXPIRES':<24} {'RESIDUAL TIME':<15} "
            "EXTERNALLY MANAGED",
        ]
    for name, ca_cert in cas:
        end = not_after(ca_cert)
        left = human_duration((end - now).total_seconds()) if end > now else "<invalid>"
        lines.append(f"{name:<23} {_when(end):<24} {left:<15} no")
    return "\n".join(lines)


def renew_all_message(data_dir: Path, renewed: list[Leaf]) -> str:
    """What `minik certs renew all` prints: each certificate, then kubeadm's advice to
    restart, naming minik's components that use them."""
    if not renewed:
        return f"no certificates issued by the cluster's CAs under {data_dir}"
    lines = [f"certificate {leaf.name}.crt renewed" for leaf in renewed]
    users = components_using(data_dir, renewed)
    if users:
        lines += [
            "",
            "Done renewing certificates. You must restart the components that use them "
            f"so that they can use the new certificates: {', '.join(users)} "
            "(`minik restart <component>` for each, or `minik down` then `minik up`).",
        ]
    else:
        lines += ["", "Done renewing certificates. Components load them when they start."]
    return "\n".join(lines)
