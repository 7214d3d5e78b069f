"""The Website operator again, in kopf (https://kopf.readthedocs.io): the framework runs
the informers, queue and retries; what is left is the desired state.

    kopf run --standalone examples/operator/website_kopf.py [-n NS]

Compare with website_operator.py, which spells the same pattern out on minik's client.
"""

import sys
from pathlib import Path

import kopf
import kubernetes

sys.path.insert(0, str(Path(__file__).resolve().parent))
# The same desired state as the hand-written operator: one definition of "a Website".
from website_operator import desired_deployment, desired_ingress, desired_service


@kopf.on.create("example.minik.dev", "v1", "websites")
@kopf.on.update("example.minik.dev", "v1", "websites", field="spec")
def reconcile(body, namespace, patch, **_):
    kubernetes.config.load_kube_config()  # honours $KUBECONFIG
    apps, core = kubernetes.client.AppsV1Api(), kubernetes.client.CoreV1Api()
    net = kubernetes.client.NetworkingV1Api()
    website = dict(body)
    children = (
        (
            desired_deployment(website),
            apps.create_namespaced_deployment,
            apps.patch_namespaced_deployment,
        ),
        (desired_service(website), core.create_namespaced_service, core.patch_namespaced_service),
        (desired_ingress(website), net.create_namespaced_ingress, net.patch_namespaced_ingress),
    )
    for want, create, replace in children:
        try:
            create(namespace, want)
        except kubernetes.client.ApiException as err:
            if err.status != 409:
                raise
            replace(want["metadata"]["name"], namespace, {"spec": want["spec"]})
    patch.status["conditions"] = [{"type": "Reconciled", "status": "True", "reason": "Kopf"}]
