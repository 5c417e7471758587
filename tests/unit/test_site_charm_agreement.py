"""A site value passes the tool's site check exactly when the charm it reaches accepts it.

One table of values per site key, driven through both: `homelab.site.validate` on
sites/example.yaml with the value put in, and the charm's own typed config (remote-nfs-mount's
`NasConfig`, which `load_config` builds) with the value in the option the rendered overlay sets
(tools/homelab/src/homelab/templates/storage.yaml.j2). Each side runs in its own process with
only its own project and homelab_core on the path.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "core" / "src"
TOOL = ROOT / "tools" / "homelab" / "src"
RNM = ROOT / "charms" / "remote-nfs-mount"
SPV = ROOT / "charms" / "static-pv-provisioner"

# site key -> the charm option it is rendered into (templates/storage.yaml.j2)
SPV_KEYS = {
    "storage.class": "storage-class",
    "storage.pool": "pool",
    "storage.min_available": "min-available",
}
SPV_VALUES = {
    "storage.class": [
        "homelab-nfs",
        "default",
        "a.b-c",
        "a" * 200,
        "a" * 201,
        "Homelab",
        "nfs-",
        "a_b",
        "a b",
        "a\nb",
        "",
        ".a",
    ],
    "storage.pool": [
        "10Gi:8,50Gi:4",
        "500Mi:1",
        "10Gi:32",
        "10Gi:33",
        "10Gi:0",
        "10G:1",
        "10Gi:1,10240Mi:1",
        "lots",
        "",
        "10Gi:8,",
        "0Gi:1",
        "2048Ti:1",
    ],
    "storage.min_available": [0, 2, 32, 33, -1],
}
# site key -> remote-nfs-mount option it is rendered into
KEYS = {
    "nas.host": "nas-host",
    "nas.export": "export-path",
    "nas.nfs_version": "nfs-version",
    "nas.mount_options": "mount-options",
}
VALUES = {
    "nas.host": [
        "192.168.10.20",
        "nas.lab",
        "nas",
        "fd00::20",
        "fe80::1%eth0",
        "NAS-1.lab.",
        "::1",
        "0.0.0.0",
        "::",
        "224.0.0.1",
        "ff02::1",
        "255.255.255.255",
        "10.0.0.256",
        "010.0.0.1",
        "fe80::1%eth0\nmachines:",
        "fe80::1%eth0:",
        "fe80::1%",
        "2001:db8::1%eth0",
        "no",
        "yes",
        "on",
        "true",
        "null",
        "~",
        "1e3",
        "0x1f",
        "1:2:3:4:5:6:7:8",
        "2001-12-14",
        "nas lab",
        "nas:2049",
        "[fd00::20]",
        "nfs://nas/x",
        "nas_1.lab",
        "-nas",
        "a" * 64,
        "",
        " nas",
    ],
    "nas.export": [
        "/volume1/k8s",
        "/k8s/",
        "/mnt/pool/ds",
        "/a.b_c-d~e@f+g=h%i",
        "/",
        "//",
        "volume1",
        "/a/../b",
        "/a/./b",
        "/a//b",
        "/a b",
        "/a\nmachines:",
        "/a/b:",
        "/a: b",
        "/a #b",
        "/a,b",
        "/a;id",
        "/a/" + "b" * 256,
        "/a" * 513,
        "",
    ],
    "nas.nfs_version": ["3", "4", "4.0", "4.1", "4.2", "5", "4.3", "", "v4", " 4.1"],
    "nas.mount_options": [
        "hard",
        "hard,timeo=600,retrans=2,noresvport",
        "soft,ro,async",
        "ro,rw",
        "hard,soft",
        "sync,async",
        "nfsvers=4.1",
        "vers=3",
        "hard, timeo=600",
        "hard;reboot",
        "hard\nsoft",
        "bogus",
        "timeo=x",
        "hard,,soft",
        "hard,hard",
        "proto=udp",
    ],
}

SITE_SIDE = """
import json, sys
from pathlib import Path
import yaml
from homelab.site import validate
from homelab.yamlio import loads
base = yaml.safe_load(Path(sys.argv[1]).read_text())
out = []
for key, value in json.load(sys.stdin):
    data = yaml.safe_load(yaml.safe_dump(base))
    section, name = key.split(".")
    data[section][name] = value
    site = validate(loads(yaml.safe_dump(data), "site.yaml"))
    out.append(not [p for p in site.problems if p.key == key])
print(json.dumps(out))
"""

CHARM_SIDE = """
import json, sys
from pathlib import Path
import yaml
from nas_config import InvalidConfigError, NasConfig
options = yaml.safe_load(Path("charmcraft.yaml").read_text())["config"]["options"]
defaults = {name: spec.get("default") for name, spec in options.items()}
base = {**defaults, "nas-host": "192.168.10.20", "export-path": "/volume1/k8s"}
out = []
for option, value in json.load(sys.stdin):
    config = {**base, option: value}
    try:
        NasConfig(**{name.replace("-", "_"): v for name, v in config.items()})
        out.append(True)
    except InvalidConfigError as e:
        out.append(option not in {err.option for err in e.errors})
print(json.dumps(out))
"""


SPV_SIDE = """
import json, sys
from pathlib import Path
import yaml
import pool
from config import CharmConfig
options = yaml.safe_load(Path("charmcraft.yaml").read_text())["config"]["options"]
defaults = {name: spec.get("default") for name, spec in options.items()}
fields = set(CharmConfig.__dataclass_fields__)
out = []
for option, value in json.load(sys.stdin):
    config = {**defaults, option: value}
    kwargs = {k.replace("-", "_"): v for k, v in config.items() if k.replace("-", "_") in fields}
    try:
        CharmConfig(**kwargs)
        out.append(True)
    except pool.ConfigError:
        out.append(False)
print(json.dumps(out))
"""


def _run(code: str, cases: list, path: list[Path], cwd: Path, *args: str) -> list[bool]:
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env={"PYTHONPATH": ":".join(map(str, path)), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def verdicts() -> dict[tuple[str, str], tuple[bool, bool]]:
    cases = [(key, value) for key, values in VALUES.items() for value in values]
    site = _run(SITE_SIDE, cases, [TOOL, CORE], ROOT, str(ROOT / "sites" / "example.yaml"))
    charm_cases = [(KEYS[key], value) for key, value in cases]
    charm = _run(CHARM_SIDE, charm_cases, [RNM / "src", RNM / "lib", CORE], RNM)
    verdicts = {case: (s, c) for case, s, c in zip(cases, site, charm, strict=True)}
    spv_cases = [(key, value) for key, values in SPV_VALUES.items() for value in values]
    site = _run(SITE_SIDE, spv_cases, [TOOL, CORE], ROOT, str(ROOT / "sites" / "example.yaml"))
    charm_cases = [(SPV_KEYS[key], value) for key, value in spv_cases]
    charm = _run(SPV_SIDE, charm_cases, [SPV / "src", SPV / "lib", CORE], SPV)
    verdicts.update({case: (s, c) for case, s, c in zip(spv_cases, site, charm, strict=True)})
    return verdicts


@pytest.mark.parametrize(
    ("key", "value"),
    [
        (key, value)
        for table in (VALUES, SPV_VALUES)
        for key, values in table.items()
        for value in values
    ],
    ids=lambda v: repr(v)[:30],
)
def test_site_check_and_charm_agree(verdicts, key, value):
    site_ok, charm_ok = verdicts[(key, value)]
    assert site_ok == charm_ok, f"site {'accepts' if site_ok else 'refuses'} {value!r}"


def test_the_site_assumes_the_provisioners_max_per_size_default():
    import yaml

    options = yaml.safe_load((SPV / "charmcraft.yaml").read_text())["config"]["options"]
    sys.path.insert(0, str(CORE))
    from homelab_core.sizes import PER_SIZE_DEFAULT

    assert options["max-per-size"]["default"] == PER_SIZE_DEFAULT


def test_the_table_has_both_verdicts(verdicts):
    for key, values in {**VALUES, **SPV_VALUES}.items():
        seen = {verdicts[(key, value)][0] for value in values}
        assert seen == {True, False}, key
