"""controller.replicaset.replication: a ReplicationController's plain-map selector read
the way the shared ReplicaSet machinery needs it."""

from api.resources import REPLICATIONCONTROLLERS
from controller.replicaset.controller import ReplicaSetController
from controller.replicaset.replication import ReplicationManager


def test_the_manager_is_the_replicaset_controller_on_another_resource():
    assert issubclass(ReplicationManager, ReplicaSetController)
    assert ReplicationManager.resource is REPLICATIONCONTROLLERS
    assert ReplicationManager.name == "replicationcontroller"


def test_selector_is_an_equality_map():
    rc = {"spec": {"selector": {"app": "web", "tier": "fe"}}}
    sel = ReplicationManager.selector_of(rc)
    assert str(sel) == "app=web,tier=fe"
    assert sel.matches({"app": "web", "tier": "fe", "pod-template-hash": "x"})
    assert not sel.matches({"app": "web"})
    # never stored (validation refuses it), but must not select every pod
    assert not ReplicationManager.selector_of({"spec": {}}).matches({"app": "web"})
    # the ReplicaSet reading of the same map would be wrong: a map is not a LabelSelector
    rs_reading = ReplicaSetController.selector_of(rc)
    assert rs_reading.matches({}) and not sel.matches({})
