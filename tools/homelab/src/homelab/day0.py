"""Day 0 in the plan: MAAS tags, the GPU box's 10G NIC, the controller's own tag and bootstrap.

Printed, never run by `deploy` (the MAAS CLI and bootstrap are the user's: no MAAS here).
Commands follow the MAAS CLI reference (canonical.com/maas/docs: `tags create`,
`tag update-nodes`, `machines read hostname=`, `interfaces read`, `subnets read`,
`interface link-subnet`) and `juju bootstrap --constraints` (Juju 3.6 and 4.0).
"""

from __future__ import annotations

import shlex

from homelab.maasnames import ROLE_NAMES, ROLES
from homelab.plan import Plan, Step
from homelab.problems import WARNING, Problem
from homelab.site import Site

PROFILE = "$PROFILE"  # the MAAS CLI profile (`maas login <profile> <url> <key>`)


def _system_id(site: Site, role: str) -> str:
    """The machine's system id, or a lookup by hostname (shell), or a placeholder."""
    sid = site.get(f"maas.machines.{role}.system_id")
    if sid:
        return sid
    host = site.get(f"maas.machines.{role}.hostname")
    if host:
        return f"\"$(maas {PROFILE} machines read hostname={host} | jq -r '.[0].system_id')\""
    return f"<system id of the {ROLE_NAMES[role]}>"


def day0_steps(site: Site) -> list[Step]:
    """The day-0 commands in order (a Step each, for the text; deploy never runs them)."""
    steps: list[Step] = []
    tags = {role: site.get(f"maas.tags.{role}") for role in ROLES}
    comments = {
        "control_plane": "homelab: control plane, etcd, easyrsa, API load balancer",
        "kubeflow": "homelab: the worker for the Kubeflow pods",
        "gpu": "homelab: the GPU worker",
    }
    for role in ROLES:
        steps.append(
            Step(
                f"create the MAAS tag {tags[role]} ({ROLE_NAMES[role]})",
                [
                    "maas",
                    PROFILE,
                    "tags",
                    "create",
                    f"name={tags[role]}",
                    f"comment={comments[role]}",
                ],
            )
        )
    for role in ROLES:
        steps.append(
            Step(
                f"tag the {ROLE_NAMES[role]} {tags[role]}",
                [
                    "maas",
                    PROFILE,
                    "tag",
                    "update-nodes",
                    tags[role],
                    f"add={_system_id(site, role)}",
                ],
            )
        )
    nic = site.get("maas.gpu_nic.name")
    subnet = site.get("maas.gpu_nic.subnet")
    if nic:
        gpu = _system_id(site, "gpu")
        iface = (
            f'"$(maas {PROFILE} interfaces read {gpu} | jq -r \'.[] | select(.name=="{nic}") '
            "| .id')\""
        )
        sub = (
            f'"$(maas {PROFILE} subnets read | jq -r \'.[] | select(.cidr=="{subnet}") | .id\')"'
            if subnet
            else "<id of the 10G subnet>"
        )
        steps.append(
            Step(
                f"link the GPU box's 10G interface {nic} to subnet {subnet or '(name one)'} "
                "(MAAS configures only the interface it booted from; the machine must be Ready, "
                "so do this before it is deployed)",
                [
                    "maas",
                    PROFILE,
                    "interface",
                    "link-subnet",
                    gpu,
                    iface,
                    "mode=AUTO",
                    f"subnet={sub}",
                ],
            )
        )
    ctag = site.get("maas.controller_tag")
    steps.append(
        Step(
            f"create the controller's own tag {ctag} and put it on a small machine or VM that is "
            "none of the three above",
            [
                "maas",
                PROFILE,
                "tags",
                "create",
                f"name={ctag}",
                "comment=homelab: the Juju controller only",
            ],
        )
    )
    steps.append(
        Step(
            f"bootstrap the controller onto the {ctag} machine only (unconstrained, it takes any "
            "Ready machine, perhaps a lab box, and every later tags= allocation fails)",
            [
                "juju",
                "bootstrap",
                site.get("juju.cloud"),
                site.get("juju.controller"),
                "--constraints",
                f"tags={ctag}",
            ],
        )
    )
    return steps


def _shell(step: Step) -> str:
    """Like Step.shell, but keeps `$(...)` lookups and $PROFILE as the shell needs them."""
    words = []
    for word in step.argv:
        if "$" in word or word.startswith("<"):
            words.append(word)
        else:
            words.append(shlex.quote(word))
    return " ".join(words)


def day0_text(plan: Plan) -> str:
    """The "Before you start" section."""
    site = plan.site
    out = [
        "Before you start (day 0, on MAAS; printed only: `deploy` runs none of these)",
        "  the three machines commissioned and Ready in MAAS; `maas login <profile> <url> <key>`, "
        "then PROFILE=<profile>; jq installed",
    ]
    for n, step in enumerate(plan.day0, 1):
        out.append(f"  {n:>2}. # {step.title}")
        out.append(f"      {_shell(step)}")
    spaces = {r: site.get(f"maas.spaces.{r}") for r in ROLES}
    named = [f"{ROLE_NAMES[r]} {s}" for r, s in spaces.items() if s]
    if named:
        out.append(
            "  spaces: " + ", ".join(named) + " (spaces= on those machines only; kube-control "
            "and cni of their worker/control-plane application bound to it)"
        )
    if plan.juju != "3.6":
        default = site.get("maas.default_space")
        out.append(
            f"  Juju {plan.juju}: MAAS has no default space: "
            + (
                f"the machine model gets default-space={default}"
                if default
                else "set maas.default_space to the space of the machines' first NIC"
            )
        )
        out.append(
            f"  Juju {plan.juju} adds no SSH keys to new models: add yours with "
            "`juju add-ssh-key` if you want `juju ssh` (the plan uses `juju exec`)"
        )
    return "\n".join(out)


def finish_plan(plan: Plan, juju: str) -> Plan:
    """Day 0, the Juju form of each command, and the network checks (called by make_plan)."""
    from homelab.jujuver import bundle_path, for_juju
    from homelab.network import binding_problems

    site = plan.site
    plan.juju = juju
    plan.day0 = day0_steps(site)
    plan.steps = for_juju(
        plan.steps,
        juju,
        bundle=bundle_path(plan.out, site.line.track),
        space=site.get("maas.default_space"),
        maas_cloud=site.get("juju.cloud"),
    )
    plan.problems += binding_problems(plan.machine, "the rendered lab")
    if juju != "3.6" and not site.get("maas.default_space"):
        plan.problems.append(
            Problem(
                site.path,
                "maas.default_space",
                f"Juju {juju} on MAAS has no default space: set it to the space of the machines' "
                "first NIC (the machine model's default-space)",
                0,
                WARNING,
            )
        )
    if juju != "3.6" and site.get("kubeflow.enabled"):
        plan.problems.append(
            Problem(
                site.path,
                "kubeflow.enabled",
                f"Charmed Kubeflow supports Juju 3.6 only, not {juju}: its steps are printed, "
                "but no Charmed Kubeflow release lists Juju 4",
                0,
                WARNING,
            )
        )
    return plan
