"""Descriptions of pods, pod templates, deployments and replica sets, as kubectl
lays them out."""

from __future__ import annotations

from api.humanize import age
from api.labels import selector_string
from api.resources import by_kind
from minikctl.context import Context
from minikctl.describe.writer import (
    Obj,
    Writer,
    annotation_lines,
    controlled_by,
    describe_conditions,
    labels_lines,
    title_case,
    when,
)
from minikctl.replicasets import is_controlled_by, owned_replicasets, split


def describe_pod(ctx: Context, w: Writer, pod: Obj) -> None:
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    w.field(0, "Name", meta.get("name", ""))
    w.field(0, "Namespace", meta.get("namespace", ""))
    w.field(0, "Priority", spec.get("priority", 0))
    if spec.get("serviceAccountName"):
        w.field(0, "Service Account", spec["serviceAccountName"])
    node = spec.get("nodeName")
    w.field(0, "Node", f"{node}/{status.get('hostIP', '')}" if node else "<none>")
    if status.get("startTime"):
        w.field(0, "Start Time", when(status["startTime"]))
    w.multiline(0, "Labels", labels_lines(meta.get("labels")))
    w.multiline(0, "Annotations", annotation_lines(meta.get("annotations")))
    phase = status.get("phase", "")
    if meta.get("deletionTimestamp"):
        grace = meta.get("deletionGracePeriodSeconds")
        w.field(0, "Status", f"Terminating (lasts {age(meta['deletionTimestamp'])})")
        w.field(0, "Termination Grace Period", f"{grace}s")
    else:
        w.field(0, "Status", phase)
    if status.get("reason"):
        w.field(0, "Reason", status["reason"])
    if status.get("message"):
        w.field(0, "Message", status["message"])
    w.field(0, "IP", status.get("podIP", ""))
    ips = [i.get("ip") for i in status.get("podIPs") or [] if i.get("ip")]
    if ips:
        w.line(0, "IPs:")
        for ip in ips:
            w.field(1, "IP", ip)
    else:
        w.field(0, "IPs", "<none>")
    if owner := controlled_by(pod):
        w.field(0, "Controlled By", owner)
    statuses = {s.get("name"): s for s in status.get("containerStatuses") or []}
    init_statuses = {s.get("name"): s for s in status.get("initContainerStatuses") or []}
    if spec.get("initContainers"):
        describe_containers(w, "Init Containers", spec["initContainers"], init_statuses)
    describe_containers(w, "Containers", spec.get("containers") or [], statuses)
    describe_conditions(w, status.get("conditions") or [], ["Type", "Status"], dashes=False)
    describe_volumes(w, spec.get("volumes") or [])
    w.field(0, "QoS Class", status.get("qosClass") or qos_class(spec))
    w.multiline(0, "Node-Selectors", labels_lines(spec.get("nodeSelector")))
    w.multiline(0, "Tolerations", [toleration(t) for t in spec.get("tolerations") or []])


def describe_containers(
    w: Writer, title: str, containers: list[Obj], statuses: dict[str, Obj] | None, level: int = 0
) -> None:
    """Containers of a pod (with their status) or of a pod template (`statuses=None`, its
    title at `level` 1). As in kubectl, names sit at level 1 (a template's one space
    further in) and their fields at level 2."""
    w.line(level, f"{title}:")
    space = " " if statuses is None else ""
    for c in containers:
        w.line(1, f"{space}{c.get('name', '')}:")
        st = (statuses or {}).get(c.get("name", ""))
        inner = 2
        if st is not None:
            w.field(inner, "Container ID", st.get("containerID", ""))
        w.field(inner, "Image", c.get("image", ""))
        if st is not None:
            w.field(inner, "Image ID", st.get("imageID", ""))
        ports = c.get("ports") or []
        if ports:
            port_text = ", ".join(
                f"{p.get('containerPort')}/{p.get('protocol', 'TCP')}" for p in ports
            )
            host_text = ", ".join(
                f"{p.get('hostPort', 0)}/{p.get('protocol', 'TCP')}" for p in ports
            )
            label = "Ports" if len(ports) > 1 else "Port"
            w.field(inner, label, port_text)
            w.field(inner, f"Host {label}", host_text)
        else:
            w.field(inner, "Port", "<none>")
            w.field(inner, "Host Port", "<none>")
        for label, key in (("Command", "command"), ("Args", "args")):
            if c.get(key):
                w.line(inner, f"{label}:")
                for part in c[key]:
                    w.line(inner + 1, str(part))
        if st is not None:
            describe_state(w, inner, "State", st.get("state") or {})
            last = st.get("lastState") or {}
            if last.get("terminated"):
                describe_state(w, inner, "Last State", last)
            w.field(inner, "Ready", "True" if st.get("ready") else "False")
            w.field(inner, "Restart Count", st.get("restartCount", 0))
        resources = c.get("resources") or {}
        for label, key in (("Limits", "limits"), ("Requests", "requests")):
            if resources.get(key):
                w.line(inner, f"{label}:")
                for name, value in sorted(resources[key].items()):
                    w.field(inner + 1, name, value)
        for label, key in (
            ("Liveness", "livenessProbe"),
            ("Readiness", "readinessProbe"),
            ("Startup", "startupProbe"),
        ):
            if c.get(key):
                w.field(inner, label, probe(c[key]))
        env = c.get("env") or []
        if env:
            w.line(inner, "Environment:")
            for e in env:
                w.field(inner + 1, e.get("name", ""), env_value(e))
        else:
            w.field(inner, "Environment", "<none>")
        mounts = c.get("volumeMounts") or []
        if mounts:
            w.line(inner, "Mounts:")
            for m in mounts:
                mode = "ro" if m.get("readOnly") else "rw"
                w.line(inner + 1, f"{m.get('mountPath')} from {m.get('name')} ({mode})")
        else:
            w.field(inner, "Mounts", "<none>")


def describe_state(w: Writer, level: int, label: str, state: Obj) -> None:
    if "running" in state:
        w.field(level, label, "Running")
        w.field(level + 1, "Started", when((state["running"] or {}).get("startedAt")))
    elif "terminated" in state:
        t = state["terminated"] or {}
        w.field(level, label, "Terminated")
        if t.get("reason"):
            w.field(level + 1, "Reason", t["reason"])
        if t.get("message"):
            w.field(level + 1, "Message", t["message"])
        w.field(level + 1, "Exit Code", t.get("exitCode", 0))
        if t.get("signal"):
            w.field(level + 1, "Signal", t["signal"])
        w.field(level + 1, "Started", when(t.get("startedAt")))
        w.field(level + 1, "Finished", when(t.get("finishedAt")))
    else:
        w.field(level, label, "Waiting")
        reason = (state.get("waiting") or {}).get("reason")
        if reason:
            w.field(level + 1, "Reason", reason)


def probe(p: Obj) -> str:
    if "httpGet" in p:
        h = p["httpGet"]
        action = (
            f"http-get {h.get('scheme', 'HTTP').lower()}://{h.get('host', '')}:"
            f"{h.get('port')}{h.get('path', '')}"
        )
    elif "tcpSocket" in p:
        action = f"tcp-socket {p['tcpSocket'].get('host', '')}:{p['tcpSocket'].get('port')}"
    elif "exec" in p:
        action = f"exec {(p['exec'] or {}).get('command')}"
    else:
        action = "unknown"
    return (
        f"{action} delay={p.get('initialDelaySeconds', 0)}s "
        f"timeout={p.get('timeoutSeconds', 1)}s period={p.get('periodSeconds', 10)}s "
        f"#success={p.get('successThreshold', 1)} #failure={p.get('failureThreshold', 3)}"
    )


def env_value(e: Obj) -> str:
    if "value" in e:
        return str(e["value"])
    source = e.get("valueFrom") or {}
    if "fieldRef" in source:
        return (
            f"({source['fieldRef'].get('apiVersion', 'v1')}:{source['fieldRef'].get('fieldPath')})"
        )
    if "secretKeyRef" in source:
        ref = source["secretKeyRef"]
        return f"<set to the key '{ref.get('key')}' in secret '{ref.get('name')}'>"
    if "configMapKeyRef" in source:
        ref = source["configMapKeyRef"]
        return f"<set to the key '{ref.get('key')}' of config map '{ref.get('name')}'>"
    return ""


def describe_volumes(w: Writer, volumes: list[Obj], level: int = 0) -> None:
    if not volumes:
        w.field(level, "Volumes", "<none>")
        return
    w.line(level, "Volumes:")
    space = " " if level else ""  # a pod template's volumes, like its containers
    for v in volumes:
        w.line(1, f"{space}{v.get('name')}:")
        kind = next((k for k in v if k != "name"), "")
        source = v.get(kind) or {}
        if kind == "emptyDir":
            w.field(2, "Type", "EmptyDir (a temporary directory that shares a pod's lifetime)")
            w.field(2, "Medium", source.get("medium", ""))
            w.field(2, "SizeLimit", source.get("sizeLimit", "<unset>"))
        elif kind == "hostPath":
            w.field(2, "Type", "HostPath (bare host directory volume)")
            w.field(2, "Path", source.get("path", ""))
            w.field(2, "HostPathType", source.get("type", ""))
        else:
            w.field(2, "Type", kind[:1].upper() + kind[1:])
            for key, value in sorted(source.items()):
                if not isinstance(value, dict | list):
                    w.field(2, title_case(key), value)


def qos_class(spec: Obj) -> str:
    containers = (spec.get("containers") or []) + (spec.get("initContainers") or [])
    requests = [(c.get("resources") or {}).get("requests") or {} for c in containers]
    limits = [(c.get("resources") or {}).get("limits") or {} for c in containers]
    if not any(requests) and not any(limits):
        return "BestEffort"
    guaranteed = all(
        all(lim.get(r) and (req.get(r) in (None, lim.get(r))) for r in ("cpu", "memory"))
        for req, lim in zip(requests, limits, strict=True)
    )
    return "Guaranteed" if guaranteed else "Burstable"


def toleration(t: Obj) -> str:
    text = t.get("key", "")
    if t.get("value"):
        text += f"={t['value']}"
    if t.get("effect"):
        text += f":{t['effect']}"
    if t.get("operator") == "Exists" and not t.get("value"):
        text += " op=Exists"
    if t.get("tolerationSeconds") is not None:
        text += f" for {t['tolerationSeconds']}s"
    return text or "op=Exists"


def describe_template(w: Writer, template: Obj) -> None:
    meta, spec = template.get("metadata") or {}, template.get("spec") or {}
    w.line(0, "Pod Template:")
    w.multiline(1, "Labels", labels_lines(meta.get("labels")))
    if annotation_lines(meta.get("annotations")):
        w.multiline(1, "Annotations", annotation_lines(meta.get("annotations")))
    if spec.get("initContainers"):
        describe_containers(w, "Init Containers", spec["initContainers"], None, level=1)
    describe_containers(w, "Containers", spec.get("containers") or [], None, level=1)
    describe_volumes(w, spec.get("volumes") or [], level=1)
    w.multiline(1, "Node-Selectors", labels_lines(spec.get("nodeSelector")))
    w.multiline(1, "Tolerations", [toleration(t) for t in spec.get("tolerations") or []])


# ---- workloads ---------------------------------------------------------------------------


def describe_deployment(ctx: Context, w: Writer, dep: Obj) -> None:
    meta, spec, status = dep.get("metadata") or {}, dep.get("spec") or {}, dep.get("status") or {}
    w.field(0, "Name", meta.get("name", ""))
    w.field(0, "Namespace", meta.get("namespace", ""))
    w.field(0, "CreationTimestamp", when(meta.get("creationTimestamp")))
    w.multiline(0, "Labels", labels_lines(meta.get("labels")))
    w.multiline(0, "Annotations", annotation_lines(meta.get("annotations")))
    w.field(0, "Selector", selector_string(spec.get("selector")))
    w.field(
        0,
        "Replicas",
        f"{spec.get('replicas', 1)} desired | "
        f"{status.get('updatedReplicas', 0)} updated | "
        f"{status.get('replicas', 0)} total | "
        f"{status.get('availableReplicas', 0)} available | "
        f"{status.get('unavailableReplicas', 0)} unavailable",
    )
    strategy = spec.get("strategy") or {}
    w.field(0, "StrategyType", strategy.get("type", ""))
    w.field(0, "MinReadySeconds", spec.get("minReadySeconds", 0))
    if strategy.get("type", "RollingUpdate") == "RollingUpdate":
        ru = strategy.get("rollingUpdate") or {}
        w.field(
            0,
            "RollingUpdateStrategy",
            f"{ru.get('maxUnavailable', '25%')} max unavailable, "
            f"{ru.get('maxSurge', '25%')} max surge",
        )
    describe_template(w, spec.get("template") or {})
    describe_conditions(w, status.get("conditions") or [], ["Type", "Status", "Reason"])
    # kubectl: every old ReplicaSet (scaled down ones too), and the new one — the oldest
    # whose template equals the deployment's — both printed once there is any
    old, new = split(dep, owned_replicasets(ctx, dep))

    def summary(rs: Obj) -> str:
        return (
            f"{rs['metadata']['name']} ({(rs.get('status') or {}).get('replicas', 0)}/"
            f"{(rs.get('spec') or {}).get('replicas', 0)} replicas created)"
        )

    if old or new:
        w.field(0, "OldReplicaSets", ", ".join(summary(rs) for rs in old) or "<none>")
        w.field(0, "NewReplicaSet", summary(new) if new else "<none>")


def describe_replicaset(ctx: Context, w: Writer, rs: Obj) -> None:
    meta, spec, status = rs.get("metadata") or {}, rs.get("spec") or {}, rs.get("status") or {}
    w.field(0, "Name", meta.get("name", ""))
    w.field(0, "Namespace", meta.get("namespace", ""))
    w.field(0, "Selector", selector_string(spec.get("selector")))
    w.multiline(0, "Labels", labels_lines(meta.get("labels")))
    w.multiline(0, "Annotations", annotation_lines(meta.get("annotations")))
    if owner := controlled_by(rs):
        w.field(0, "Controlled By", owner)
    w.field(
        0, "Replicas", f"{status.get('replicas', 0)} current / {spec.get('replicas', 1)} desired"
    )
    pods_res = by_kind("Pod", "v1")
    phases = {"Running": 0, "Pending": 0, "Succeeded": 0, "Failed": 0}
    if pods_res is not None:
        listing = ctx.client.list(
            pods_res,
            meta.get("namespace"),
            label_selector=selector_string(spec.get("selector")) or None,
        )
        for pod in listing.get("items") or []:
            if is_controlled_by(pod, rs):
                phase = (pod.get("status") or {}).get("phase", "Pending")
                phases[phase] = phases.get(phase, 0) + 1
    w.field(
        0,
        "Pods Status",
        f"{phases['Running']} Running / {phases['Pending']} Waiting / "
        f"{phases['Succeeded']} Succeeded / {phases['Failed']} Failed",
    )
    describe_template(w, spec.get("template") or {})
