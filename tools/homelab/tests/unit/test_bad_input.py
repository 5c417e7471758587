"""Malformed input of every shape: precise problems, never a traceback."""

from __future__ import annotations

import pytest

from homelab.charmdb import CharmDB
from homelab.check import check_documents
from homelab.site import validate
from homelab.yamlio import YamlError, loads

BAD_DOCUMENTS = [
    "[]",
    "42",
    "applications: []",
    "applications: {a: 5}",
    "applications: {a: [1]}",
    "applications: {a: {charm: 5}}",
    "applications: {a: {charm: x, options: [1]}}",
    "applications: {a: {charm: x, to: 0, num_units: 1}}",
    "applications: {a: {charm: x, to: [{}], num_units: 1}}",
    "applications: {a: {charm: x, constraints: 5}}",
    "applications: {a: {charm: x, storage: {d: [1]}}}",
    "applications: {a: {charm: x, bindings: [x]}}",
    "relations: {a: b}",
    "relations: [[1, 2]]",
    "relations: [a]",
    "relations: [[a, b, c]]",
    "machines: [1]",
    "machines: {x: 1}",
    "machines: {'0': {constraints: [1]}}",
    "applications: {A_B: {charm: x}}",
    "applications: {a: {charm: remote-nfs-mount, options: {timeout: true}}}",
    "bundle: kubernetes\napplications: {a: {charm: x, to: ['0']}}",
    "applications: {a: {charm: kubernetes-worker, channel: [1]}}",
    "applications: {x: {charm: ./foo.charm, num_units: -1}}",
    "default-base: 5",
    "applications: {a: {charm: x, expose: 'yes'}}",
]
BASE = (
    "applications:\n"
    "  kubernetes-worker: {charm: kubernetes-worker, num_units: 1}\n"
    "  remote-nfs-mount: {charm: remote-nfs-mount}\n"
)


@pytest.mark.parametrize("text", BAD_DOCUMENTS)
def test_bad_documents_give_problems_not_tracebacks(text: str, db: CharmDB):
    for texts in ([text], [BASE, text]):
        docs = [loads(t, f"file{n}.yaml") for n, t in enumerate(texts)]
        problems, _ = check_documents(docs, db)
        assert problems, texts
        assert all(p.file.startswith("file") for p in problems)


def test_relation_without_endpoint_names_is_inferred(db: CharmDB):
    docs = [
        loads(BASE, "b.yaml"),
        loads("relations: [[remote-nfs-mount, kubernetes-worker]]", "o"),
    ]
    problems, _ = check_documents(docs, db)
    assert problems == []


def test_non_scalar_mapping_key_is_a_yaml_error():
    with pytest.raises(YamlError) as caught:
        loads("? [a, b]\n: c\n", "key.yaml")
    assert caught.value.line == 1


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("site: x\nmaas: {tags: [a]}\n", "maas.tags: must be a mapping"),
        ("site: x\nkubeflow: {storage: x}\n", "kubeflow.storage: must be a mapping"),
        ("site: [1]\n", "site: must be a string"),
        ("site: x\nnas: 5\n", "nas: must be a mapping"),
        ("juju: {controller: 5}\n", "juju.controller: must be a string"),
        ("site: x\ngpu: {taint: 5}\n", "gpu.taint: must be a string"),
        (
            "kubeflow: {track: 1.10}\n",
            "kubeflow.track: must be a string, not float 1.1 "
            "(write it in quotes: YAML reads 1.10 as a number)",
        ),
    ],
)
def test_bad_site_values(text: str, needle: str):
    site = validate(loads(text, "site.yaml"))
    assert needle in "\n".join(str(p) for p in site.problems)
