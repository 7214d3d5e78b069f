"""ServiceAccount admission's pure parts: the token volume's shape, which containers
mount it, when automounting is off."""

from __future__ import annotations

from apiserver.admission.serviceaccount import (
    MOUNT_PATH,
    mount_token,
    random_suffix,
    should_automount,
    token_volume,
)


def _pod(**spec):
    return {
        "spec": {
            "initContainers": [{"name": "i"}],
            "containers": [
                {"name": "a"},
                {"name": "b", "volumeMounts": [{"name": "x", "mountPath": MOUNT_PATH}]},
            ],
            **spec,
        }
    }


def test_mounts_in_every_container_without_one():
    pod = _pod()
    mount_token(pod, "abcde")
    spec = pod["spec"]
    assert spec["volumes"] == [token_volume("kube-api-access-abcde")]
    mount = {"name": "kube-api-access-abcde", "readOnly": True, "mountPath": MOUNT_PATH}
    assert spec["initContainers"][0]["volumeMounts"] == [mount]
    assert spec["containers"][0]["volumeMounts"] == [mount]
    assert spec["containers"][1]["volumeMounts"] == [{"name": "x", "mountPath": MOUNT_PATH}]


def test_reuses_a_token_volume_and_adds_none_when_not_needed():
    pod = _pod(volumes=[{"name": "kube-api-access-zzzzz", "projected": {}}])
    mount_token(pod)
    assert [v["name"] for v in pod["spec"]["volumes"]] == ["kube-api-access-zzzzz"]
    assert pod["spec"]["containers"][0]["volumeMounts"][0]["name"] == "kube-api-access-zzzzz"
    all_mounted = {"spec": {"containers": [{"volumeMounts": [{"mountPath": MOUNT_PATH}]}]}}
    mount_token(all_mounted)
    assert "volumes" not in all_mounted["spec"]


def test_token_volume_shape():
    v = token_volume("kube-api-access-q2x9z")
    sources = v["projected"]["sources"]
    assert v["projected"]["defaultMode"] == 0o644
    assert sources[0] == {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}}
    assert sources[1]["configMap"]["name"] == "kube-root-ca.crt"
    assert sources[2]["downwardAPI"]["items"][0]["fieldRef"]["fieldPath"] == "metadata.namespace"


def test_automount_choice():
    assert should_automount({}, {"spec": {}})
    assert not should_automount({"automountServiceAccountToken": False}, {"spec": {}})
    pod_on = {"spec": {"automountServiceAccountToken": True}}
    assert should_automount({"automountServiceAccountToken": False}, pod_on)
    assert not should_automount({}, {"spec": {"automountServiceAccountToken": False}})


def test_suffix_alphabet():
    suffix = random_suffix()
    assert len(suffix) == 5 and all(c in "bcdfghjklmnpqrstvwxz2456789" for c in suffix)
