"""OpenAPI documents built from `api/schemas/definitions.json` and the resource table.

Why kubectl needs them: `kubectl apply` validates by default and gives up without an
OpenAPI document; when a resource's `patch` operation carries the
`x-kubernetes-group-version-kind` extension and a `fieldValidation` query parameter,
kubectl leaves validation to the server (and sends `fieldValidation=Strict`). The schemas
also drive `kubectl explain`, and their `x-kubernetes-patch-*` extensions tell client-side
apply how to merge lists (containers by name, ports by containerPort, ...).

- `/openapi/v3` (kubectl 1.29+): a root listing one document per group-version.
- `/openapi/v2` (kubectl 1.27/1.28): one Swagger 2.0 document, as JSON or as the gnostic
  `openapi_v2.Document` protobuf those kubectls ask for.
Every document is built once and cached.

Modules, one concern each: `schemas` (definitions converted for v2 and v3), `operations`
(paths and verbs per resource), `v3` and `v2` (the documents), `v2proto` (v2 as gnostic
protobuf) and `routes` (the HTTP endpoints)."""
