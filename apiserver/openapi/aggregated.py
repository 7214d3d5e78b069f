"""The OpenAPI of aggregated APIs, as kube-aggregator publishes it: each APIService's
backend serves its own documents; the apiserver merges them into what it serves, so
`kubectl explain nodemetrics` and kubectl's validation see the aggregated kinds too.

- v2: the backend's whole Swagger document (`/openapi/v2`) joins the apiserver's one
  document: its paths and definitions are added; a definition the apiserver already has
  (ObjectMeta, ListMeta, ...) keeps the apiserver's version (the same type; Kubernetes
  renames a *conflicting* copy instead, minik trusts the built-in one).
- v3: the root lists `apis/<group>/<version>` of each APIService beside the built-in
  group-versions, and `/openapi/v3/apis/<group>/<version>` is the backend's document,
  with the apiserver's versions of the schemas both know.

Documents are fetched through Aggregator.fetch (cached briefly); a backend that is down
or serves no OpenAPI is left out until it answers, and the rest is served unchanged."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from apiserver.aggregator import Aggregator, group_version
from apiserver.openapi.schemas import V3_PREFIX, Schema, schema_closure, schemas_v3
from apiserver.openapi.v3 import gv_path


def merge_v2(base: Schema, specs: list[Schema]) -> Schema:
    """`base` with the paths and definitions of `specs` added (base wins on a clash).
    Neither input is changed; the result shares their unchanged parts."""
    paths = dict(base.get("paths") or {})
    definitions = dict(base.get("definitions") or {})
    for spec in specs:
        for path, item in (spec.get("paths") or {}).items():
            paths.setdefault(path, item)
        for name, schema in (spec.get("definitions") or {}).items():
            definitions.setdefault(name, schema)
    return {**base, "paths": paths, "definitions": dict(sorted(definitions.items()))}


def merge_v3(doc: Schema, own: dict[str, Schema]) -> Schema:
    """A backend's OpenAPI 3 document with the schemas `own` also has replaced by `own`'s
    (and what those reference added), so ObjectMeta reads as everywhere else."""
    schemas = dict((doc.get("components") or {}).get("schemas") or {})
    shared = [name for name in schemas if name in own]
    refs = [{"$ref": V3_PREFIX + name} for name in shared]
    schemas.update(schema_closure(refs, own, V3_PREFIX))
    components = {**(doc.get("components") or {}), "schemas": dict(sorted(schemas.items()))}
    return {**doc, "components": components}


@dataclass(frozen=True)
class Backends:
    """What the aggregated backends serve now: their v2 documents (one per backend
    Service, in APIService order) and the bytes of each group-version's v3 document."""

    v2: tuple[bytes, ...]
    v3: dict[str, bytes]

    def key(self) -> str:
        """Names this content, for caching what is built from it."""
        digest = hashlib.sha256()
        for data in self.v2:
            digest.update(hashlib.sha256(data).digest())
        for path, data in sorted(self.v3.items()):
            digest.update(path.encode() + hashlib.sha256(data).digest())
        return digest.hexdigest()


async def backends(aggregator: Aggregator, v2: bool = True, v3: bool = True) -> Backends:
    """Fetch (or take from the cache) the documents of every available backend."""
    v2_docs: list[bytes] = []
    v3_docs: dict[str, bytes] = {}
    seen: set[str] = set()
    for apiservice in await aggregator.remote():
        group, version = group_version(apiservice)
        ref = (apiservice.get("spec") or {}).get("service") or {}
        service = f"{ref.get('namespace')}/{ref.get('name')}:{ref.get('port')}"
        if v2 and service not in seen:  # one document per backend, whatever it serves
            seen.add(service)
            if (data := await aggregator.fetch(apiservice, "/openapi/v2")) is not None:
                v2_docs.append(data)
        path = gv_path(group, version)
        if v3 and (data := await aggregator.fetch(apiservice, f"/openapi/v3/{path}")):
            v3_docs[path] = data
    return Backends(tuple(v2_docs), v3_docs)


class AggregatedCache:
    """The merged documents, rebuilt only when the base or a backend's document changes."""

    def __init__(self) -> None:
        self._key: tuple[Any, ...] = ()
        self._value: bytes = b""

    def get(self, key: tuple[Any, ...], build: Any) -> bytes:
        if key != self._key:
            self._value, self._key = build(), key
        return self._value


def parse_all(documents: tuple[bytes, ...]) -> list[Schema]:
    """The documents that parse as JSON objects (a backend's garbage is left out)."""
    out = []
    for data in documents:
        try:
            doc = json.loads(data)
        except ValueError:
            continue
        if isinstance(doc, dict):
            out.append(doc)
    return out


def v3_merged_bytes(data: bytes) -> bytes | None:
    """A backend's v3 document merged with the apiserver's schemas (None: not JSON)."""
    docs = parse_all((data,))
    if not docs:
        return None
    return json.dumps(merge_v3(docs[0], schemas_v3()), separators=(",", ":")).encode()
