"""The other core/v1 kinds (pkg/apis/core/validation): Services, Endpoints,
ConfigMaps, Secrets, Nodes, Namespaces, Events, PersistentVolumes and
PersistentVolumeClaims."""

from __future__ import annotations

import copy
import ipaddress
import json
import re
from typing import Any

from api import configdata
from api import labels as lbl
from api.storage import ACCESS_MODES, RECLAIM_POLICIES, VOLUME_MODES, storage_size
from api.taints import EFFECTS
from api.validation.field import (
    CIDR_ERROR,
    IMMUTABLE,
    IP_ERROR,
    Cause,
    as_dict,
    as_int,
    as_list,
    as_str,
    duplicate,
    forbidden,
    invalid,
    invalid_each,
    is_cidr,
    is_ip,
    not_supported,
    one_of,
    required,
    too_long,
)
from api.validation.meta import finalizer_errors, validate_label_selector, validate_labels
from api.validation.pods import (
    HOST_PATH_TYPES,
    PROTOCOLS,
    check_quantity,
    comparable,
    port_num_or_name,
    port_number,
)

_SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")


def _cluster_ips(spec: dict) -> list[str]:
    ips = [as_str(ip) for ip in as_list(spec.get("clusterIPs"))]
    if not ips and as_str(spec.get("clusterIP")):
        ips = [as_str(spec.get("clusterIP"))]
    return ips


def _service_port(port: dict, path: str, require_name: bool, names: set[str]) -> list[Cause]:
    causes: list[Cause] = []
    name = as_str(port.get("name"))
    if require_name and not name:
        causes.append(required(f"{path}.name"))
    elif name:
        causes += invalid_each(f"{path}.name", name, lbl.dns1123_label_errors(name))
        if name in names:
            causes.append(duplicate(f"{path}.name", name))
        names.add(name)
    causes += port_number(f"{path}.port", port.get("port"))
    causes += one_of(f"{path}.protocol", port.get("protocol"), PROTOCOLS)
    causes += port_num_or_name(f"{path}.targetPort", port.get("targetPort"))
    return causes


def _service_cluster_ips(spec: dict) -> list[Cause]:
    causes: list[Cause] = []
    cluster_ip, ips = (
        as_str(spec.get("clusterIP")),
        [as_str(i) for i in as_list(spec.get("clusterIPs"))],
    )
    if cluster_ip and ips and ips[0] != cluster_ip:
        causes.append(invalid("spec.clusterIPs", ips, "first value must match `clusterIP`"))
    elif not cluster_ip and ips:
        causes.append(
            invalid("spec.clusterIPs", ips, "must be empty when `clusterIP` is not specified")
        )
    seen: set[str] = set()
    for i, family in enumerate(as_list(spec.get("ipFamilies"))):
        if family not in ("IPv4", "IPv6"):
            causes.append(not_supported(f"spec.ipFamilies[{i}]", family, ("IPv4", "IPv6")))
        if family in seen:
            causes.append(duplicate(f"spec.ipFamilies[{i}]", family))
        seen.add(family)
    policy = spec.get("ipFamilyPolicy")
    policies = ("PreferDualStack", "RequireDualStack", "SingleStack")
    if policy is not None and policy not in policies:
        causes.append(not_supported("spec.ipFamilyPolicy", policy, policies))
    for i, ip in enumerate(_cluster_ips(spec)):
        if i == 0 and ip == "None":
            if len(_cluster_ips(spec)) > 1:
                causes.append(
                    invalid(
                        "spec.clusterIPs",
                        _cluster_ips(spec),
                        "'None' must be the first and only value",
                    )
                )
        elif not is_ip(ip):
            causes.append(invalid(f"spec.clusterIPs[{i}]", ip, IP_ERROR))
    if len(_cluster_ips(spec)) > 2:
        causes.append(
            invalid("spec.clusterIPs", _cluster_ips(spec), "may only hold up to 2 values")
        )
    return causes


def validate_service(obj: dict) -> list[Cause]:
    spec = as_dict(obj.get("spec"))
    svc_type = spec.get("type")
    ports = [as_dict(p) for p in as_list(spec.get("ports"))]
    ips = _cluster_ips(spec)
    headless = ips == ["None"]
    causes: list[Cause] = []
    if not ports and not headless and svc_type != "ExternalName":
        causes.append(required("spec.ports"))
    if svc_type in ("LoadBalancer", "NodePort") and headless:
        causes.append(
            invalid(
                "spec.clusterIPs[0]", "None", f"may not be set to 'None' for {svc_type} services"
            )
        )
    if svc_type == "ExternalName":
        for key in ("clusterIPs", "ipFamilies"):
            if as_list(spec.get(key)) or (key == "clusterIPs" and ips):
                causes.append(forbidden(f"spec.{key}", "may not be set for ExternalName services"))
        if spec.get("ipFamilyPolicy") is not None:
            causes.append(
                forbidden("spec.ipFamilyPolicy", "may not be set for ExternalName services")
            )
        cname = as_str(spec.get("externalName")).removesuffix(".")
        if cname:
            causes += invalid_each("spec.externalName", cname, lbl.dns1123_subdomain_errors(cname))
        else:
            causes.append(required("spec.externalName"))
    names: set[str] = set()
    for i, port in enumerate(ports):
        causes += _service_port(port, f"spec.ports[{i}]", len(ports) > 1, names)
    if spec.get("selector") is not None:
        causes += validate_labels(spec.get("selector"), "spec.selector")
    affinity = spec.get("sessionAffinity")
    causes += one_of("spec.sessionAffinity", affinity, ("ClientIP", "None"))
    config = spec.get("sessionAffinityConfig")
    if affinity == "ClientIP":
        timeout = as_dict(as_dict(config).get("clientIP")).get("timeoutSeconds")
        seconds = as_int(timeout)
        if seconds is None or not 0 < seconds <= 86400:
            causes.append(
                invalid(
                    "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
                    timeout,
                    "must be greater than 0 and less than 86400",
                )
            )
    elif affinity == "None" and config is not None:
        causes.append(
            forbidden("spec.sessionAffinityConfig", "must not be set when session affinity is None")
        )
    if svc_type != "ExternalName":
        causes += _service_cluster_ips(spec)
    for i, ip in enumerate(as_list(spec.get("externalIPs"))):
        if not is_ip(as_str(ip)):
            causes.append(invalid(f"spec.externalIPs[{i}]", as_str(ip), IP_ERROR))
    causes += one_of("spec.type", svc_type, _SERVICE_TYPES)
    node_ports: set[tuple[str, int]] = set()
    port_keys: set[tuple[str, Any]] = set()
    for i, port in enumerate(ports):
        node_port = port.get("nodePort")
        if node_port:
            if svc_type == "ClusterIP":
                causes.append(
                    forbidden(
                        f"spec.ports[{i}].nodePort", "may not be used when `type` is 'ClusterIP'"
                    )
                )
            node_port_key = (as_str(port.get("protocol")), node_port)
            if node_port_key in node_ports:
                causes.append(duplicate(f"spec.ports[{i}].nodePort", node_port))
            node_ports.add(node_port_key)
        port_key = (as_str(port.get("protocol")), port.get("port"))
        if port_key in port_keys:
            causes.append(
                duplicate(f"spec.ports[{i}]", {"port": port.get("port"), "protocol": port_key[0]})
            )
        port_keys.add(port_key)
    ranges = as_list(spec.get("loadBalancerSourceRanges"))
    if ranges and svc_type != "LoadBalancer":
        causes.append(
            forbidden(
                "spec.loadBalancerSourceRanges", "may only be used when `type` is 'LoadBalancer'"
            )
        )
    for i, cidr in enumerate(ranges):
        if not is_cidr(as_str(cidr).strip()):
            causes.append(invalid(f"spec.loadBalancerSourceRanges[{i}]", as_str(cidr), CIDR_ERROR))
    allocate = spec.get("allocateLoadBalancerNodePorts")
    if allocate is not None and svc_type != "LoadBalancer":
        causes.append(
            forbidden(
                "spec.allocateLoadBalancerNodePorts",
                "may only be used when `type` is 'LoadBalancer'",
            )
        )
    if svc_type == "LoadBalancer" and allocate is None:
        causes.append(required("spec.allocateLoadBalancerNodePorts"))
    external = svc_type in ("NodePort", "LoadBalancer") or (
        svc_type == "ClusterIP" and bool(as_list(spec.get("externalIPs")))
    )
    etp = spec.get("externalTrafficPolicy")
    if external:
        causes += one_of("spec.externalTrafficPolicy", etp, ("Cluster", "Local"))
    elif etp not in (None, ""):
        causes.append(
            invalid(
                "spec.externalTrafficPolicy",
                etp,
                "may only be set for externally-accessible services",
            )
        )
    itp = spec.get("internalTrafficPolicy")
    if itp is None and svc_type in ("ClusterIP", "NodePort", "LoadBalancer"):
        causes.append(required("spec.internalTrafficPolicy"))
    elif itp is not None and itp not in ("Cluster", "Local"):
        causes.append(not_supported("spec.internalTrafficPolicy", itp, ("Cluster", "Local")))
    return causes


def validate_service_update(new: dict, old: dict) -> list[Cause]:
    """An allocated cluster IP may not change (it may be set once, from empty)."""
    nspec, ospec = as_dict(new.get("spec")), as_dict(old.get("spec"))
    if "ExternalName" in (nspec.get("type"), ospec.get("type")):
        return []
    new_ips, old_ips = _cluster_ips(nspec), _cluster_ips(ospec)
    if not new_ips or (new_ips == ["None"] and old_ips == ["None"]):
        return []  # none given: the server keeps the allocated one, as Kubernetes does
    path = "spec.clusterIPs"
    if len(new_ips) == len(old_ips):
        return [
            invalid(f"{path}[{i}]", new_ips, "may not change once set")
            for i, ip in enumerate(old_ips)
            if ip != new_ips[i]
        ]
    if len(old_ips) > len(new_ips):
        if new_ips[0] != old_ips[0]:
            return [invalid(f"{path}[0]", new_ips, "may not change once set")]
        return []
    if old_ips and new_ips[0] != old_ips[0]:
        return [invalid(f"{path}[0]", new_ips, "may not change once set")]
    return []


def validate_endpoints(obj: dict) -> list[Cause]:
    causes: list[Cause] = []
    for i, subset in enumerate(as_list(obj.get("subsets"))):
        p, subset = f"subsets[{i}]", as_dict(subset)
        if not as_list(subset.get("addresses")) and not as_list(subset.get("notReadyAddresses")):
            causes.append(required(p, "must specify `addresses` or `notReadyAddresses`"))
        for key in ("addresses", "notReadyAddresses"):
            for j, address in enumerate(as_list(subset.get(key))):
                ap, address = f"{p}.{key}[{j}]", as_dict(address)
                ip = as_str(address.get("ip"))
                if not ip:
                    causes.append(required(f"{ap}.ip"))
                elif not is_ip(ip):
                    causes.append(invalid(f"{ap}.ip", ip, IP_ERROR))
                hostname = as_str(address.get("hostname"))
                if hostname:
                    causes += invalid_each(
                        f"{ap}.hostname", hostname, lbl.dns1123_label_errors(hostname)
                    )
                node = address.get("nodeName")
                if node is not None:
                    causes += invalid_each(
                        f"{ap}.nodeName", as_str(node), lbl.dns1123_subdomain_errors(as_str(node))
                    )
        ports = [as_dict(port) for port in as_list(subset.get("ports"))]
        for j, port in enumerate(ports):
            pp = f"{p}.ports[{j}]"
            name = as_str(port.get("name"))
            if len(ports) > 1 and not name:
                causes.append(required(f"{pp}.name"))
            elif name:
                causes += invalid_each(f"{pp}.name", name, lbl.dns1123_label_errors(name))
            causes += port_number(f"{pp}.port", port.get("port"))
            causes += one_of(f"{pp}.protocol", port.get("protocol"), PROTOCOLS)
    return causes


MAX_SECRET_SIZE = 1024 * 1024  # core.MaxSecretSize, for ConfigMaps too
_CONFIG_KEY = re.compile(r"[-._a-zA-Z0-9]+")
_CONFIG_KEY_FMT = "[-._a-zA-Z0-9]+"
_CONFIG_KEY_MSG = "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"
IMMUTABLE_WHEN_SET = "field is immutable when `immutable` is set"
# Secret type -> the data keys it requires (all of them, or, for basic-auth, either)
_SECRET_TYPE_KEYS = {
    "kubernetes.io/tls": ("tls.crt", "tls.key"),
    "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
    "kubernetes.io/dockercfg": (".dockercfg",),
    "kubernetes.io/ssh-auth": ("ssh-privatekey",),
}
_JSON_KEYS = (".dockerconfigjson", ".dockercfg")


def config_key_errors(key: str) -> list[str]:
    """apimachinery's IsConfigMapKey."""
    errs = []
    if len(key) > 253:
        errs.append(lbl.max_len_error(253))
    if not _CONFIG_KEY.fullmatch(key):
        errs.append(
            lbl.regex_error(_CONFIG_KEY_MSG, _CONFIG_KEY_FMT, "key.name", "KEY_NAME", "key-name")
        )
    if key in (".", ".."):
        errs.append(f"must not be '{key}'")
    elif key.startswith(".."):
        errs.append("must not start with '..'")
    return errs


def _config_keys(obj: dict, field: str) -> list[Cause]:
    causes = []
    for key in sorted(as_dict(obj.get(field))):
        causes += [invalid(f"{field}[{key}]", key, m) for m in config_key_errors(key)]
    return causes


def validate_configmap(obj: dict) -> list[Cause]:
    causes = _config_keys(obj, "data") + _config_keys(obj, "binaryData")
    binary = as_dict(obj.get("binaryData"))
    for key in sorted(as_dict(obj.get("data"))):
        if key in binary:
            causes.append(invalid(f"data[{key}]", key, "duplicate of key present in binaryData"))
    if configdata.size("ConfigMap", obj) > MAX_SECRET_SIZE:
        causes.append(too_long("", MAX_SECRET_SIZE))
    return causes


def validate_secret(obj: dict) -> list[Cause]:
    causes = _config_keys(obj, "data")
    data = as_dict(obj.get("data"))
    if configdata.size("Secret", obj) > MAX_SECRET_SIZE:
        causes.append(too_long("data", MAX_SECRET_SIZE))
    kind = as_str(obj.get("type"))
    if kind == "kubernetes.io/service-account-token":
        annotations = as_dict(as_dict(obj.get("metadata")).get("annotations"))
        if not as_str(annotations.get("kubernetes.io/service-account.name")):
            causes.append(required("metadata.annotations[kubernetes.io/service-account.name]"))
    elif kind == "kubernetes.io/basic-auth" and "username" not in data and "password" not in data:
        causes += [required("data[username]"), required("data[password]")]
    for key in _SECRET_TYPE_KEYS.get(kind, ()):
        if key not in data or (key == "ssh-privatekey" and not data[key]):
            causes.append(required(f"data[{key}]"))
        elif key in _JSON_KEYS:
            try:
                ok = isinstance(json.loads(configdata.decode(data[key]) or b"null"), dict)
            except ValueError as err:
                causes.append(invalid(f"data[{key}]", "<secret contents redacted>", str(err)))
                continue
            if not ok:
                causes.append(
                    invalid(
                        f"data[{key}]",
                        "<secret contents redacted>",
                        "json: cannot unmarshal into Go value of type map[string]interface {}",
                    )
                )
    return causes


def _immutable_data(new: dict, old: dict, fields: tuple[str, ...]) -> list[Cause]:
    if old.get("immutable") is not True:
        return []
    causes = []
    if new.get("immutable") is not True:
        causes.append(forbidden("immutable", IMMUTABLE_WHEN_SET))
    for field in fields:
        if (new.get(field) or {}) != (old.get(field) or {}):
            causes.append(forbidden(field, IMMUTABLE_WHEN_SET))
    return causes


def validate_configmap_update(new: dict, old: dict) -> list[Cause]:
    return _immutable_data(new, old, ("data", "binaryData"))


def validate_secret_update(new: dict, old: dict) -> list[Cause]:
    causes = []
    if new.get("type") != old.get("type"):
        causes.append(invalid("type", as_str(new.get("type")), IMMUTABLE))
    return causes + _immutable_data(new, old, ("data",))


def validate_node(obj: dict) -> list[Cause]:
    spec = as_dict(obj.get("spec"))
    causes: list[Cause] = []
    seen: set[tuple[str, str]] = set()
    for i, taint in enumerate(as_list(spec.get("taints"))):
        p, taint = f"spec.taints[{i}]", as_dict(taint)
        key, value, effect = (
            as_str(taint.get("key")),
            as_str(taint.get("value")),
            taint.get("effect"),
        )
        causes += invalid_each(f"{p}.key", key, lbl.label_key_errors(key))
        errs = lbl.label_value_errors(value)
        if errs:
            causes.append(invalid(f"{p}.value", value, ";".join(errs)))
        causes += one_of(f"{p}.effect", effect, EFFECTS)
        if (key, as_str(effect)) in seen:
            causes.append(duplicate(p, taint, "taints must be unique by key and effect pair"))
        seen.add((key, as_str(effect)))
    cidrs = [as_str(c) for c in as_list(spec.get("podCIDRs"))]
    for i, cidr in enumerate(cidrs):
        if not is_cidr(cidr):
            causes.append(invalid(f"spec.podCIDRs[{i}]", cidr, CIDR_ERROR))
    if len(cidrs) > 1 and all(is_cidr(c) for c in cidrs):
        families = {ipaddress.ip_network(c, strict=False).version for c in cidrs}
        if len(cidrs) > 2 or len(families) != len(cidrs):
            causes.append(
                invalid(
                    "spec.podCIDRs", cidrs, "may specify no more than one CIDR for each IP family"
                )
            )
    if as_str(spec.get("podCIDR")) and not is_cidr(as_str(spec.get("podCIDR"))):
        causes.append(invalid("spec.podCIDR", as_str(spec.get("podCIDR")), CIDR_ERROR))
    status = as_dict(obj.get("status"))
    for key in ("capacity", "allocatable"):
        for name, value in as_dict(status.get(key)).items():
            check_quantity(f"status.{key}.{name}", value, causes)
    return causes


def validate_node_update(new: dict, old: dict) -> list[Cause]:
    nspec, ospec = as_dict(new.get("spec")), as_dict(old.get("spec"))
    causes: list[Cause] = []
    # set once, by the node IPAM controller or the kubelet: Kubernetes' rule and words
    old_cidrs = as_list(ospec.get("podCIDRs")) or [c for c in [ospec.get("podCIDR")] if c]
    new_cidrs = as_list(nspec.get("podCIDRs")) or [c for c in [nspec.get("podCIDR")] if c]
    if old_cidrs and old_cidrs != new_cidrs:
        causes.append(
            forbidden(
                "spec.podCIDRs", 'node updates may not change podCIDR except from "" to valid'
            )
        )
    old_provider = as_str(ospec.get("providerID"))
    if old_provider and old_provider != as_str(nspec.get("providerID")):
        causes.append(
            forbidden(
                "spec.providerID", 'node updates may not change providerID except from "" to valid'
            )
        )
    return causes


def validate_namespace(obj: dict) -> list[Cause]:
    causes: list[Cause] = []
    for fin in as_list(as_dict(obj.get("spec")).get("finalizers")):
        causes += invalid_each("spec.finalizers", as_str(fin), finalizer_errors(as_str(fin)))
    return causes


def validate_event(obj: dict) -> list[Cause]:
    """Kubernetes' legacy (core/v1) event rule: the event lives in its object's
    namespace ("default" or none for cluster-scoped objects)."""
    namespace = as_str(as_dict(obj.get("metadata")).get("namespace"))
    involved = as_str(as_dict(obj.get("involvedObject")).get("namespace"))
    if (not involved and namespace not in ("", "default")) or (involved and involved != namespace):
        return [invalid("involvedObject.namespace", involved, "does not match event.namespace")]
    return []


# --- PersistentVolumes and PersistentVolumeClaims -----------------------------------------

_PV_SOURCES = ("hostPath", "local")
_NOT_POSITIVE = "must be greater than zero"


def _access_modes(spec: dict, path: str, required_detail: str) -> list[Cause]:
    modes = as_list(spec.get("accessModes"))
    if not modes:
        return [required(path, required_detail)]
    causes = [not_supported(path, mode, ACCESS_MODES) for mode in modes if mode not in ACCESS_MODES]
    if "ReadWriteOncePod" in modes and len(modes) > 1:
        causes.append(forbidden(path, "may not use ReadWriteOncePod with other access modes"))
    return causes


def _positive_quantity(path: str, value: Any, causes: list[Cause]) -> None:
    number = check_quantity(path, value, causes)
    if number is not None and number <= 0:
        causes.append(invalid(path, as_str(value), _NOT_POSITIVE))


def _class_name(spec: dict, path: str) -> list[Cause]:
    name = as_str(spec.get("storageClassName"))
    return invalid_each(path, name, lbl.dns1123_subdomain_errors(name)) if name else []


def _pv_node_affinity(spec: dict) -> list[Cause]:
    affinity = spec.get("nodeAffinity")
    if affinity is None:
        return []
    path = "spec.nodeAffinity.required"
    required_terms = as_dict(affinity).get("required")
    if required_terms is None:
        return [required(path, "must specify required node constraints")]
    if not as_list(as_dict(required_terms).get("nodeSelectorTerms")):
        return [required(f"{path}.nodeSelectorTerms", "must have at least one node selector term")]
    return []


def _pv_source(spec: dict) -> list[Cause]:
    sources = [k for k in _PV_SOURCES if spec.get(k) is not None]
    if not sources:
        return [required("spec", "must specify a volume type")]
    causes = [
        forbidden(f"spec.{k}", "may not specify more than 1 volume type") for k in sources[1:]
    ]
    kind, src = sources[0], as_dict(spec[sources[0]])
    path = as_str(src.get("path"))
    if not path:
        causes.append(required(f"spec.{kind}.path"))
    elif ".." in path.split("/"):
        causes.append(invalid(f"spec.{kind}.path", path, "must not contain '..'"))
    if kind == "hostPath" and src.get("type") not in (None, *HOST_PATH_TYPES):
        causes.append(not_supported("spec.hostPath.type", src["type"], HOST_PATH_TYPES))
    if kind == "local" and spec.get("nodeAffinity") is None:
        causes.append(required("spec.nodeAffinity", "Local volume requires node affinity"))
    return causes


def validate_persistent_volume(obj: dict) -> list[Cause]:
    """ValidatePersistentVolumeSpec, for the sources minik serves (hostPath, local)."""
    spec = as_dict(obj.get("spec"))
    causes = _access_modes(spec, "spec.accessModes", "")
    capacity = as_dict(spec.get("capacity"))
    if not capacity:
        causes.append(required("spec.capacity"))
    if "storage" not in capacity or len(capacity) > 1:
        causes.append(not_supported("spec.capacity", capacity, ("storage",)))
    for name, value in capacity.items():
        _positive_quantity(f"spec.capacity[{name}]", value, causes)
    policy = spec.get("persistentVolumeReclaimPolicy")
    if policy and policy not in RECLAIM_POLICIES:
        causes.append(not_supported("spec.persistentVolumeReclaimPolicy", policy, RECLAIM_POLICIES))
    causes += _class_name(spec, "spec.storageClassName")
    if spec.get("volumeMode") and spec["volumeMode"] not in VOLUME_MODES:
        causes.append(not_supported("spec.volumeMode", spec["volumeMode"], VOLUME_MODES))
    return causes + _pv_source(spec) + _pv_node_affinity(spec)


def validate_persistent_volume_update(new: dict, old: dict) -> list[Cause]:
    """ValidatePersistentVolumeUpdate: the source, volumeMode and node affinity stay."""
    nspec, ospec = as_dict(new.get("spec")), as_dict(old.get("spec"))
    causes: list[Cause] = []
    if any(nspec.get(k) != ospec.get(k) for k in _PV_SOURCES):
        causes.append(
            forbidden(
                "spec.persistentvolumesource",
                "spec.persistentvolumesource is immutable after creation",
            )
        )
    if nspec.get("volumeMode") != ospec.get("volumeMode"):
        causes.append(invalid("spec.volumeMode", as_str(nspec.get("volumeMode")), IMMUTABLE))
    if ospec.get("nodeAffinity") is not None and nspec.get("nodeAffinity") != ospec.get(
        "nodeAffinity"
    ):
        causes.append(invalid("spec.nodeAffinity", nspec.get("nodeAffinity"), IMMUTABLE))
    return causes


def validate_persistent_volume_claim(obj: dict) -> list[Cause]:
    """ValidatePersistentVolumeClaimSpec."""
    spec = as_dict(obj.get("spec"))
    causes = _access_modes(spec, "spec.accessModes", "at least 1 access mode is required")
    if spec.get("selector") is not None:
        causes += validate_label_selector(spec["selector"], "spec.selector")
    requests = as_dict(as_dict(spec.get("resources")).get("requests"))
    if "storage" not in requests:
        causes.append(required("spec.resources[storage]"))
    else:
        _positive_quantity("spec.resources[storage]", requests["storage"], causes)
    causes += _class_name(spec, "spec.storageClassName")
    if spec.get("volumeMode") and spec["volumeMode"] not in VOLUME_MODES:
        causes.append(not_supported("spec.volumeMode", spec["volumeMode"], VOLUME_MODES))
    return causes


def validate_persistent_volume_claim_update(new: dict, old: dict) -> list[Cause]:
    """ValidatePersistentVolumeClaimUpdate: the spec is immutable, except that the binder
    sets volumeName once, a claim without a class may get one, and a bound claim may
    ask for more storage (never less)."""
    nspec, ospec = copy.deepcopy(as_dict(new.get("spec"))), as_dict(old.get("spec"))
    if not ospec.get("volumeName"):
        nspec.pop("volumeName", None)
        ospec = {k: v for k, v in ospec.items() if k != "volumeName"}
    if ospec.get("storageClassName") is None:
        nspec.pop("storageClassName", None)
    bound = as_dict(new.get("status")).get("phase") == "Bound"
    new_size = storage_size(as_dict(nspec.get("resources")).get("requests"))
    old_size = storage_size(as_dict(ospec.get("resources")).get("requests"))
    causes: list[Cause] = []
    if bound:
        nspec["resources"] = copy.deepcopy(ospec.get("resources"))
        if new_size is not None and old_size is not None and new_size < old_size:
            causes.append(
                forbidden(
                    "spec.resources.requests.storage", "field can not be less than previous value"
                )
            )
    if comparable(nspec) != comparable(ospec):
        causes.append(
            forbidden(
                "spec",
                "spec is immutable after creation except resources.requests and "
                "volumeAttributesClassName for bound claims",
            )
        )
    return causes
