"""The kubelet runs pods in Docker: a real kubelet process, the real apiserver, real
containers. Pods are bound to the kubelet's node directly (no scheduler here)."""

from __future__ import annotations

import os

import docker
import httpx

from tests.e2e.conftest import (
    KubeletProcess,
    container_status,
    create_pod,
    docker_id,
    events_for,
    is_ready,
    node_containers,
    phase,
    pod_manifest,
    pods_version,
    terminated_reason,
    wait_pod,
    watch_pod,
)
from tests.support.wait import eventually


def test_node_registers_with_status_and_lease(kubelet: KubeletProcess, api: httpx.Client) -> None:
    node = api.get(f"/api/v1/nodes/{kubelet.node}").json()
    status = node["status"]
    assert {"type": "InternalIP", "address": "127.0.0.1"} in status["addresses"]
    assert {"type": "Hostname", "address": kubelet.node} in status["addresses"]
    assert status["daemonEndpoints"]["kubeletEndpoint"]["Port"] == kubelet.port
    info = status["nodeInfo"]
    assert info["containerRuntimeVersion"].startswith("docker://")
    assert info["kubeletVersion"].startswith("v1.")
    assert info["operatingSystem"] == "linux" and info["architecture"]
    assert info["kernelVersion"] and info["osImage"]
    for key in ("cpu", "memory", "pods"):
        assert status["capacity"][key] and status["allocatable"][key]
    conditions = {c["type"]: c["status"] for c in status["conditions"]}
    assert conditions == {
        "Ready": "True",
        "MemoryPressure": "False",
        "DiskPressure": "False",
        "PIDPressure": "False",
    }
    assert node["metadata"]["labels"]["kubernetes.io/hostname"] == kubelet.node
    leases = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"
    lease = api.get(f"{leases}/{kubelet.node}")
    assert lease.status_code == 200, lease.text
    spec = lease.json()["spec"]
    assert spec["holderIdentity"] == kubelet.node and spec["renewTime"]
    assert lease.json()["metadata"]["ownerReferences"][0]["uid"] == node["metadata"]["uid"]


def test_pod_runs_and_becomes_ready(
    kubelet: KubeletProcess, api: httpx.Client, namespace: str, busybox: str
) -> None:
    container = {"name": "web", "image": busybox, "command": ["httpd", "-f", "-p", "8080"]}
    created = create_pod(api, namespace, pod_manifest("web", kubelet.node, [container]))
    pod = wait_pod(api, namespace, "web", is_ready, what="Ready")
    status = pod["status"]
    assert phase(pod) == "Running"
    assert status["hostIP"] == "127.0.0.1" and status["startTime"]
    assert status["podIP"] and status["podIPs"] == [{"ip": status["podIP"]}]
    assert status["qosClass"] == "BestEffort"
    types = {c["type"]: c["status"] for c in status["conditions"]}
    assert types == {
        "PodReadyToStartContainers": "True",
        "Initialized": "True",
        "Ready": "True",
        "ContainersReady": "True",
        "PodScheduled": "True",
    }
    web = container_status(pod, "web")
    assert web["ready"] and web["started"] and web["restartCount"] == 0
    assert "running" in web["state"] and web["imageID"].startswith("sha256:")
    # The containers are really there, labelled, and the pod IP answers.
    uid = created["metadata"]["uid"]
    labelled = node_containers(kubelet.node, **{"io.minik.pod.uid": uid})
    # one Docker container, its own sandbox: the pod IP is its fixed address (solo.py)
    assert [
        (c["Labels"]["io.minik.container.name"], c["Labels"].get("io.minik.solo")) for c in labelled
    ] == [("web", "true")]
    assert httpx.get(f"http://{status['podIP']}:8080/", timeout=5).status_code == 404

    def started_events() -> bool:
        reasons = [e["reason"] for e in events_for(api, namespace, "web")]
        assert {"Pulled", "Created", "Started"} <= set(reasons), reasons
        return True

    eventually(started_events, timeout=10, interval=0.3)


def test_containers_of_a_pod_share_localhost_and_emptydir(
    kubelet: KubeletProcess, api: httpx.Client, namespace: str, busybox: str
) -> None:
    server = {
        "name": "server",
        "image": busybox,
        "command": [
            "sh",
            "-c",
            "echo hello-from-server > /www/index.html; httpd -f -p 8080 -h /www",
        ],
        "volumeMounts": [{"name": "shared", "mountPath": "/www"}],
    }
    client = {
        "name": "client",
        "image": busybox,
        "command": [
            "sh",
            "-c",
            "until wget -q -O /data/fetched http://127.0.0.1:8080/; do sleep 0.2; done; sleep 3600",
        ],
        "volumeMounts": [{"name": "data", "mountPath": "/data"}],
    }
    reader = {
        "name": "reader",
        "image": busybox,
        "command": ["sh", "-c", "sleep 3600"],
        "volumeMounts": [
            {"name": "data", "mountPath": "/in", "readOnly": True},
            {"name": "shared", "mountPath": "/site", "subPath": "sub"},
            {"name": "host", "mountPath": "/host"},
        ],
    }
    host_dir = kubelet.root_dir.parent / f"hostpath-{namespace}"
    manifest = pod_manifest(
        "pair",
        kubelet.node,
        [server, client, reader],
        volumes=[
            {"name": "shared", "emptyDir": {}},
            {"name": "data", "emptyDir": {}},
            {"name": "host", "hostPath": {"path": str(host_dir), "type": "DirectoryOrCreate"}},
        ],
    )
    create_pod(api, namespace, manifest)
    pod = wait_pod(api, namespace, "pair", is_ready, what="Ready")
    dock = docker.from_env().api

    def run(container: str, *cmd: str) -> tuple[int, str]:
        exec_id = dock.exec_create(docker_id(pod, container), list(cmd))["Id"]
        out = dock.exec_start(exec_id).decode()
        return dock.exec_inspect(exec_id)["ExitCode"], out

    eventually(lambda: run("reader", "cat", "/in/fetched")[0] == 0, timeout=10, interval=0.2)
    # client fetched from server over localhost and wrote into the emptyDir reader sees
    assert run("reader", "cat", "/in/fetched") == (0, "hello-from-server\n")
    code, _ = run("reader", "sh", "-c", "echo x > /in/denied")
    assert code != 0, "a readOnly mount must refuse writes"
    # subPath: reader's /site is the `sub` directory of the shared volume
    assert run("reader", "sh", "-c", "echo deep > /site/f")[0] == 0
    assert run("server", "cat", "/www/sub/f") == (0, "deep\n")
    # hostPath: the host's own directory, created for DirectoryOrCreate
    assert run("reader", "sh", "-c", "echo from-pod > /host/note")[0] == 0
    assert (host_dir / "note").read_text() == "from-pod\n"
    # the emptyDir lives under the kubelet's root dir
    uid = pod["metadata"]["uid"]
    assert (kubelet.root_dir / "pods" / uid / "volumes" / "emptydir" / "data" / "fetched").exists()


def test_env_from_field_refs_and_expansion(
    kubelet: KubeletProcess, api: httpx.Client, namespace: str, busybox: str
) -> None:
    env = [
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "POD_NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": "POD_UID", "valueFrom": {"fieldRef": {"fieldPath": "metadata.uid"}}},
        {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "HOST_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.hostIP"}}},
        {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
        {"name": "SA", "valueFrom": {"fieldRef": {"fieldPath": "spec.serviceAccountName"}}},
        {"name": "GREETING", "value": "hi $(POD_NAME) in $(POD_NS), $$(POD_NAME) $(NOPE)"},
    ]
    container = {
        "name": "env",
        "image": busybox,
        "command": ["sh", "-c"],
        "args": ["env > /tmp/env; echo $(GREETING) > /dev/termination-log; sleep 3600"],
        "workingDir": "/tmp",
        "env": env,
    }
    manifest = pod_manifest("envpod", kubelet.node, [container], serviceAccountName="robot")
    created = create_pod(api, namespace, manifest)
    pod = wait_pod(api, namespace, "envpod", is_ready, what="Ready")
    dock = docker.from_env().api
    exec_id = dock.exec_create(docker_id(pod, "env"), ["cat", "/tmp/env"])["Id"]
    lines = dock.exec_start(exec_id).decode().splitlines()
    values = dict(line.split("=", 1) for line in lines if "=" in line)
    assert values["POD_NAME"] == "envpod"
    assert values["POD_NS"] == namespace
    assert values["POD_UID"] == created["metadata"]["uid"]
    assert values["POD_IP"] == pod["status"]["podIP"]
    assert values["HOST_IP"] == "127.0.0.1"
    assert values["NODE"] == kubelet.node
    assert values["SA"] == "robot"
    assert values["GREETING"] == f"hi envpod in {namespace}, $(POD_NAME) $(NOPE)"
    # Kubernetes' service variables: the apiserver's own `kubernetes` service
    assert values["KUBERNETES_SERVICE_HOST"] and values["KUBERNETES_SERVICE_PORT"]
    inspect = dock.inspect_container(docker_id(pod, "env"))
    assert inspect["Config"]["WorkingDir"] == "/tmp"
    # args were expanded with the environment before Docker saw them
    assert "hi envpod in" in inspect["Config"]["Cmd"][0]


def test_limits_reach_docker_and_oom_kill_is_reported(
    kubelet: KubeletProcess, api: httpx.Client, namespace: str, busybox: str
) -> None:
    hog = {
        "name": "hog",
        "image": busybox,
        "command": ["sh", "-c", "sleep 1; x=a; while :; do x=$x$x; done"],
        "resources": {"limits": {"cpu": "500m", "memory": "16Mi"}},
    }
    create_pod(api, namespace, pod_manifest("limited", kubelet.node, [hog], restartPolicy="Never"))
    # The reason can follow the phase in a later status write: when containerd publishes
    # the exit before the OOM, the kubelet learns of it from Docker's `oom` event.
    pod = wait_pod(
        api,
        namespace,
        "limited",
        lambda p: phase(p) == "Failed" and terminated_reason(p, "hog") == "OOMKilled",
        40,
        "Failed, its container OOMKilled",
    )
    host_config = docker.from_env().api.inspect_container(docker_id(pod, "hog"))["HostConfig"]
    assert host_config["NanoCpus"] == 500_000_000
    assert host_config["Memory"] == 16 * 1024 * 1024
    assert host_config["MemorySwap"] == 16 * 1024 * 1024
    assert host_config["CpuShares"] == 512
    terminated = container_status(pod, "hog")["state"]["terminated"]
    assert terminated["reason"] == "OOMKilled" and terminated["exitCode"] == 137
    assert pod["status"]["qosClass"] == "Guaranteed"


def test_init_containers_run_in_order_and_termination_message(
    kubelet: KubeletProcess, api: httpx.Client, namespace: str, busybox: str
) -> None:
    mount = [{"name": "work", "mountPath": "/work"}]
    inits = [
        {
            "name": "first",
            "image": busybox,
            "command": ["sh", "-c", "echo 1 >> /work/order"],
            "volumeMounts": mount,
        },
        {
            "name": "second",
            "image": busybox,
            "command": ["sh", "-c", "echo 2 >> /work/order"],
            "volumeMounts": mount,
        },
    ]
    main = {
        "name": "main",
        "image": busybox,
        "command": ["sh", "-c", "cat /work/order | tr '\\n' , > /dev/termination-log; exit 3"],
        "volumeMounts": mount,
    }
    manifest = pod_manifest(
        "ordered",
        kubelet.node,
        [main],
        initContainers=inits,
        restartPolicy="Never",
        volumes=[{"name": "work", "emptyDir": {}}],
    )
    create_pod(api, namespace, manifest)
    pod = wait_pod(api, namespace, "ordered", lambda p: phase(p) == "Failed", 30, "Failed")
    for name in ("first", "second"):
        state = container_status(pod, name)["state"]["terminated"]
        assert state["exitCode"] == 0 and state["reason"] == "Completed"
    terminated = container_status(pod, "main")["state"]["terminated"]
    assert terminated["exitCode"] == 3 and terminated["reason"] == "Error"
    assert terminated["message"] == "1,2,"
    types = {c["type"]: c["status"] for c in pod["status"]["conditions"]}
    assert types["Initialized"] == "True" and types["Ready"] == "False"

    # a finished pod's sandbox is stopped too
    def sandbox_stopped() -> bool:
        sandboxes = node_containers(
            kubelet.node, **{"io.minik.pod.uid": pod["metadata"]["uid"], "io.minik.sandbox": "true"}
        )
        assert all(s["State"] != "running" for s in sandboxes), sandboxes
        return True

    eventually(sandbox_stopped, timeout=10, interval=0.2)


def test_failing_init_container_blocks_the_pod(
    kubelet: KubeletProcess, api: httpx.Client, namespace: str, busybox: str
) -> None:
    inits = [{"name": "setup", "image": busybox, "command": ["sh", "-c", "exit 1"]}]
    main = {"name": "main", "image": busybox, "command": ["sleep", "3600"]}
    manifest = pod_manifest("blocked", kubelet.node, [main], initContainers=inits)
    create_pod(api, namespace, manifest)

    def init_crash_looping(pod: dict) -> bool:
        setup = container_status(pod, "setup")
        waiting = (setup.get("state") or {}).get("waiting") or {}
        return waiting.get("reason") == "CrashLoopBackOff"

    pod = wait_pod(api, namespace, "blocked", init_crash_looping, 30, "Init:CrashLoopBackOff")
    assert phase(pod) == "Pending"
    setup = container_status(pod, "setup")
    assert setup["restartCount"] >= 1
    assert setup["lastState"]["terminated"]["exitCode"] == 1
    assert container_status(pod, "main")["state"]["waiting"]["reason"] == "PodInitializing"
    initialized = next(c for c in pod["status"]["conditions"] if c["type"] == "Initialized")
    assert initialized["status"] == "False" and "setup" in initialized["message"]
    table = api.get(
        f"/api/v1/namespaces/{namespace}/pods/blocked",
        headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"},
    ).json()
    assert table["rows"][0]["cells"][2] == "Init:CrashLoopBackOff"


def test_image_that_cannot_be_pulled(
    kubelet: KubeletProcess, api: httpx.Client, namespace: str
) -> None:
    # A registry on a closed loopback port: the pull fails at once, and nothing
    # leaves this machine.
    image = "127.0.0.1:9/minik-test/does-not-exist:1"
    container = {"name": "app", "image": image}
    since = pods_version(api, namespace)
    create_pod(api, namespace, pod_manifest("nopull", kubelet.node, [container]))

    def reason(pod: dict) -> str:
        return ((container_status(pod, "app").get("state") or {}).get("waiting") or {}).get(
            "reason", ""
        )

    # ErrImagePull may last only until the next sync: watched, not polled.
    seen = watch_pod(api, namespace, "nopull", since, lambda p: reason(p) == "ImagePullBackOff")
    failed = [p for p in seen if reason(p) == "ErrImagePull"]
    assert failed, [reason(p) for p in seen]
    assert "127.0.0.1:9" in container_status(failed[0], "app")["state"]["waiting"]["message"]

    # Events are written beside the status, not before it: give them a moment.
    def pull_events() -> bool:
        reasons = {e["reason"] for e in events_for(api, namespace, "nopull")}
        assert {"Pulling", "Failed", "BackOff"} <= reasons, reasons
        return True

    eventually(pull_events, timeout=15, interval=0.3)
    assert phase(get := api.get(f"/api/v1/namespaces/{namespace}/pods/nopull").json()) == "Pending"
    assert get["status"]["containerStatuses"][0]["ready"] is False


def test_never_pull_policy_and_missing_image(
    kubelet: KubeletProcess, api: httpx.Client, namespace: str
) -> None:
    container = {"name": "app", "image": "minik-test/absent:1", "imagePullPolicy": "Never"}
    create_pod(api, namespace, pod_manifest("never", kubelet.node, [container]))
    pod = wait_pod(
        api,
        namespace,
        "never",
        lambda p: (
            (container_status(p, "app").get("state") or {}).get("waiting", {}).get("reason")
            == "ErrImageNeverPull"
        ),
        20,
    )
    message = container_status(pod, "app")["state"]["waiting"]["message"]
    assert message == (
        'Container image "minik-test/absent:1" is not present with pull policy of Never'
    )


def test_host_port_is_published_on_the_node_ip(
    kubelet: KubeletProcess, api: httpx.Client, namespace: str, busybox: str
) -> None:
    from deploy.processes import free_port

    port = free_port()
    container = {
        "name": "web",
        "image": busybox,
        "command": ["sh", "-c", "echo published > /tmp/index.html; httpd -f -p 8080 -h /tmp"],
        "ports": [{"containerPort": 8080, "hostPort": port}],
    }
    create_pod(api, namespace, pod_manifest("hostport", kubelet.node, [container]))
    wait_pod(api, namespace, "hostport", is_ready, what="Ready")
    r = eventually(
        lambda: httpx.get(f"http://127.0.0.1:{port}/", timeout=2),
        timeout=5,
        interval=0.2,
        retry_on=(httpx.HTTPError,),
    )
    assert r.text == "published\n"


def test_host_pid_and_host_ipc_give_every_container_the_hosts_namespaces(
    kubelet: KubeletProcess, api: httpx.Client, namespace: str, busybox: str
) -> None:
    """`kubectl debug node/...` asks for both: each container, the sandbox's joiners
    and a pod's one container alike, sees the host's processes and IPC; a pod
    without them keeps its own."""
    sleeper = {"name": "a", "image": busybox, "command": ["sleep", "3600"]}
    pods = {
        "host-ns": pod_manifest(
            "host-ns", kubelet.node, [sleeper, {**sleeper, "name": "b"}], hostPID=True, hostIPC=True
        ),
        "host-ns-one": pod_manifest(
            "host-ns-one",
            kubelet.node,
            [sleeper],
            hostPID=True,
            hostIPC=True,
            restartPolicy="Never",
        ),
        "own-ns": pod_manifest("own-ns", kubelet.node, [sleeper]),
    }
    for manifest in pods.values():
        create_pod(api, namespace, manifest)
    dock = docker.from_env().api

    def namespaces(pod: dict, container: str) -> tuple[str, str]:
        script = "readlink /proc/self/ns/pid; readlink /proc/self/ns/ipc"
        exec_id = dock.exec_create(docker_id(pod, container), ["sh", "-c", script])["Id"]
        out = dock.exec_start(exec_id).decode()
        pid, ipc = out.split()
        return pid, ipc

    host = (os.readlink("/proc/self/ns/pid"), os.readlink("/proc/self/ns/ipc"))
    running = {name: wait_pod(api, namespace, name, is_ready, what="Ready") for name in pods}
    assert namespaces(running["host-ns"], "a") == host
    assert namespaces(running["host-ns"], "b") == host
    assert namespaces(running["host-ns-one"], "a") == host
    own_pid, own_ipc = namespaces(running["own-ns"], "a")
    assert own_pid != host[0] and own_ipc != host[1]
