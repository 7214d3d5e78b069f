"""ConfigMaps and Secrets a pod consumes: which it refers to, where the kubelet reads
them, and what they become (environment variables, volume files).

The kubelet watches each ConfigMap and Secret its pods use (kubelet/objectwatch.py)
and reads them from there; an object the cache does not have yet is asked for with a
GET, so a pod created right after its ConfigMap does not fail on watch lag. The
rest of this module is pure: it works on `ConfigData`, a map (kind, name) → object, or
None for one that does not exist. Errors are worded as Kubernetes' kubelet words them
(`configmap "x" not found`, `couldn't find key k in ConfigMap ns/x`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from api import configdata as payload
from api.errors import ApiError, NotFound
from api.resources import CONFIGMAPS, SECRETS
from client.rest import AsyncClient
from kubelet.objectwatch import ObjectWatches

Ref = tuple[str, str]  # (kind, name)
ConfigData = Mapping[Ref, dict[str, Any] | None]
_VOLUME_KINDS = {"configMap": ("ConfigMap", "name"), "secret": ("Secret", "secretName")}


class ConfigDataError(Exception):
    """A ConfigMap or Secret (or one of its keys) a container needs is missing."""


def not_found(kind: str, name: str) -> str:
    """The kubelet's object managers say `configmap "x"` / `secret "x"` (singular)."""
    return f'{kind.lower()} "{name}" not found'


def references(pod: dict[str, Any]) -> set[Ref]:
    """Every ConfigMap and Secret the pod's env, envFrom and volumes name."""
    spec = pod.get("spec") or {}
    refs: set[Ref] = set()
    for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        for entry in container.get("env") or []:
            source = entry.get("valueFrom") or {}
            if (source.get("configMapKeyRef") or {}).get("name"):
                refs.add(("ConfigMap", source["configMapKeyRef"]["name"]))
            if (source.get("secretKeyRef") or {}).get("name"):
                refs.add(("Secret", source["secretKeyRef"]["name"]))
        for entry in container.get("envFrom") or []:
            if (entry.get("configMapRef") or {}).get("name"):
                refs.add(("ConfigMap", entry["configMapRef"]["name"]))
            if (entry.get("secretRef") or {}).get("name"):
                refs.add(("Secret", entry["secretRef"]["name"]))
    for volume in spec.get("volumes") or []:
        ref = volume_ref(volume)
        if ref is not None:
            refs.add(ref)
        refs.update(projected_refs(volume))
    return refs


TOKEN = "ServiceAccountToken"  # the ConfigData kind of a projected token (kubelet/tokens)


def projected_refs(volume: dict[str, Any]) -> list[Ref]:
    """What a projected volume's sources read: ConfigMaps, Secrets and tokens."""
    from kubelet.tokens import token_key

    refs: list[Ref] = []
    for source in (volume.get("projected") or {}).get("sources") or []:
        if isinstance(source.get("configMap"), dict):
            refs.append(("ConfigMap", source["configMap"].get("name") or ""))
        elif isinstance(source.get("secret"), dict):
            refs.append(("Secret", source["secret"].get("name") or ""))
        elif isinstance(source.get("serviceAccountToken"), dict):
            refs.append((TOKEN, token_key(source["serviceAccountToken"])))
    return refs


def volume_ref(volume: dict[str, Any]) -> Ref | None:
    for source, (kind, name_field) in _VOLUME_KINDS.items():
        if isinstance(volume.get(source), dict):
            return kind, volume[source].get(name_field) or ""
    return None


# ---- environment ------------------------------------------------------------------------


def key_ref_value(
    namespace: str, kind: str, ref: dict[str, Any], config_data: ConfigData
) -> str | None:
    """The value of a configMapKeyRef / secretKeyRef; None when it is optional and
    missing (the variable is then left out)."""
    name, key, optional = ref.get("name") or "", ref.get("key") or "", bool(ref.get("optional"))
    obj = config_data.get((kind, name))
    if obj is None:
        if optional:
            return None
        raise ConfigDataError(not_found(kind, name))
    data = obj.get("data") or {}
    if key not in data:
        if optional:
            return None
        raise ConfigDataError(f"couldn't find key {key} in {kind} {namespace}/{name}")
    return _text(kind, data[key])


def env_from(
    namespace: str, container: dict[str, Any], config_data: ConfigData, warnings: list[str]
) -> dict[str, str]:
    """The variables of `envFrom`, later sources overriding earlier ones. Keys that are
    not valid variable names are skipped, with a warning as Kubernetes' kubelet emits
    (event reason InvalidEnvironmentVariableNames)."""
    env: dict[str, str] = {}
    for entry in container.get("envFrom") or []:
        prefix = entry.get("prefix") or ""
        for field, kind, label in (
            ("configMapRef", "ConfigMap", "configMap"),
            ("secretRef", "Secret", "secret"),
        ):
            ref = entry.get(field)
            if not isinstance(ref, dict):
                continue
            name = ref.get("name") or ""
            obj = config_data.get((kind, name))
            if obj is None:
                if ref.get("optional"):
                    continue
                raise ConfigDataError(not_found(kind, name))
            invalid = []
            for key, value in (obj.get("data") or {}).items():
                if not is_env_name(prefix + key):
                    invalid.append(prefix + key)
                    continue
                env[prefix + key] = _text(kind, value)
            if invalid:
                warnings.append(
                    f"Keys [{', '.join(sorted(invalid))}] from the EnvFrom {label} "
                    f"{namespace}/{name} were skipped since they are considered invalid "
                    "environment variable names."
                )
    return env


def is_env_name(name: str) -> bool:
    """The rule minik's API applies to `env[].name` (Kubernetes' relaxed one, the
    default since 1.32): printable ASCII other than '='."""
    return bool(name) and "=" not in name and all(" " <= ch <= "~" for ch in name)


def _text(kind: str, value: Any) -> str:
    if kind == "Secret":
        return payload.decode(value).decode("utf-8", errors="replace")
    return str(value)


# ---- volumes ----------------------------------------------------------------------------


def volume_payload(
    namespace: str, volume: dict[str, Any], config_data: ConfigData
) -> dict[str, tuple[bytes, int]]:
    """The files of a configMap/secret volume: relative path → (content, mode). A
    missing object gives no files when `optional`, else ConfigDataError."""
    source_field = "configMap" if "configMap" in volume else "secret"
    source = volume.get(source_field) or {}
    kind, name = volume_ref(volume) or ("ConfigMap", "")
    optional = bool(source.get("optional"))
    default_mode = source.get("defaultMode")
    default_mode = 0o644 if default_mode is None else int(default_mode)
    obj = config_data.get((kind, name))
    if obj is None:
        if optional:
            return {}
        raise ConfigDataError(not_found(kind, name))
    values = payload.items(kind, obj)
    items = source.get("items")
    if not items:
        return {key: (value, default_mode) for key, value in values.items()}
    files: dict[str, tuple[bytes, int]] = {}
    for item in items:
        key = item.get("key") or ""
        if key not in values:
            if optional:
                continue
            what = (
                "configmap references non-existent config key"
                if kind == "ConfigMap"
                else ("references non-existent secret key")
            )
            raise ConfigDataError(f"{what}: {key}")
        mode = item.get("mode")
        files[item.get("path") or key] = (values[key], default_mode if mode is None else int(mode))
    return files


def projected_payload(
    pod: dict[str, Any],
    volume: dict[str, Any],
    config_data: ConfigData,
    field_value: Any,
) -> dict[str, tuple[bytes, int]]:
    """The files of a projected volume: each source's files in one directory (configMap
    and secret as their own volumes would hold them, downwardAPI fieldRef values, the
    pod's ServiceAccount token). `field_value(pod, path)` reads a downward API field."""
    from kubelet.tokens import token_key

    namespace = (pod.get("metadata") or {}).get("namespace") or ""
    projected = volume.get("projected") or {}
    default_mode = projected.get("defaultMode")
    default_mode = 0o644 if default_mode is None else int(default_mode)
    files: dict[str, tuple[bytes, int]] = {}
    for source in projected.get("sources") or []:
        for kind_field in ("configMap", "secret"):
            if isinstance(source.get(kind_field), dict):
                sub = dict(source[kind_field])
                if kind_field == "secret":
                    sub["secretName"] = sub.pop("name", "")
                sub.setdefault("defaultMode", default_mode)
                files.update(volume_payload(namespace, {kind_field: sub}, config_data))
        if isinstance(source.get("downwardAPI"), dict):
            for item in source["downwardAPI"].get("items") or []:
                ref = item.get("fieldRef")
                if not isinstance(ref, dict):
                    raise ConfigDataError(f"downwardAPI item {item.get('path')}: only fieldRef")
                mode = item.get("mode")
                value = field_value(pod, ref.get("fieldPath") or "")
                files[item.get("path") or ""] = (
                    value.encode(),
                    default_mode if mode is None else int(mode),
                )
        if isinstance(source.get("serviceAccountToken"), dict):
            token_source = source["serviceAccountToken"]
            token = config_data.get((TOKEN, token_key(token_source)))
            if token is None or not token.get("token"):
                raise ConfigDataError(
                    "failed to fetch token: "
                    + str((token or {}).get("error") or "the token request failed")
                )
            files[token_source.get("path") or "token"] = (token["token"].encode(), default_mode)
    return files


# ---- reading them -----------------------------------------------------------------------


class ConfigDataCache:
    """The watched ConfigMaps and Secrets of this node's pods, with a GET for what
    the watches do not have yet."""

    def __init__(self, api: AsyncClient, on_change: Callable[[str, dict[str, Any]], None]) -> None:
        from kubelet.tokens import TokenManager

        self.api = api
        self.tokens = TokenManager(api)
        self.watches = ObjectWatches(api, on_change)

    def track(self, pod: dict[str, Any]) -> None:
        """Watch what `pod` uses (again, after a spec change)."""
        md = pod.get("metadata") or {}
        self.watches.track(md.get("uid") or "", md.get("namespace") or "", references(pod))

    def untrack(self, pod: dict[str, Any]) -> None:
        self.watches.untrack((pod.get("metadata") or {}).get("uid") or "")

    async def stop(self) -> None:
        await self.watches.stop()

    async def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        obj = self.watches.cached(kind, namespace, name)
        if obj is not None:
            return obj
        try:
            return await self.api.get(
                CONFIGMAPS if kind == "ConfigMap" else SECRETS, name, namespace
            )
        except NotFound:
            return None

    async def for_pod(self, pod: dict[str, Any]) -> dict[Ref, dict[str, Any] | None]:
        namespace = (pod.get("metadata") or {}).get("namespace") or ""
        found: dict[Ref, dict[str, Any] | None] = {}
        for kind, name in references(pod):
            if kind == TOKEN:
                found[(kind, name)] = await self._token(pod, name)
            else:
                found[(kind, name)] = await self.get(kind, namespace, name)
        return found

    async def _token(self, pod: dict[str, Any], key: str) -> dict[str, Any]:
        from kubelet.tokens import parse_token_key

        audience, seconds = parse_token_key(key)
        try:
            return await self.tokens.get(pod, audience, seconds)
        except ApiError as err:
            return {"error": str(err)}
