"""--config: the KubeSchedulerConfiguration fields minik's scheduler reads."""

from __future__ import annotations

import re

import pytest

from scheduler.__main__ import main
from scheduler.config import API_VERSION, KIND, ConfigError, SchedulerConfig, load, parse
from scheduler.scheduler import Scheduler


def doc(**fields):
    return {"apiVersion": API_VERSION, "kind": KIND, **fields}


def test_nothing_set_is_kubernetes_adaptive_default():
    assert parse(doc()) == SchedulerConfig(0, None)


def test_percentage_and_a_profile_that_overrides_it():
    assert parse(doc(percentageOfNodesToScore=30)).percentage_of_nodes_to_score == 30
    config = parse(
        doc(
            percentageOfNodesToScore=30,
            profiles=[{"schedulerName": "mine", "percentageOfNodesToScore": 10}],
        )
    )
    assert config == SchedulerConfig(10, "mine")
    assert parse(doc(percentageOfNodesToScore=30, profiles=[{}])).percentage_of_nodes_to_score == 30


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (doc(percentageOfNodesToScore=101), "percentageOfNodesToScore"),
        (doc(percentageOfNodesToScore=-1), "percentageOfNodesToScore"),
        (doc(percentageOfNodesToScore="50%"), "percentageOfNodesToScore"),
        (doc(profiles=[{"percentageOfNodesToScore": 200}]), "profiles[0].percentageOfNodesToScore"),
        (doc(profiles=[{"schedulerName": ""}]), "profiles[0].schedulerName"),
        (doc(profiles=[{}, {}]), "profiles"),
        (doc(profiles=[{"plugins": {}}]), "profiles[0].plugins"),
        (doc(parallelism=16), "parallelism"),
        ({"apiVersion": "v1", "kind": KIND}, "apiVersion"),
        ([], "KubeSchedulerConfiguration"),
    ],
)
def test_bad_fields_are_named(bad, field):
    with pytest.raises(ConfigError, match=re.escape(field)):
        parse(bad)


def test_load_reads_yaml_and_names_a_missing_file(tmp_path):
    path = tmp_path / "sched.yaml"
    path.write_text(f"apiVersion: {API_VERSION}\nkind: {KIND}\npercentageOfNodesToScore: 20\n")
    assert load(path).percentage_of_nodes_to_score == 20
    with pytest.raises(ConfigError, match=r"nope\.yaml"):
        load(tmp_path / "nope.yaml")


def test_the_scheduler_searches_the_configured_share():
    sched = Scheduler(api=None, percentage_of_nodes_to_score=20)  # type: ignore[arg-type]
    assert sched.algorithm.percentage == 20
    assert Scheduler(api=None).algorithm.percentage == 0  # type: ignore[arg-type]


def test_main_refuses_a_bad_config_before_starting(tmp_path, capsys):
    path = tmp_path / "sched.yaml"
    path.write_text(f"apiVersion: {API_VERSION}\nkind: {KIND}\npercentageOfNodesToScore: 101\n")
    assert main(["--kubeconfig", "k", "--config", str(path)]) == 2
    assert "percentageOfNodesToScore: Invalid value: 101" in capsys.readouterr().err
