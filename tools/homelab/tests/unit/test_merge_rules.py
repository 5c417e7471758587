"""Golden tests: one per Juju 3.6 bundle/overlay rule of facts §3."""

from __future__ import annotations

from conftest import BASE, NFS, CheckFn, errors, messages

from homelab.merge import merge


def test_rule_overlays_apply_in_command_line_order():
    base = {"applications": {"a": {"charm": "x", "channel": "1/stable"}}}
    first = {"applications": {"a": {"channel": "2/stable"}}}
    second = {"applications": {"a": {"channel": "3/stable"}}}
    assert merge([("b", base), ("o1", first), ("o2", second)]).apps["a"]["channel"] == "3/stable"
    assert merge([("b", base), ("o2", second), ("o1", first)]).apps["a"]["channel"] == "2/stable"


def test_rule_scalars_and_lists_are_replaced():
    base = {
        "applications": {
            "a": {
                "charm": "x",
                "num_units": 3,
                "to": ["0", "1", "2"],
                "constraints": "mem=8G cores=2",
            }
        }
    }
    overlay = {"applications": {"a": {"num_units": 1, "to": ["lxd:0"], "constraints": "tags=gpu"}}}
    app = merge([("b", base), ("o", overlay)]).apps["a"]
    assert app["num_units"] == 1
    assert app["to"] == ["lxd:0"]  # replaced, not ["0", "1", "2", "lxd:0"]
    assert app["constraints"] == "tags=gpu"  # replaced, not merged with mem=8G


def test_rule_maps_merge_key_by_key():
    base = {
        "applications": {
            "a": {
                "charm": "x",
                "options": {"keep": 1, "change": "old"},
                "storage": {"data": "pool,10G"},
                "annotations": {"gui-x": "1"},
                "bindings": {"": "default"},
            }
        }
    }
    overlay = {
        "applications": {
            "a": {
                "options": {"change": "new", "add": True},
                "storage": {"logs": "pool,1G"},
                "annotations": {"gui-y": "2"},
                "bindings": {"nfs": "storage"},
            }
        }
    }
    app = merge([("b", base), ("o", overlay)]).apps["a"]
    assert app["options"] == {"keep": 1, "change": "new", "add": True}
    assert app["storage"] == {"data": "pool,10G", "logs": "pool,1G"}
    assert app["annotations"] == {"gui-x": "1", "gui-y": "2"}
    assert app["bindings"] == {"": "default", "nfs": "storage"}


def test_rule_only_null_removes_an_application_with_its_relations():
    # charm/v12 overlay.go:540-543 (isZero on a nil pointer) and removeRelations, 604-619.
    base = {
        "applications": {"a": {"charm": "x"}, "b": {"charm": "y"}, "c": {"charm": "z"}},
        "relations": [["a:r", "b:p"], ["b:p", "c:r"], ["a:q", "c:s"]],
    }
    merged = merge([("b", base), ("o", {"applications": {"b": None}})])
    assert "b" not in merged.apps
    assert [r.ends for r in merged.relations] == [("a:q", "c:s")]


def test_rule_empty_application_body_is_a_no_op():
    # Corrected (facts §3, 2026-12-02): `app: {}` is a non-nil pointer, so overlay.go:540 does
    # not delete it; mergeStructs (overlay.go:633-695) finds no field present and changes nothing.
    base = {
        "applications": {"a": {"charm": "x"}, "c": {"charm": "z", "num_units": 2}},
        "relations": [["a:q", "c:s"]],
    }
    merged = merge([("b", base), ("o", {"applications": {"c": {}}})])
    assert merged.apps["c"] == {"charm": "z", "num_units": 2}
    assert [r.ends for r in merged.relations] == [("a:q", "c:s")]
    assert merged.removals == []


def test_rule_empty_application_body_warns_with_the_fix(check: CheckFn):
    problems, merged = check(BASE, "applications:\n  easyrsa: {}\n")
    assert "easyrsa" in merged.apps
    warnings = [str(p) for p in problems if p.severity == "warning"]
    assert any("only null removes" in w and "easyrsa: null" in w for w in warnings), warnings


def test_rule_relations_are_only_appended():
    base = {
        "applications": {"a": {"charm": "x"}, "b": {"charm": "y"}},
        "relations": [["a:r", "b:p"]],
    }
    overlay = {"relations": [["a:q", "b:s"]]}
    merged = merge([("b", base), ("o", overlay)])
    assert [r.ends for r in merged.relations] == [("a:r", "b:p"), ("a:q", "b:s")]
    # An overlay without relations: never removes any.
    assert len(merge([("b", base), ("o", {"applications": {}})]).relations) == 1


def test_rule_overlay_machines_replace_the_base_machines():
    base = {"machines": {"0": {"constraints": "tags=a"}, "1": {"constraints": "tags=b"}}}
    overlay = {"machines": {"5": {"constraints": "tags=c"}}}
    merged = merge([("b", base), ("o", overlay)])
    assert merged.machines == {"5": {"constraints": "tags=c"}}


def test_rule_placement_every_to_machine_must_be_defined(check: CheckFn):
    problems, _ = check(BASE, 'applications:\n  kubernetes-worker: {to: ["7"]}\n')
    assert any('machine "7" is not defined' in e for e in errors(problems)), messages(problems)


def test_rule_placement_every_defined_machine_must_be_used(check: CheckFn):
    problems, _ = check(BASE, 'machines:\n  "0": {}\n  "1": {}\n  "2": {}\n')
    assert any(
        "machine 2 is defined but no application is placed on it" in e for e in errors(problems)
    )


def test_rule_placement_more_to_than_num_units_is_an_error(check: CheckFn):
    problems, _ = check(
        BASE, 'applications:\n  kubernetes-worker: {num_units: 1, to: ["1", "0"]}\n'
    )
    assert any("more to entries than units" in e for e in errors(problems)), messages(problems)


def test_rule_placement_fewer_to_than_num_units_repeats_the_last(check: CheckFn, db):
    from homelab.plan import _placements

    problems, merged = check(
        BASE, 'applications:\n  kubernetes-worker: {num_units: 3, to: ["1"]}\n'
    )
    assert errors(problems) == []
    rows = {mid: units for mid, _, units in _placements(merged, db)}
    assert rows["1"] == ["kubernetes-worker/0", "kubernetes-worker/1", "kubernetes-worker/2"]


def test_rule_placement_forms_machine_container_and_unit(check: CheckFn):
    overlay = """
    applications:
      etcd:
        charm: etcd
        num_units: 2
        to: ["lxd:0", "kubernetes-worker/0"]
      kubeapi-load-balancer:
        charm: kubeapi-load-balancer
        num_units: 1
        to: ["kubernetes-worker/3"]
    """
    problems, _ = check(BASE, overlay)
    errs = errors(problems)
    assert len(errs) == 1, messages(problems)
    assert "kubernetes-worker has no unit 3" in errs[0]


def test_rule_unknown_keys_are_reported_not_ignored(check: CheckFn):
    # Juju silently drops `num_unit:`; check reports it, with the key Juju knows.
    problems, _ = check(BASE, "applications:\n  kubernetes-worker:\n    num_unit: 3\n")
    errs = errors(problems)
    assert any(
        "overlay1.yaml:3:" in e
        and "applications.kubernetes-worker.num_unit" in e
        and 'did you mean "num_units"' in e
        for e in errs
    ), messages(problems)


def test_hidden_typo_num_unit_in_a_second_overlay(check: CheckFn):
    problems, merged = check(BASE, NFS, "applications:\n  kubernetes-worker:\n    num_unit: 2\n")
    assert merged.apps["kubernetes-worker"]["num_units"] == 1  # what Juju would deploy
    assert any(
        e.startswith("overlay2.yaml:3:") and "num_unit" in e and 'did you mean "num_units"' in e
        for e in errors(problems)
    ), messages(problems)


# ---- Juju 3.6 rules (github.com/juju/charm branch v12), one test each


def test_rule_only_null_clears_a_map_and_an_option_set_to_null_is_deleted():
    # overlay.go:667-688 (null map clears, {} changes nothing), 680-684 + 699-713 (null option)
    base = {"applications": {"a": {"charm": "x", "options": {"keep": 1, "drop": 2}}}}
    assert merge([("b", base), ("o", {"applications": {"a": {"options": {}}}})]).apps["a"][
        "options"
    ] == {"keep": 1, "drop": 2}
    assert (
        merge([("b", base), ("o", {"applications": {"a": {"options": None}}})]).apps["a"][
            "options"
        ]
        == {}
    )
    merged = merge([("b", base), ("o", {"applications": {"a": {"options": {"drop": None}}}})])
    assert merged.apps["a"]["options"] == {"keep": 1}


def test_rule_to_null_clears_the_placement():
    # overlay.go:689-690: a slice field written as null is set to nil
    base = {"applications": {"a": {"charm": "x", "num_units": 1, "to": ["0"]}}}
    assert "to" not in merge([("b", base), ("o", {"applications": {"a": {"to": None}}})]).apps["a"]


def test_rule_overlay_machines_null_keeps_the_base_machines():
    # overlay.go:595-597: only a non-nil machines map replaces
    base = {"machines": {"0": {}}, "applications": {"a": {"charm": "x"}}}
    assert merge([("b", base), ("o", {"machines": None})]).machines == {"0": {}}


def test_rule_overlay_top_level_default_base_is_ignored_with_a_warning(check: CheckFn):
    # overlay.go:522-600 reads only applications, saas, series, relations, machines
    problems, merged = check(BASE, "default-base: ubuntu@24.04\ndescription: mine\n")
    assert "default-base" not in merged.data
    warnings = [str(p) for p in problems if p.severity == "warning"]
    assert any("ignores default-base" in w and "base:" in w for w in warnings), warnings


def test_rule_overlay_services_is_dropped_with_a_warning(check: CheckFn):
    # bundledata.go:27-75: charm/v12 has no services field, so Juju never sees those apps
    problems, merged = check(BASE, "services:\n  extra: {charm: etcd, num_units: 1}\n")
    assert "extra" not in merged.apps
    assert any("rename it applications:" in str(p) for p in problems), messages(problems)


def test_rule_repeated_relation_is_an_error_in_either_order(check: CheckFn):
    # bundledata.go:885-892: endpoints sorted, seen twice -> "defined more than once"
    overlay = (
        "relations:\n  - [kubernetes-worker:kube-control, kubernetes-control-plane:kube-control]\n"
    )
    problems, _ = check(BASE, overlay)
    assert any("defined more than once" in e for e in errors(problems)), messages(problems)


def test_rule_a_type_error_drops_the_whole_overlay_document(check: CheckFn):
    # bundledatasrc.go:219-238 + bundledata.go:273-279: the decode error empties the document
    overlay = (
        "applications:\n  easyrsa: {num_units: 2}\n---\napplications:\n  easyrsa: {to: lxd}\n"
    )
    problems, merged = check(BASE, overlay)
    assert merged.apps["easyrsa"]["num_units"] == 2  # the first document still applies
    assert any("Juju would silently drop this overlay document" in e for e in errors(problems))


def test_rule_an_empty_overlay_is_fine(check: CheckFn):
    # overlay.go:523-525 (no presence map: nothing to apply); an empty file has no document
    problems, _ = check(BASE, "")
    assert errors(problems) == [], messages(problems)


def test_rule_base_bundle_needs_an_application(check: CheckFn):
    # bundledata.go:622-624
    problems, _ = check('machines:\n  "0": {}\n')
    assert any("at least one application" in e for e in errors(problems)), messages(problems)


def test_rule_image_id_only_in_overlays(check: CheckFn):
    # juju cmd/juju/application/bundle/bundle.go verifyBaseBundle: HasImageID on the base
    base = BASE.replace("tags=k8_admin", '"tags=k8_admin image-id=img"')
    problems, _ = check(base)
    assert any("'image-id' constraint in a base bundle" in e for e in errors(problems))
    problems, _ = check(BASE, 'applications:\n  easyrsa: {constraints: "image-id=img"}\n')
    assert errors(problems) == [], messages(problems)


def test_rule_revision_needs_a_channel(check: CheckFn):
    # bundledata.go:661-664
    problems, _ = check(BASE, "applications:\n  easyrsa: {channel: null, revision: 5}\n")
    assert any("requires a channel" in e for e in errors(problems)), messages(problems)


def test_rule_storage_count_zero(check: CheckFn):
    # juju core/storage/directive.go parseCount: "count must be greater than zero"
    problems, _ = check(BASE, 'applications:\n  easyrsa:\n    storage: {data: "pool,0"}\n')
    assert any("count must be greater than zero" in e for e in errors(problems))
