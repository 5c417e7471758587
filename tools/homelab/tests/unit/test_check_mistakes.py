"""Each seeded mistake is caught, with file, line, key and the right message."""

from __future__ import annotations

import pytest
from conftest import BASE, NFS, CheckFn, errors, messages

from homelab.yamlio import YamlError, loads


def _one(problems, *needles: str) -> str:
    found = [e for e in errors(problems) if all(n in e for n in needles)]
    assert found, f"no error with {needles}:\n{messages(problems)}"
    return found[0]


def test_clean_bundle_with_storage_has_no_problems(check: CheckFn):
    problems, _ = check(BASE, NFS)
    assert problems == [] or all(p.severity == "warning" for p in problems), messages(problems)


def test_broken_yaml_reports_line_and_column():
    with pytest.raises(YamlError) as caught:
        loads("applications:\n  a:\n    charm: x\n   bad: [1\n", "broken.yaml")
    assert caught.value.line >= 4
    assert caught.value.column > 0
    assert str(caught.value).startswith(f"broken.yaml:{caught.value.line}:{caught.value.column}:")


def test_unknown_top_level_key_did_you_mean(check: CheckFn):
    problems, _ = check(BASE, "relation:\n  - [a, b]\n")
    assert "overlay1.yaml:1:" in _one(problems, "relation", 'did you mean "relations"')


def test_duplicate_machine_ids(check: CheckFn):
    text = BASE.replace(
        '  "1": {constraints: tags=kf_admin}', '  "0": {constraints: tags=kf_admin}'
    )
    problems, _ = check(text)
    _one(problems, "machines.0", "duplicate machine id 0")


def test_duplicate_machine_ids_int_and_string(check: CheckFn):
    text = BASE.replace('  "1": {constraints: tags=kf_admin}', "  0: {constraints: tags=kf_admin}")
    problems, _ = check(text)
    _one(problems, "duplicate machine id 0")


def test_undefined_to_machine(check: CheckFn):
    problems, _ = check(BASE, 'applications:\n  easyrsa: {to: ["lxd:4"]}\n')
    assert "overlay1.yaml:2:" in _one(
        problems, "applications.easyrsa.to", 'machine "4" is not defined'
    )


def test_tags_with_spaces(check: CheckFn):
    problems, _ = check(BASE, 'machines:\n  "0": {constraints: "tags=k8 admin"}\n  "1": {}\n')
    _one(problems, "machines.0.constraints", "space", "MAAS tags")


@pytest.mark.parametrize(
    ("constraints", "needle"),
    [
        ("mem=64", None),
        ("mem=lots", "must be a size"),
        ("cores=many", "whole number"),
        ("core=32", 'did you mean "cores"'),
        ("arch=x86", "arch=x86"),
        ("tags=gpu tags=big", "given twice"),
        ("gpu", '"gpu" is not key=value'),
    ],
)
def test_constraint_syntax(check: CheckFn, constraints: str, needle: str | None):
    overlay = f'applications:\n  kubernetes-worker: {{constraints: "{constraints}"}}\n'
    problems, _ = check(BASE, overlay)
    if needle is None:
        assert errors(problems) == [], messages(problems)
    else:
        _one(problems, "applications.kubernetes-worker.constraints", needle)


def test_num_units_vs_to(check: CheckFn):
    problems, _ = check(BASE, 'applications:\n  easyrsa: {num_units: 1, to: ["lxd:0", "lxd:1"]}\n')
    _one(problems, "2 placements for num_units 1")


def test_num_units_must_be_a_number(check: CheckFn):
    problems, _ = check(BASE, 'applications:\n  easyrsa: {num_units: "one"}\n')
    _one(problems, "applications.easyrsa.num_units", "whole number")


def test_endpoint_missing_on_our_charm_from_charmcraft(check: CheckFn):
    overlay = NFS + "  - [remote-nfs-mount:nfs-shares, static-pv-provisioner:nfs-share]\n"
    problems, _ = check(BASE, overlay)
    message = _one(
        problems, "remote-nfs-mount has no endpoint nfs-shares", 'did you mean "nfs-share"'
    )
    assert "charms/remote-nfs-mount/charmcraft.yaml" in message


def test_endpoint_missing_on_upstream_charm(check: CheckFn):
    problems, _ = check(
        BASE,
        "relations:\n"
        "  - [kubernetes-worker:kube-controls, kubernetes-control-plane:kube-control]\n",
    )
    _one(
        problems, "kubernetes-worker has no endpoint kube-controls", "charm-kubernetes-worker@main"
    )


def test_nfs_relation_on_a_worker_without_it(check: CheckFn):
    problems, _ = check(
        BASE, NFS, "relations:\n  - [remote-nfs-mount:nfs, kubernetes-worker:nfs]\n"
    )
    _one(problems, "kubernetes-worker on channel 1.32/stable has no nfs endpoint", "1.28")


def test_nfs_relation_is_fine_on_1_28(check: CheckFn):
    base = BASE.replace("1.32/stable", "1.28/stable")
    problems, _ = check(
        base, NFS, "relations:\n  - [remote-nfs-mount:nfs, kubernetes-worker:nfs]\n"
    )
    assert errors(problems) == [], messages(problems)


def test_interface_mismatch(check: CheckFn):
    problems, _ = check(
        BASE,
        NFS,
        "relations:\n  - [remote-nfs-mount:nfs, kubernetes-control-plane:kube-control]\n",
    )
    _one(problems, "cannot relate to", "mount", "kube-control")


def test_subordinate_with_units_and_placement(check: CheckFn):
    overlay = NFS.replace(
        "    charm: remote-nfs-mount\n",
        '    charm: remote-nfs-mount\n    num_units: 2\n    to: ["0"]\n',
    )
    problems, _ = check(BASE, overlay)
    _one(problems, "applications.remote-nfs-mount.num_units", "subordinate")
    _one(problems, "applications.remote-nfs-mount.to", "subordinate")


def test_subordinate_without_principal(check: CheckFn):
    overlay = "applications:\n  gpu-node-labeler:\n    charm: gpu-node-labeler\n"
    problems, _ = check(BASE, overlay)
    _one(problems, "subordinate gpu-node-labeler has no container-scoped relation to a principal")


def test_subordinate_on_the_wrong_principal(check: CheckFn):
    overlay = NFS.replace(
        "[static-pv-provisioner:juju-info, kubernetes-control-plane:juju-info]",
        "[static-pv-provisioner:juju-info, kubernetes-worker:juju-info]",
    )
    problems, _ = check(BASE, overlay)
    _one(
        problems,
        "static-pv-provisioner must be attached to kubernetes-control-plane",
        "not kubernetes-worker",
    )


def test_two_provides_endpoints_cannot_relate(check: CheckFn):
    problems, _ = check(
        BASE, "relations:\n  - [kubernetes-worker:cni, kubernetes-control-plane:cni]\n"
    )
    _one(problems, "(provides kubernetes-cni) cannot relate to")


def test_option_our_charm_does_not_have(check: CheckFn):
    overlay = NFS.replace("export-path: /volume1/k8s", "export_path: /volume1/k8s")
    problems, _ = check(BASE, overlay)
    _one(problems, "remote-nfs-mount has no option export_path", 'did you mean "export-path"')


def test_option_of_the_wrong_type(check: CheckFn):
    overlay = NFS.replace('pool: "10Gi:2"', 'pool: "10Gi:2", set-default: "yes"')
    problems, _ = check(BASE, overlay)
    _one(problems, "static-pv-provisioner option set-default is a boolean")


def test_limit_one_nfs_share(check: CheckFn):
    # a second remote-nfs-mount application related to the same provisioner endpoint
    overlay = NFS.replace(
        "applications:\n", "applications:\n  other:\n    charm: remote-nfs-mount\n", 1
    ) + (
        "  - [static-pv-provisioner:nfs-share, other:nfs-share]\n"
        "  - [other:juju-info, kubernetes-worker:juju-info]\n"
    )
    problems, _ = check(BASE, overlay)
    _one(problems, "static-pv-provisioner:nfs-share allows 1 relation")


def test_overlay_removing_an_application_others_relate_to(check: CheckFn):
    problems, _ = check(BASE, "applications:\n  easyrsa:\n")
    message = _one(
        problems,
        "removes easyrsa",
        "kubernetes-control-plane:certificates",
        "kubernetes-worker:certificates",
    )
    assert "overlay1.yaml:2:" in message


def test_relation_to_an_application_an_overlay_removed(check: CheckFn):
    problems, _ = check(
        BASE,
        "applications:\n  easyrsa:\n",
        "relations:\n  - [etcd:certificates, easyrsa:client]\n",
    )
    _one(problems, "application etcd is not defined")
    _one(problems, "application easyrsa was removed by an overlay")


def test_trust_needed_for_kubeflow_charms(check: CheckFn):
    bundle = (
        "bundle: kubernetes\n"
        "applications:\n  jupyter-ui: {charm: jupyter-ui, channel: 1.10/stable, scale: 1}\n"
    )
    problems, _ = check(bundle)
    _one(problems, "jupyter-ui needs cluster access", "--trust")
    problems, _ = check(bundle, trust=True)
    assert errors(problems) == []


def test_kubeflow_option_typo(check: CheckFn):
    bundle = (
        "bundle: kubernetes\n"
        "applications:\n  jupyter-ui: {charm: jupyter-ui, trust: true, scale: 1}\n"
    )
    problems, _ = check(bundle, "applications:\n  jupyter-ui:\n    options: {gpu-vendor: x}\n")
    assert 'did you mean "gpu-vendors"' in messages(problems)


def test_machines_in_a_kubernetes_bundle(check: CheckFn):
    problems, _ = check("bundle: kubernetes\nmachines:\n  '0': {}\napplications: {}\n")
    _one(problems, "a Kubernetes bundle has no machines")


def test_bad_channel(check: CheckFn):
    typo = "applications:\n  easyrsa: {channel: 1.32/stabel}\n"  # codespell:ignore stabel
    problems, _ = check(BASE, typo)
    _one(problems, "applications.easyrsa.channel", "is not a channel")


def test_every_problem_is_reported_in_one_run(check: CheckFn):
    overlay = """
    machines:
      "0": {constraints: "tags=k8 admin"}
      "1": {}
      "9": {}
    applications:
      kubernetes-worker: {num_unit: 2, to: ["5"]}
      easyrsa: {chanel: 1.32/stable}  # codespell:ignore chanel
    relations:
      - [kubernetes-worker:nfs, kubernetes-control-plane:kube-control]
    """
    problems, _ = check(BASE, overlay)
    text = messages(problems)
    for needle in (
        "MAAS tags",
        "num_unit",
        "chanel",  # codespell:ignore chanel
        'machine "5"',
        "machine 9",
        "no nfs endpoint",
    ):
        assert needle in text, text


def test_new_application_without_charm(check: CheckFn):
    problems, _ = check(BASE, "applications:\n  kubernetes-worker-gpu: {num_units: 1}\n")
    _one(problems, "applications.kubernetes-worker-gpu", "no charm")


def test_subordinate_on_a_charm_this_tool_does_not_know(check: CheckFn):
    overlay = """
    machines:
      "0": {}
      "1": {}
      "2": {}
    applications:
      ubuntu: {charm: ubuntu, num_units: 1, to: ["2"]}
      remote-nfs-mount: {charm: remote-nfs-mount}
    relations:
      - [remote-nfs-mount:juju-info, ubuntu:juju-info]
    """
    problems, _ = check(BASE, overlay)
    assert errors(problems) == [], messages(problems)


def test_upstream_option_typo_is_a_warning(check: CheckFn):
    problems, _ = check(BASE, "applications:\n  kubernetes-worker:\n    options: {label: a=b}\n")
    assert errors(problems) == []
    assert 'kubernetes-worker has no option label (did you mean "labels"?)' in messages(problems)


def test_unknown_option_on_an_incomplete_table_is_silent_unless_close(check: CheckFn):
    base = BASE.replace("1.32/stable", "1.28/stable")
    problems, _ = check(
        base, "applications:\n  kubernetes-worker:\n    options: {nagios_context: x}\n"
    )
    assert problems == [], messages(problems)
    typo = "options: {lables: x}\n"  # codespell:ignore lables
    typo = "applications:\n  kubernetes-worker:\n    " + typo
    problems, _ = check(base, typo)
    assert 'did you mean "labels"' in messages(problems)


@pytest.mark.parametrize(
    ("overlay", "needle"),
    [
        (
            "applications:\n  containerd: {charm: containerd, options: {gpu_driver: cuda}}\n"
            "relations:\n  - [containerd:containerd, kubernetes-worker:container-runtime]\n",
            "'cuda' is not one of 'auto', 'nvidia', 'none'",
        ),
        (
            NFS.replace("nas-host: 10.0.0.5", "nas-host: 10.0.0.5, nfs-version: '4.3'"),
            "'4.3' is not one of '3', '4', '4.0', '4.1', '4.2'",
        ),
        (
            "applications:\n"
            "  gpu-node-labeler: {charm: gpu-node-labeler, options: {taint: Always}}\n"
            "relations:\n  - [gpu-node-labeler:juju-info, kubernetes-worker:juju-info]\n",
            "'Always' is not one of '', 'NoSchedule', 'PreferNoSchedule'",
        ),
    ],
)
def test_option_values_the_lab_relies_on(check: CheckFn, overlay: str, needle: str):
    problems, _ = check(BASE, overlay)
    _one(problems, needle)


def test_machines_and_to_in_an_overlay_on_a_kubernetes_bundle(check: CheckFn):
    """Overlays do not repeat `bundle: kubernetes`: the base bundle decides for all files."""
    bundle = "bundle: kubernetes\napplications:\n  minio: {charm: minio, scale: 1}\n"
    overlay = "machines:\n  '0': {}\napplications:\n  minio:\n    to: ['0']\n"
    problems, _ = check(bundle, overlay)
    assert "overlay1.yaml:1:" in _one(problems, "machines", "a Kubernetes bundle has no machines")
    assert "overlay1.yaml:5:" in _one(
        problems, "applications.minio.to", "cannot be placed with to:"
    )


def test_machines_and_to_in_an_overlay_on_the_builtin_kubeflow_bundle(tmp_path):
    import io

    from homelab.cli import main

    overlay = tmp_path / "kf.yaml"
    overlay.write_text("machines:\n  '0': {}\napplications:\n  minio:\n    to: ['0']\n")
    out = io.StringIO()
    code = main(["check", "kubeflow", "--overlay", str(overlay), "--trust"], out=out)
    assert code == 1, out.getvalue()
    assert "a Kubernetes bundle has no machines" in out.getvalue()
    assert "cannot be placed with to:" in out.getvalue()


def test_a_placement_with_a_trailing_newline_is_invalid(check: CheckFn):
    problems, _ = check(BASE, 'applications:\n  easyrsa: {to: ["lxd:0\\n"]}\n')
    _one(problems, "applications.easyrsa.to")
