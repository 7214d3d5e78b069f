"""The cluster-local registry of `minik up --hosts` (issue 16): Debian's
`docker-registry` (the Docker registry API, offline) on the machine, at the gateway
address the hosts route through, so `imagePullPolicy: Always` really pulls on the
node that runs the pod.

It runs under the supervisor when the `docker-registry` binary is found (Debian's
package; it also starts a system instance on :5000 of its own, which minik does not
use). Plain HTTP: the registry is reachable only from the machine and the cluster's
hosts, whose engines are started with `--insecure-registry <gateway>:5000`.

`minik image push IMAGE...` puts an image in it: `docker save` from the machine's
engine, `docker load` into the first host's engine, which tags it
`<gateway>:5000/IMAGE` and pushes (the machine's own engine would refuse a plain-HTTP
registry it is not configured for). Pods then name `<gateway>:5000/IMAGE`."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import yaml

from deploy import hostengines, supervisor
from deploy.hostplan import Plan

PORT = 5000
BINARY = "docker-registry"


def address(plan: Plan) -> str:
    return f"{plan.gateway}:{PORT}"


def binary() -> str | None:
    return shutil.which(BINARY)


def config(data_dir: Path, plan: Plan) -> Path:
    """The registry's configuration (written at every `up`); its blobs in DATA_DIR/registry."""
    directory = data_dir / "registry"
    (directory / "data").mkdir(parents=True, exist_ok=True)
    body = {
        "version": 0.1,
        "log": {"level": "warn"},
        "storage": {
            "filesystem": {"rootdirectory": str(directory / "data")},
            "delete": {"enabled": True},
        },
        "http": {"addr": address(plan)},
    }
    path = directory / "config.yml"
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    return path


def components(data_dir: Path, plan: Plan) -> list[supervisor.Component]:
    """The registry as a supervised component, when its binary is installed."""
    found = binary()
    if found is None:
        return []
    url = f"http://{address(plan)}"
    return [
        supervisor.Component(
            "registry",
            [found, "serve", str(config(data_dir, plan))],
            ready_url=f"{url}/v2/",
            extra={"url": url},
        )
    ]


def push(plan: Plan, images: list[str]) -> list[str]:
    """Each image into the registry (through the first host's engine); the names pods
    pull them by."""
    first = plan.hosts[0]
    hostengines.load_images([first], images)
    pushed = []
    with contextlib.closing(hostengines.client(first, timeout=300)) as engine:
        for image in images:
            repository, _, tag = _split(image)
            target = f"{address(plan)}/{repository}"
            engine.images.get(image).tag(target, tag)
            for line in engine.api.push(target, tag=tag, stream=True, decode=True):
                if "error" in line:
                    raise hostengines.EngineError(f"pushing {image}: {line['error']}")
            pushed.append(f"{target}:{tag}")
    return pushed


def _split(image: str) -> tuple[str, str, str]:
    """repository, ":", tag (latest when none); a registry port is not a tag."""
    name, sep, tag = image.rpartition(":")
    if not sep or "/" in tag:
        return image, ":", "latest"
    return name, ":", tag
