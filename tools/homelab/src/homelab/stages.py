"""Issue 12's stages of the plan: nouveau, the NVIDIA GPU operator, MetalLB or NodePort, login.

`finish(plan)` (called by make_plan) inserts the steps into the plan's commands, adds the MAAS
reservation of the MetalLB range to "before you start", and the problems the site's choices make
(an operator pod that would not tolerate the GPU taint, a MetalLB gateway without a range).
The dashboard password is made here too (`ensure_login`): a CSPRNG secret in a 0600 file that
no output ever shows; the juju command reads it with `--file` (never on a command line).
"""

from __future__ import annotations

import os
import re
import secrets
import tempfile
from pathlib import Path

import yaml

from homelab.plan import Plan, Step
from homelab.problems import Problem
from homelab.upstream import ADDON_CHANNELS

GPU_WORKER_UNIT = "kubernetes-worker-gpu/0"
OPERATOR_MODEL = "gpu-operator"
METALLB_MODEL = "metallb-system"
GATEWAY_APP = "istio-ingressgateway"
GATEWAY_SERVICE = "istio-ingressgateway-workload"
DEX_APP = "dex-auth"
NOUVEAU_CONF = "/etc/modprobe.d/blacklist-nouveau.conf"
PASSWORD_BYTES = 24  # 192 bits from secrets (the OS CSPRNG)
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")


def username_rule(value: str) -> str | None:
    """The dex static username: one word of lower-case letters, digits, . _ -."""
    if _USERNAME.fullmatch(value):
        return None
    return "must be a user name: lower-case letters, digits, . _ - (up to 63, no spaces)"


def secret_path(out: Path) -> Path:
    """Where the dashboard login lives: beside the kubeconfig, in a 0700 folder."""
    return out / "secrets" / "dex-auth.yaml"


def _config_text(username: str, password: str) -> str:
    """`juju config dex-auth --file` reads application name -> options."""
    return yaml.safe_dump(
        {DEX_APP: {"static-username": username, "static-password": password}},
        default_flow_style=False,
    )


def _read_password(path: Path) -> str | None:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    body = data.get(DEX_APP) if isinstance(data, dict) else None
    password = body.get("static-password") if isinstance(body, dict) else None
    return password if isinstance(password, str) and len(password) >= 22 else None


def ensure_login(username: str, out: Path, *, rotate: bool = False) -> tuple[Path, str]:
    """Create (or keep, or with `rotate` replace) the login file; return (path, what happened).

    The folder is made 0700 and the file 0600, written to a temporary file in the same folder
    and renamed over the old one (atomic: a reader sees the old or the new file, never half).
    The password is never returned or printed.
    """
    path = secret_path(out)
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(folder, 0o700)
    old = None if rotate else _read_password(path)
    if old is not None and path.stat().st_mode & 0o077:
        os.chmod(path, 0o600)
    password = old or secrets.token_urlsafe(PASSWORD_BYTES)
    text = _config_text(username, password)
    if old is not None and path.read_text(encoding="utf-8") == text:
        return path, "kept"
    fd, tmp = tempfile.mkstemp(prefix=".dex-auth.", dir=folder)  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if rotate:
        return path, "replaced"
    return path, "kept (user name updated)" if old else "created"


def _range(site) -> tuple[str, str]:
    start, _, end = site.get("kubeflow.metallb_range").partition("-")
    return start.strip(), end.strip()


def _kubectl(m: str, *args: str) -> list[str]:
    """Kubectl on the control plane (CK installs it there; /root/.kube/config is admin).

    `juju exec` joins its arguments into one line for bash on the unit: arguments that bash
    would change (braces, backslashes, parentheses) carry their own double quotes.
    """
    return [
        "juju",
        "exec",
        "-m",
        m,
        "--unit",
        "kubernetes-control-plane/leader",
        "--",
        "kubectl",
        "--kubeconfig",
        "/root/.kube/config",
        *args,
    ]


def nouveau_script() -> str:
    """Keep nouveau out of the way of the operator's driver container (facts §8)."""
    return (
        f'printf "blacklist nouveau\\noptions nouveau modeset=0\\n" > {NOUVEAU_CONF} && '
        "update-initramfs -u && "
        'if lsmod | grep -q "^nouveau "; then echo "nouveau loaded: rebooting in 5 s"; '
        "(sleep 5; systemctl reboot) > /dev/null 2>&1 & fi"
    )


def gpu_steps(site, m: str, ctrl: str, cloud: str) -> list[Step]:
    """nouveau, then the operator in its own Kubernetes model, then the wait for the GPU."""
    role = site.get("kubeflow.role_label")
    op = f"{ctrl}:{OPERATOR_MODEL}"
    channel = ADDON_CHANNELS["nvidia-gpu-operator"]
    return [
        Step(
            f"blacklist nouveau on the GPU worker ({NOUVEAU_CONF}, initramfs) and reboot it if "
            "nouveau is loaded: the operator's driver container cannot load beside it",
            ["juju", "exec", "-m", m, "--unit", GPU_WORKER_UNIT, "--", nouveau_script()],
        ),
        Step(
            "check the GPU worker runs without nouveau (waits for it to come back; if it was "
            "rebooting when this ran, run deploy again)",
            [
                "juju",
                "exec",
                "-m",
                m,
                "--unit",
                GPU_WORKER_UNIT,
                "--wait",
                "30m",
                "--",
                '! lsmod | grep -q "^nouveau "',
            ],
        ),
        Step(
            f"create the Kubernetes model {OPERATOR_MODEL} for the NVIDIA GPU operator on "
            f"{cloud} (the lab's cluster)",
            ["juju", "add-model", OPERATOR_MODEL, cloud, "--controller", ctrl],
            ("model", ctrl, OPERATOR_MODEL),
        ),
        Step(
            f"deploy the NVIDIA GPU operator {channel} (driver, toolkit, device plugin, GFD)",
            ["juju", "deploy", "-m", op, "nvidia-gpu-operator", "--channel", channel, "--trust"],
            ("apps", op, "nvidia-gpu-operator"),
        ),
        Step(
            "wait until the GPU node reports nvidia.com/gpu allocatable: that is done (the docs: "
            "typically 15-30 minutes)",
            _kubectl(
                m,
                "wait",
                "node",
                "-l",
                f"{role}=gpu",
                '"--for=jsonpath={.status.allocatable.nvidia\\.com/gpu}"',
                "--timeout=45m",
            ),
        ),
    ]


def metallb_steps(site, ctrl: str, cloud: str) -> list[Step]:
    """MetalLB in its own Kubernetes model, handing out the site's reserved range."""
    mm = f"{ctrl}:{METALLB_MODEL}"
    channel = ADDON_CHANNELS["metallb"]
    iprange = "-".join(_range(site))
    return [
        Step(
            f"create the Kubernetes model {METALLB_MODEL} for MetalLB on {cloud}",
            ["juju", "add-model", METALLB_MODEL, cloud, "--controller", ctrl],
            ("model", ctrl, METALLB_MODEL),
        ),
        Step(
            f"deploy MetalLB {channel} (layer 2), addresses {iprange} (reserved in MAAS)",
            [
                "juju",
                "deploy",
                "-m",
                mm,
                "metallb",
                "--channel",
                channel,
                "--trust",
                "--config",
                f"iprange={iprange}",
            ],
            ("apps", mm, "metallb"),
        ),
    ]


def finish(plan: Plan) -> Plan:
    """Add issue 12's steps, the MAAS reservation and the problems to a plan."""
    site = plan.site
    ctrl = site.get("juju.controller")
    m = f"{ctrl}:{site.get('juju.model')}"
    cloud = site.get("juju.k8s_cloud")
    kf = f"{ctrl}:kubeflow"
    steps = plan.steps
    plan.problems += stage_problems(site)
    at = next((i for i, s in enumerate(steps) if s.done[:1] == ("cloud",)), None)
    if at is None:  # no Kubernetes cloud in the plan (Kubeflow disabled): nothing to add to
        return plan
    extra: list[Step] = []
    if site.get("gpu.enabled") and site.get("gpu.driver_route") == "operator":
        extra += gpu_steps(site, m, ctrl, cloud)
    gateway = site.get("kubeflow.gateway")
    if gateway == "metallb" and site.get("kubeflow.metallb_range"):
        extra += metallb_steps(site, ctrl, cloud)
        start, end = _range(site)
        boot = [n for n, s in enumerate(plan.day0) if s.argv[:2] == ["juju", "bootstrap"]]
        plan.day0.insert(
            boot[0] if boot else len(plan.day0),
            Step(
                f"reserve {start}-{end} in MAAS for MetalLB, so MAAS never gives those addresses "
                "to a machine (they must be in the machines' subnet)",
                [
                    "maas",
                    "$PROFILE",
                    "ipranges",
                    "create",
                    "type=reserved",
                    f"start_ip={start}",
                    f"end_ip={end}",
                    f"comment=MetalLB: Kubeflow dashboard ({site.name})",
                ],
            ),
        )
    steps[at + 1 : at + 1] = extra
    secret = str(secret_path(plan.out))
    tail = [
        Step(
            f"set the dashboard login: user {site.get('kubeflow.username')}, password from "
            f"{secret} (0600; made by deploy, kept across runs, replaced by --new-password)",
            ["juju", "config", "-m", kf, DEX_APP, "--file", secret],
        )
    ]
    if gateway == "nodeport":
        tail.append(
            Step(
                "give the gateway a NodePort (MetalLB not used)",
                ["juju", "config", "-m", kf, GATEWAY_APP, "gateway_service_type=NodePort"],
            )
        )
        tail.append(
            Step(
                "print the gateway's NodePort (open http://<any node's address>:<that port>/)",
                _kubectl(
                    m,
                    "-n",
                    "kubeflow",
                    "get",
                    "svc",
                    GATEWAY_SERVICE,
                    "-o",
                    '"jsonpath={.spec.ports[?(@.port==80)].nodePort}"',
                ),
            )
        )
    else:
        tail.append(
            Step(
                "wait for MetalLB to give the gateway its address, and print it",
                _kubectl(
                    m,
                    "-n",
                    "kubeflow",
                    "wait",
                    f"svc/{GATEWAY_SERVICE}",
                    '"--for=jsonpath={.status.loadBalancer.ingress[0].ip}"',
                    "--timeout=30m",
                    "-o",
                    '"jsonpath={.status.loadBalancer.ingress[0].ip}"',
                ),
            )
        )
    kf_at = next((i for i, s in enumerate(steps) if s.done[:2] == ("apps", kf)), len(steps) - 1)
    steps[kf_at + 1 : kf_at + 1] = tail
    return plan


def stage_problems(site) -> list[Problem]:
    """What the site's GPU taint, gateway choice and machine sizes would break."""
    from homelab.layout import fit_problems

    problems = fit_problems(site)
    if site.get("gpu.enabled") and site.get("gpu.driver_route") == "operator":
        from homelab.gpu_operator import problem

        found = problem(site.get("gpu.taint"), "nvidia.com/gpu", "present")
        if found:
            problems.append(Problem(site.path, "gpu.taint", found))
    metallb = site.get("kubeflow.enabled") and site.get("kubeflow.gateway") == "metallb"
    if metallb and not site.get("kubeflow.metallb_range"):
        problems.append(
            Problem(
                site.path,
                "kubeflow.metallb_range",
                "gateway metallb needs an address range A-B in the machines' subnet, free "
                "in MAAS (the plan reserves it), or choose gateway: nodeport",
            )
        )
    return problems


def closing_text(plan: Plan) -> str:
    """The plan's last lines: the proof (`homelab verify`), then the URL and the user."""
    site = plan.site
    proof = (
        "Prove the lab when the last command has finished (nodes, default class, a claim "
        "written as uid 1000, the GPU, an nvidia-smi Job, the dashboard login page):\n"
        f"  ./homelab verify --site {site.path} --kubeconfig {plan.out / 'kubeconfig'}"
    )
    if not site.get("kubeflow.enabled"):
        return proof
    if site.get("kubeflow.gateway") == "nodeport":
        url = "http://<any node's address>:<the NodePort printed above>/"
    else:
        start, end = _range(site) if site.get("kubeflow.metallb_range") else ("<A>", "<B>")
        url = f"http://<the address printed above, from {start}-{end}; normally {start}>/"
    path = secret_path(plan.out)
    from homelab.layout import fit_text

    return "\n".join(
        [
            fit_text(site),
            "",
            proof,
            "",
            f"Open the Kubeflow dashboard: {url}",
            f'Log in as: {site.get("kubeflow.username")} (the form\'s "Email Address" field); '
            f"password: the static-password in {path} (only you can read it)",
        ]
    )
