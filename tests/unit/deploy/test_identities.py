from pathlib import Path

from deploy.identities import COMPONENT_USERS, ensure_tokens, identities, read_token_file


def test_every_kubelet_is_its_node(tmp_path: Path) -> None:
    wanted = identities(["n1", "n2"])
    assert wanted["kubelet-n1"] == ("system:node:n1", "system:nodes")
    assert wanted["kube-scheduler"] == ("system:kube-scheduler", "")
    assert [name for name, (_, groups) in wanted.items() if "system:masters" in groups] == ["admin"]


def test_tokens_are_kept_and_new_identities_added(tmp_path: Path) -> None:
    path = tmp_path / "tokens.csv"
    first = ensure_tokens(path, identities(["n1"]))
    assert path.stat().st_mode & 0o777 == 0o600
    assert set(first) == {*COMPONENT_USERS, "kubelet-n1"}
    line = next(x for x in path.read_text().splitlines() if ",system:node:n1," in x)
    assert line.endswith(',"system:nodes"')
    second = ensure_tokens(path, identities(["n1", "n2"]))
    assert {k: second[k] for k in first} == first  # a running apiserver's tokens stay
    assert second["kubelet-n2"] not in first.values()
    assert read_token_file(path)["system:node:n2"] == second["kubelet-n2"]
