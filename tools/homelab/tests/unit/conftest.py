"""Shared helpers for the homelab unit tests."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from homelab.charmdb import CharmDB, find_repo
from homelab.check import check_documents
from homelab.merge import Merged
from homelab.problems import Problem
from homelab.yamlio import load

REPO = Path(__file__).resolve().parents[4]

CheckFn = Callable[..., tuple[list[Problem], Merged]]


@pytest.fixture
def db() -> CharmDB:
    return CharmDB(find_repo(REPO))


@pytest.fixture
def check(tmp_path: Path, db: CharmDB) -> CheckFn:
    """check(bundle_yaml, *overlay_yamls, trust=False) -> (problems, merged)."""

    def run(*texts: str, trust: bool = False) -> tuple[list[Problem], Merged]:
        docs = []
        for n, text in enumerate(texts):
            name = "bundle.yaml" if n == 0 else f"overlay{n}.yaml"
            path = tmp_path / name
            path.write_text(textwrap.dedent(text), encoding="utf-8")
            docs.append(load(path, name))
        return check_documents(docs, db, trust=trust)

    return run


def errors(problems: list[Problem]) -> list[str]:
    return [str(p) for p in problems if p.severity == "error"]


def messages(problems: list[Problem]) -> str:
    return "\n".join(str(p) for p in problems)


# A small valid machine bundle the tests start from.
BASE = """
machines:
  "0": {constraints: tags=k8_admin}
  "1": {constraints: tags=kf_admin}
applications:
  kubernetes-control-plane:
    charm: kubernetes-control-plane
    channel: 1.32/stable
    num_units: 1
    to: ["0"]
  kubernetes-worker:
    charm: kubernetes-worker
    channel: 1.32/stable
    num_units: 1
    to: ["1"]
  easyrsa:
    charm: easyrsa
    channel: 1.32/stable
    num_units: 1
    to: ["lxd:0"]
relations:
  - [kubernetes-control-plane:kube-control, kubernetes-worker:kube-control]
  - [kubernetes-control-plane:certificates, easyrsa:client]
  - [kubernetes-worker:certificates, easyrsa:client]
"""

NFS = """
applications:
  remote-nfs-mount:
    charm: remote-nfs-mount
    options: {nas-host: 10.0.0.5, export-path: /volume1/k8s}
  static-pv-provisioner:
    charm: static-pv-provisioner
    options: {pool: "10Gi:2"}
relations:
  - [remote-nfs-mount:juju-info, kubernetes-worker:juju-info]
  - [static-pv-provisioner:juju-info, kubernetes-control-plane:juju-info]
  - [static-pv-provisioner:nfs-share, remote-nfs-mount:nfs-share]
"""
