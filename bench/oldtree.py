"""An older commit's apiserver beside this tree's, for before/after benches: the
commit's source exported with `git archive` (the repository is not touched) and its
apiserver run from there with this interpreter."""

from __future__ import annotations

import subprocess
from pathlib import Path

from client.kubeconfig import write_kubeconfig
from deploy import processes, readiness
from deploy.controlplane import ApiServer, Etcd

REPO = Path(__file__).resolve().parent.parent


def export_tree(commit: str, dest: Path) -> None:
    """The source tree of `commit` in `dest`."""
    dest.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "archive", commit], cwd=REPO, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)


def start_tree_apiserver(
    etcd: Etcd, workdir: Path, tree: Path, extra: list[str], kubelet_client: bool = True
) -> ApiServer:
    """`python -m apiserver` with `tree` as cwd and PYTHONPATH, an admin token in
    system:masters and `extra` flags (only those the older tree knows);
    `kubelet_client=False` for trees from before the kubelet client flags."""
    workdir.mkdir(parents=True, exist_ok=True)
    pki = workdir / "pki"
    token_file = workdir / "tokens.csv"
    tokens = processes.write_token_file(token_file, [("admin", "system:masters")])
    port = processes.free_port()
    argv = processes.apiserver_argv(
        etcd.url, port, token_file, pki, extra, kubelet_client=kubelet_client
    )
    env = {"PYTHONPATH": str(tree)}
    proc = processes.spawn("apiserver", argv, workdir / "apiserver-0.log", env=env, cwd=tree)
    url = f"https://127.0.0.1:{port}"
    ca = pki / "ca.crt"
    processes.wait_for(lambda: readiness.http_ok(f"{url}/readyz", str(ca)), 30, proc, "apiserver")
    server = ApiServer(
        url, tokens["admin"], workdir / "kubeconfig", etcd.url, workdir, port, token_file, ca
    )
    server.process = proc
    write_kubeconfig(server.kubeconfig, url, tokens["admin"], ca_file=ca)
    return server
