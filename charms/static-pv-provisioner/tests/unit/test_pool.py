"""Pool logic as plain tests: parsing, naming, diffing, top-up, shrink, collisions, summary."""

from __future__ import annotations

import pytest

from pool import (
    ConfigError,
    Size,
    Target,
    Volume,
    check_binding_mode,
    check_class_name,
    check_limits,
    free_names,
    make_plan,
    parse_mode,
    parse_owner,
    parse_pool,
    parse_size,
    pv_index,
    pv_name,
    summarize,
)

GI10 = Size(10 * 1024)
GI50 = Size(50 * 1024)
OPTIONS = ("nfsvers=4.1", "hard")


def target(pool: str = "10Gi:8,50Gi:4", min_available: int = 2, max_per_size: int = 32) -> Target:
    return Target(
        class_name="homelab-nfs",
        server="10.0.0.5",
        export="/volume1/k8s",
        mount_options=OPTIONS,
        sizes=parse_pool(pool, max_per_size),
        min_available=min_available,
        max_per_size=max_per_size,
    )


def volume(name: str, size: Size | None = GI10, phase: str = "Available", **kw: object) -> Volume:
    fields: dict = {
        "storage_class": "homelab-nfs",
        "server": "10.0.0.5",
        "path": f"/volume1/k8s/{name}",
        "mount_options": OPTIONS,
        "claim": "ns/claim" if phase in ("Bound", "Released") else "",
    }
    fields.update(kw)
    return Volume(name=name, size=size, phase=phase, **fields)


def pool_of(size: Size, n: int, phases: dict[int, str] | None = None) -> list[Volume]:
    phases = phases or {}
    return [
        volume(pv_name("homelab-nfs", size, i), size, phases.get(i, "Available"))
        for i in range(1, n + 1)
    ]


# Parsing.


@pytest.mark.parametrize(
    ("text", "text_out", "slug"),
    [("10Gi", "10Gi", "10gi"), ("500Mi", "500Mi", "500mi"), ("1024Mi", "1Gi", "1gi"),
     ("2Ti", "2Ti", "2ti"), ("2048Gi", "2Ti", "2ti")],
)  # fmt: skip
def test_sizes_use_the_largest_exact_unit(text: str, text_out: str, slug: str) -> None:
    size = parse_size(text)
    assert (size.text, size.slug) == (text_out, slug)


def test_pool_parses_sorted() -> None:
    assert parse_pool("50Gi:4, 10Gi:8", 32) == ((GI10, 8), (GI50, 4))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("lots", "expected size:count"),
        ("", "expected comma-separated size:count"),
        ("10Gi:3,", "expected comma-separated size:count"),
        ("10GB:3", "write 10Gi, not 10GB"),
        ("10G:3", "write 10Gi, not 10GB"),
        ("-1Gi:2", "not a whole number of Mi, Gi or Ti"),
        ("0Gi:2", "larger than zero"),
        ("10Gi:0", "count must be at least 1"),
        ("10Gi:-1", "count must be a whole number"),
        ("10Gi:100000", "more than max-per-size 32"),
        ("10Gi:3,10Gi:4", "given more than once"),
        ("1Gi:3,1024Mi:4", "size 1Gi is given more than once"),
        ("10Gi", "expected size:count"),
        ("2048Ti:1", "larger than 1024Ti"),
        ("1.5Gi:1", "not a whole number"),
    ],
)
def test_bad_pool_strings_name_the_rule(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        parse_pool(text, 32)


@pytest.mark.parametrize(
    "name", ["", "Homelab", "homelab_nfs", "-a", "a-", "a..b", "a" * 201, "ünï", "a b"]
)
def test_bad_class_names(name: str) -> None:
    with pytest.raises(ConfigError, match="storage-class"):
        check_class_name(name)


@pytest.mark.parametrize("name", ["homelab-nfs", "default", "nfs.lab.example", "a", "a" * 200])
def test_good_class_names(name: str) -> None:
    assert check_class_name(name) == name


def test_modes_owners_binding_limits() -> None:
    assert parse_mode("0770") == 0o770
    assert parse_mode("2775") == 0o2775
    assert parse_mode("755") == 0o755
    for bad in ("0980", "rwx", "77", "07777x", ""):
        with pytest.raises(ConfigError, match="directory-mode"):
            parse_mode(bad)
    assert parse_owner("1000:100") == (1000, 100)
    for bad in ("root:root", "1000", "-1:0", "4294967295:0", ""):
        with pytest.raises(ConfigError, match="directory-owner"):
            parse_owner(bad)
    assert check_binding_mode("WaitForFirstConsumer") == "WaitForFirstConsumer"
    with pytest.raises(ConfigError, match="volume-binding-mode"):
        check_binding_mode("Lazy")
    check_limits(0, 1)
    with pytest.raises(ConfigError, match="max-per-size 0"):
        check_limits(0, 0)
    with pytest.raises(ConfigError, match="max-per-size 1000"):
        check_limits(2, 1000)
    with pytest.raises(ConfigError, match="min-available 40"):
        check_limits(40, 32)
    with pytest.raises(ConfigError, match="min-available -1"):
        check_limits(-1, 32)


# Naming.


def test_names_are_stable_and_readable() -> None:
    assert pv_name("homelab-nfs", GI10, 3) == "homelab-nfs-10gi-003"
    assert pv_index("homelab-nfs", GI10, "homelab-nfs-10gi-003") == 3
    assert pv_index("homelab-nfs", GI10, "homelab-nfs-50gi-003") is None
    assert pv_index("homelab-nfs", GI10, "other-10gi-003") is None
    assert pv_index("homelab-nfs", GI10, "homelab-nfs-10gi-x") is None
    taken = {"homelab-nfs-10gi-001", "homelab-nfs-10gi-003"}
    names = list(free_names("homelab-nfs", GI10, taken, 5))
    assert names == ["homelab-nfs-10gi-002", "homelab-nfs-10gi-004", "homelab-nfs-10gi-005"]


# Diffing.


def test_empty_cluster_creates_the_whole_pool() -> None:
    plan = make_plan(target(), [])
    assert plan.create == {GI10: 8, GI50: 4}
    assert (plan.delete, plan.update, plan.kept_in_use) == ([], [], 0)


def test_steady_state_plans_nothing() -> None:
    existing = pool_of(GI10, 8) + pool_of(GI50, 4)
    plan = make_plan(target(), existing)
    assert (plan.create, plan.delete, plan.update) == ({}, [], [])


def test_top_up_keeps_min_available_per_size() -> None:
    # 7 of 8 bound: 1 available < 2 -> one more (9 total).
    existing = pool_of(GI10, 8, dict.fromkeys(range(1, 8), "Bound")) + pool_of(GI50, 4)
    plan = make_plan(target(), existing)
    assert plan.create == {GI10: 1}


def test_top_up_counts_released_as_used_and_stops_at_max() -> None:
    phases = dict.fromkeys(range(1, 9), "Bound") | {9: "Released"}
    existing = pool_of(GI10, 10, phases) + pool_of(GI50, 4)
    plan = make_plan(target(max_per_size=11), existing)
    assert plan.create == {GI10: 1}  # 9 used + 2 = 11 wanted, capped at 11; 10 exist
    plan = make_plan(target(max_per_size=10), existing)
    assert plan.create == {}


def test_min_available_zero_turns_top_up_off() -> None:
    existing = pool_of(GI10, 8, dict.fromkeys(range(1, 9), "Bound")) + pool_of(GI50, 4)
    plan = make_plan(target(min_available=0), existing)
    assert (plan.create, plan.delete, plan.update) == ({}, [], [])


def test_a_one_size_change_touches_only_that_size() -> None:
    existing = pool_of(GI10, 8) + pool_of(GI50, 4)
    plan = make_plan(target("10Gi:8,50Gi:6"), existing)
    assert plan.create == {GI50: 2}
    assert (plan.delete, plan.update) == ([], [])


def test_shrink_deletes_only_available_highest_index_first() -> None:
    existing = pool_of(GI10, 8, {8: "Bound", 7: "Released"}) + pool_of(GI50, 4)
    plan = make_plan(target("10Gi:4,50Gi:4"), existing)
    # 2 used + 2 available wanted = 4: delete 4 of the 6 available, highest first.
    assert plan.delete == [f"homelab-nfs-10gi-00{i}" for i in (6, 5, 4, 3)]
    assert plan.kept_in_use == 0


def test_shrink_below_usage_reports_what_could_not_go() -> None:
    existing = pool_of(GI10, 8, dict.fromkeys(range(1, 7), "Bound")) + pool_of(GI50, 4)
    plan = make_plan(target("10Gi:2,50Gi:4", min_available=0, max_per_size=4), existing)
    # want min(max(2, 6 + 0), 4) = 4 of 8: the 2 available go; 6 bound, 4 above the count.
    assert sorted(plan.delete) == ["homelab-nfs-10gi-007", "homelab-nfs-10gi-008"]
    assert plan.kept_in_use == 4


def test_shrink_reports_in_use_volumes_above_the_count() -> None:
    # 8 -> 2 with 5 bound and min-available 0: the 3 free ones go, 3 bound ones are extra.
    existing = pool_of(GI10, 8, dict.fromkeys(range(1, 6), "Bound"))
    plan = make_plan(target("10Gi:2", min_available=0), existing)
    assert sorted(plan.delete) == [f"homelab-nfs-10gi-00{i}" for i in (6, 7, 8)]
    assert plan.kept_in_use == 3


def test_sizes_dropped_from_the_pool_lose_only_available_volumes() -> None:
    existing = pool_of(GI10, 8) + pool_of(GI50, 4, {1: "Bound", 2: "Released"})
    plan = make_plan(target("10Gi:8"), existing)
    assert sorted(plan.delete) == ["homelab-nfs-50gi-003", "homelab-nfs-50gi-004"]
    assert plan.kept_in_use == 2
    assert plan.create == {}


def test_mount_option_drift_is_an_update_for_every_phase() -> None:
    existing = [
        volume("homelab-nfs-10gi-001", mount_options=("nfsvers=3",)),
        volume("homelab-nfs-10gi-002", phase="Bound", mount_options=("nfsvers=3",)),
        *pool_of(GI50, 4),
    ]
    plan = make_plan(target("10Gi:2,50Gi:4", min_available=0), existing)
    assert plan.update == ["homelab-nfs-10gi-001", "homelab-nfs-10gi-002"]
    assert plan.create == {}


def test_volumes_on_another_share_or_class_are_replaced_when_available() -> None:
    existing = [
        volume("homelab-nfs-10gi-001", server="10.0.0.9"),
        volume("homelab-nfs-10gi-002", phase="Bound", server="10.0.0.9"),
        volume("homelab-nfs-10gi-003", storage_class="old"),
        volume("homelab-nfs-10gi-004", path="/elsewhere"),
    ]
    plan = make_plan(target("10Gi:2", min_available=0), existing)
    assert sorted(plan.delete) == [
        "homelab-nfs-10gi-001",
        "homelab-nfs-10gi-003",
        "homelab-nfs-10gi-004",
    ]
    assert plan.stale_in_use == 1
    assert plan.create == {GI10: 2}
    # New names never reuse a name still present (it may be terminating).
    assert "homelab-nfs-10gi-001" in plan.taken


def test_deleting_and_odd_volumes() -> None:
    existing = [
        volume("homelab-nfs-10gi-001", deleting=True),
        volume("homelab-nfs-10gi-002", size=None),
        volume("homelab-nfs-10gi-003", size=None, phase="Bound"),
    ]
    plan = make_plan(target("10Gi:1", min_available=0), existing)
    assert plan.delete == ["homelab-nfs-10gi-002"]
    assert plan.kept_in_use == 1
    assert plan.create == {GI10: 1}
    assert {"homelab-nfs-10gi-001", "homelab-nfs-10gi-002"} <= plan.taken


def test_summary_text_matches_the_status_format() -> None:
    volumes = pool_of(GI10, 12, dict.fromkeys((1, 2, 3), "Bound") | {4: "Released"})
    assert summarize(volumes).text() == "12 PVs (8 available, 3 bound, 1 released)"
    odd = [volume("a", phase="Failed"), volume("b", phase=""), volume("c", deleting=True)]
    assert summarize(odd).text() == (
        "3 PVs (0 available, 0 bound, 0 released, 1 deleting, 1 failed, 1 pending)"
    )
    assert summarize([volume("a")]).text() == "1 PV (1 available, 0 bound, 0 released)"


def test_an_available_pv_with_a_claim_ref_is_in_use() -> None:
    # WaitForFirstConsumer or a pre-bound PV: claimRef set while the phase is still Available.
    binding = volume("homelab-nfs-10gi-004", claim="kubeflow/data-0")
    assert not binding.available
    assert volume("homelab-nfs-10gi-004").available
    existing = [v if v.name != binding.name else binding for v in pool_of(GI10, 4)]
    plan = make_plan(target("10Gi:1", min_available=0), existing)
    # want max(1, 1 in use) = 1: the 3 free ones go, never the one being bound.
    assert sorted(plan.delete) == [f"homelab-nfs-10gi-00{i}" for i in (1, 2, 3)]
    plan = make_plan(target("10Gi:2", min_available=0), [*pool_of(GI50, 1), binding])
    assert plan.delete == ["homelab-nfs-50gi-001"]  # a dropped size: only the free one goes


def test_pending_volumes_are_not_consumed() -> None:
    # A slow PV controller: 8 new PVs still Pending (or with no phase yet) must not top up.
    existing = [volume(pv_name("homelab-nfs", GI10, i), phase="Pending") for i in range(1, 7)]
    existing += [volume(pv_name("homelab-nfs", GI10, i), phase="") for i in (7, 8)]
    plan = make_plan(target("10Gi:8"), existing)
    assert plan.create == {}
    assert plan.delete == []
    # In use: Bound, Released, and anything with a claimRef (a Failed recycle keeps its claim).
    assert volume("a", phase="Bound").in_use
    assert volume("a", phase="Released").in_use
    assert volume("a", phase="Failed", claim="ns/c").in_use
    assert volume("a", phase="Available", claim="ns/c").in_use
    assert not volume("a", phase="Failed").in_use
    assert not volume("a", phase="Pending").in_use
    assert not volume("a").in_use
