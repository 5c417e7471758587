"""Every accept/reject case of the shared validators (homelab_core.validators)."""

import pytest
import yaml

from homelab_core import validators as v

# ---------------------------------------------------------------- NAS host

GOOD_HOSTS = [
    "10.0.0.5",
    "127.0.0.1",
    "192.168.1.250",
    "nas",
    "nas.lan",
    "nas.example.com.",
    "NAS-01.Example.com",
    "a" * 63 + ".lan",
    "fd00:1:2::10",
    "2001:db8::5",
    "::1",
    "::ffff:10.0.0.5",
    "fe80::1%eth0",
    "fe80::1%enp3s0f1",
    "fe80::1%2",
    "e3",  # not a number (no digit before the exponent)
]

BAD_HOSTS = {
    "": "must be set",
    "0.0.0.0": "unspecified",
    "::": "unspecified",
    "224.0.0.1": "multicast",
    "239.255.255.250": "multicast",
    "ff02::1": "multicast",
    "255.255.255.255": "broadcast",
    "10.0.0.300": "valid IPv4",
    "010.0.0.5": "valid IPv4",
    "10.0.0": "valid IPv4",
    "nas lan": "spaces",
    "nas\n": "newlines",
    "nas\x00": "control",
    "nas\u2028x": "control",
    # class 5: a newline after the zone id injects YAML into the rendered overlay
    "fe80::1%eth0\nmachines:\n  '9': {}": "newlines",
    "fe80::1%eth0:": "zone id",
    "fe80::1%": "zone id",
    "fe80::1%eth0#x": "zone id",
    "fe80::1%" + "e" * 16: "zone id",
    "fe80::1%-eth0": "zone id",
    "2001:db8::1%eth0": "link-local",
    "[fe80::1]": "brackets",
    "nas:2049": "port",
    "nfs://nas/export": "URL",
    "nas/export": "path",
    "-nas.lan": "DNS name",
    "nas-.lan": "DNS name",
    "nas..lan": "DNS name",
    "nas_01.lan": "DNS name",
    "a" * 64 + ".lan": "DNS name",
    "a." * 127 + "a": "at most 253",
    "g::1": "IPv6",
    # class 5: values kubernetes-worker 1.28 renders unquoted and YAML reads as something else
    "no": "boolean",
    "yes": "boolean",
    "on": "boolean",
    "Off": "boolean",
    "y": "boolean",
    "true": "boolean",
    "null": "null",
    "1e3": "number",
    "0x1f": "number",
    "0o17": "number",
    "0b101": "number",
    "1_000": "DNS name",
    "1:2:3:4:5:6:7:8": "number",  # YAML 1.1 reads base 60
    "2001-12-14": "date",
}


@pytest.mark.parametrize("host", GOOD_HOSTS)
def test_good_hosts(host):
    assert v.nas_host(host) is None


@pytest.mark.parametrize(("host", "why"), BAD_HOSTS.items())
def test_bad_hosts(host, why):
    problem = v.nas_host(host)
    assert problem is not None
    assert why.lower() in problem.lower()
    assert "\n" not in problem


@pytest.mark.parametrize("value", [None, 5, b"nas", ["nas"]])
def test_non_strings_are_problems_never_exceptions(value):
    for rule in (v.nas_host, v.export_path, v.mount_options, v.label_key, v.dns_subdomain):
        assert rule(value)


@pytest.mark.parametrize("host", GOOD_HOSTS)
def test_every_good_host_reads_back_from_an_unquoted_manifest(host):
    # what kubernetes-worker 1.28 writes: `server: {{ hostname }}`
    assert yaml.safe_load(f"nfs:\n  server: {host}\n") == {"nfs": {"server": host}}


# ---------------------------------------------------------------- export path

GOOD_EXPORTS = [
    "/volume1/k8s",
    "/mnt/pool/ds",
    "/k8s/",
    "/srv/nfs/a.b_c-d~e@f+g=h%i",
    "/" + "a" * 255,
]

BAD_EXPORTS = {
    "": "must be set",
    "/": "not be '/'",
    "//": "not be '/'",
    "volume1/k8s": "absolute",
    "/a/../b": "'..'",
    "/a/./b": "'.'",
    "/a//b": "empty",
    "/a b": "spaces",
    "/a\tb": "spaces",
    "/a\nmachines:": "newlines",
    "/a\x7f": "control",
    "/a/b:": "only letters",  # class 5: invalid YAML in the worker's manifest
    "/a: b": "spaces",
    "/a:b": "only letters",
    "/a,b": "only letters",
    "/a'b": "only letters",
    "/a;rm": "only letters",
    "/a$b": "only letters",
    "/a/ü": "only letters",
    "/" + "a" * 256: "longer than 255",
    "/a" * 513: "at most 1024",
}


@pytest.mark.parametrize("path", GOOD_EXPORTS)
def test_good_exports(path):
    assert v.export_path(path) is None
    assert yaml.safe_load(f"path: {path}") == {"path": path}


@pytest.mark.parametrize(("path", "why"), BAD_EXPORTS.items())
def test_bad_exports(path, why):
    problem = v.export_path(path)
    assert problem is not None
    assert why.lower() in problem.lower()


# ---------------------------------------------------------------- mount options

GOOD_OPTIONS = [
    "",
    "hard",
    "hard,timeo=600,retrans=2",
    "noatime,nconnect=4,proto=tcp,sec=sys",
    "rw,sync,lock,lookupcache=positive,local_lock=none",
    "soft,ro,async,nolock,noac,nocto",
]

BAD_OPTIONS = {
    "hard, timeo=600": "spaces",
    "hard\n": "control",
    "hard,,timeo=600": "stray comma",
    ",hard": "stray comma",
    "hard,": "stray comma",
    "Hard": "not an NFS option",
    "foo=1": "not a known",
    "bogus": "not a known",
    "hard=1": "takes none",
    "timeo": "needs a value",
    "timeo=abc": "whole number",
    "timeo=-1": "whole number",
    "timeo=1234567890": "whole number",
    "timeo=٣": "whole number",
    "proto=udp": "needs one of",
    "sec=none": "needs one of",
    "hard,hard": "twice",
    "timeo=600,timeo=60": "twice",
    "ro,rw": "contradict",
    "hard,soft": "contradict",
    "soft,softerr": "contradict",
    "sync,async": "contradict",
    "lock,nolock": "contradict",
    "ac,noac": "contradict",
    "nfsvers=4.1": "own setting",
    "vers=3": "own setting",
}


@pytest.mark.parametrize("text", GOOD_OPTIONS)
def test_good_options(text):
    assert v.mount_options(text) is None
    assert ",".join(v.split_mount_options(text)) == text


@pytest.mark.parametrize(("text", "why"), BAD_OPTIONS.items())
def test_bad_options(text, why):
    problem = v.mount_options(text)
    assert problem is not None
    assert why.lower() in problem.lower()


def test_several_option_problems_are_all_named():
    problem = v.mount_options("ro,rw,hard,soft,bogus")
    assert problem is not None
    assert "'ro' and 'rw'" in problem
    assert "'hard' and 'soft'" in problem
    assert "'bogus'" in problem


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("nfsvers=4.1,hard", None),
        ("vers=3", None),
        ("nfsvers=4.1,vers=3", "two different NFS versions"),
        ("nfsvers=4,nfsvers=4.2", "twice"),
        ("nfsvers=4.1,vers=4.1", "the NFS version twice"),
        ("nfsvers=5", "needs one of"),
        ("nfsvers", "needs a value"),
    ],
)
def test_version_options_where_allowed(text, problem):
    result = v.mount_options(text, allow_version=True)
    if problem is None:
        assert result is None
    else:
        assert result is not None
        assert problem in result


def test_option_problem_shows_values_safely():
    problem = v.mount_options("x" * 200 + "=1")
    assert problem is not None
    assert len(problem) < 120


# ---------------------------------------------------------------- NFS version


@pytest.mark.parametrize("version", ["3", "4", "4.0", "4.1", "4.2"])
def test_good_versions(version):
    assert v.nfs_version(version) is None


@pytest.mark.parametrize("version", ["", "2", "4.3", "v4", " 4.1", "4.1\n", "41"])
def test_bad_versions(version):
    assert v.nfs_version(version)


# ---------------------------------------------------------------- Kubernetes names


@pytest.mark.parametrize("name", ["a", "homelab-nfs", "a.b-c", "a" * 253, "1abc"])
def test_good_subdomains(name):
    assert v.dns_subdomain(name) is None


@pytest.mark.parametrize(
    "name", ["", "A", "a_b", "-a", "a-", "a..b", ".a", "a.", "a" * 254, "a\n", "a b", "ü"]
)
def test_bad_subdomains(name):
    assert v.dns_subdomain(name)


def test_subdomain_max_length_is_the_callers():
    assert v.dns_subdomain("a" * 201, max_length=200) == "must be at most 200 characters"
    assert v.dns_subdomain("a" * 200, max_length=200) is None


@pytest.mark.parametrize("name", ["a", "kubeflow", "a1-b2", "a" * 63])
def test_good_labels(name):
    assert v.dns_label(name) is None


@pytest.mark.parametrize("name", ["", "a.b", "A", "-a", "a-", "a" * 64])
def test_bad_labels(name):
    assert v.dns_label(name)


@pytest.mark.parametrize(
    "key",
    ["role", "homelab-charms.io/role", "a.b/c_d.e-f", "Role", "x/" + "a" * 63, "a" * 253 + "/b"],
)
def test_good_label_keys(key):
    assert v.label_key(key) is None


@pytest.mark.parametrize(
    "key",
    [
        "",
        "/role",
        "a/",
        "A.io/role",
        "a/b/c",
        "-a/b",
        "a/-b",
        "a/b-",
        "x/" + "a" * 64,
        "a" * 254 + "/b",
        "a/b c",
        "a/b\n",
    ],
)
def test_bad_label_keys(key):
    assert v.label_key(key)


@pytest.mark.parametrize("value", ["", "true", "a", "A-b_c.d", "a" * 63])
def test_good_label_values(value):
    assert v.label_value(value) is None


@pytest.mark.parametrize("value", ["-a", "a-", "a b", "a/b", "a" * 64, "a\n"])
def test_bad_label_values(value):
    assert v.label_value(value)


@pytest.mark.parametrize("prefix", ["gpu.homelab-charms.io", "example.com", "a"])
def test_good_label_prefixes(prefix):
    assert v.label_prefix(prefix) is None


@pytest.mark.parametrize(
    ("prefix", "why"),
    [
        ("kubernetes.io", "reserved"),
        ("node-role.kubernetes.io", "reserved"),
        ("feature.node.kubernetes.io", "reserved"),
        ("k8s.io", "reserved"),
        ("nvidia.com", "reserved"),
        ("gpu.nvidia.com", "reserved"),
        ("Gpu.io", "subdomain"),
        ("gpu.io/", "subdomain"),
        ("", "must be set"),
        ("a" * 254, "at most 253"),
    ],
)
def test_bad_label_prefixes(prefix, why):
    problem = v.label_prefix(prefix)
    assert problem is not None
    assert why in problem


def test_not_reserved_only_by_suffix():
    assert v.label_prefix("notkubernetes.io") is None


# ---------------------------------------------------------------- Juju names


@pytest.mark.parametrize("name", ["a", "remote-nfs-mount", "kubernetes-worker", "app2", "a-b2c"])
def test_good_application_names(name):
    assert v.juju_application_name(name) is None


@pytest.mark.parametrize("name", ["", "2app", "app-2", "a--b", "-a", "a-", "App", "a_b", "a" * 64])
def test_bad_application_names(name):
    assert v.juju_application_name(name)


@pytest.mark.parametrize("name", ["lab", "lab-k8s", "1lab", "a" * 63])
def test_good_model_names(name):
    assert v.juju_model_name(name) is None


@pytest.mark.parametrize("name", ["", "-lab", "Lab", "lab_1", "lab.k8s", "a" * 64, "lab\n"])
def test_bad_model_names(name):
    assert v.juju_model_name(name)


@pytest.mark.parametrize("name", ["storage", "10g-net", "a1-b2"])
def test_good_space_names(name):
    assert v.juju_space_name(name) is None


@pytest.mark.parametrize("name", ["", "a--b", "-a", "a-", "A", "a_b", "a" * 64])
def test_bad_space_names(name):
    assert v.juju_space_name(name)


@pytest.mark.parametrize("name", ["p", "P", "homelab-nfs", "p-00l", "a" * 128])
def test_good_storage_pool_names(name):
    # each is accepted by Juju 3.6's and 4.0's rule
    assert v.storage_pool_name(name) is None


@pytest.mark.parametrize(
    "name",
    [
        "",
        "7ool",  # juju's own test cases
        "/ool",
        "-00l",
        "*00l",
        "p?00l",  # 3.6 accepts, 4.0 refuses
        "pool-",  # 3.6 accepts, 4.0 refuses
        "a" * 129,  # 4.0 refuses
        "p_ool",
        "p.ool",
    ],
)
def test_bad_storage_pool_names(name):
    assert v.storage_pool_name(name)


# ---------------------------------------------------------------- sizes and pools


@pytest.mark.parametrize(
    ("text", "size"), [("500Mi", 500 * 2**20), ("10Gi", 10 * 2**30), ("1024Ti", 2**50)]
)
def test_good_sizes(text, size):
    assert v.size(text) is None
    assert v.parse_size(text) == size


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("10G", "binary units"),
        ("10GB", "binary units"),
        ("10gi", "binary units"),
        ("0Gi", "more than zero"),
        ("1025Ti", "at most 1024Ti"),
        ("", "such as"),
        ("10 Gi", "such as"),
        ("1.5Gi", "such as"),
        ("-1Gi", "such as"),
        ("10Gi\n", "such as"),
    ],
)
def test_bad_sizes(text, why):
    problem = v.size(text)
    assert problem is not None
    assert why in problem
    assert v.parse_size(text) is None


def test_good_pool():
    assert v.pool_spec("10Gi:8,50Gi:4") is None
    assert v.parse_pool_spec("10Gi:8,50Gi:4") == (("10Gi", 8), ("50Gi", 4))


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "must be set"),
        ("10Gi", "size:count"),
        ("10Gi:0", "1-999"),
        ("10Gi:1000", "1-999"),
        ("10Gi:x", "1-999"),
        ("10Gi:8, 50Gi:4", "' 50Gi'"),
        ("10Gi:8,10Gi:2", "twice"),
        ("10Gi:8,10240Mi:2", "twice"),
        ("10G:8", "binary units"),
        ("10Gi:8,", "size:count"),
    ],
)
def test_bad_pools(text, why):
    problem = v.pool_spec(text)
    assert problem is not None
    assert why in problem
    assert v.parse_pool_spec(text) is None


# ---------------------------------------------------------------- IP ranges


@pytest.mark.parametrize("text", ["10.0.0.240-10.0.0.250", "10.0.0.1-10.0.0.1", "fd00::1-fd00::9"])
def test_good_ranges(text):
    assert v.ip_range(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "10.0.0.9-10.0.0.1",
        "10.0.0.300-10.0.0.4",
        "10.0.0.1-",
        "10.0.0.0/29",
        "10.0.0.1-fd00::1",
        " 10.0.0.1-10.0.0.2",
        "10.0.0.1",
    ],
)
def test_bad_ranges(text):
    assert v.ip_range(text)


# ---------------------------------------------------------------- YAML plain scalars

YAML_WORDS = [
    "yes",
    "no",
    "y",
    "n",
    "on",
    "off",
    "true",
    "false",
    "True",
    "NULL",
    "null",
    "~",
    "<<",
    "=",
    "1",
    "-1",
    "+1",
    "1.5",
    ".5",
    "1e3",
    "1E+3",
    ".inf",
    "-.inf",
    ".nan",
    "0x1F",
    "0o7",
    "0b1",
    "1_0",
    "1:20",
    "2001-12-14",
    "2001-12-14T21:59:43Z",
    "",
    " a",
    "a ",
    "-",
    "- a",
    "? a",
    ": a",
    "a: b",
    "a #b",
    "a:",
    "#a",
    "&a",
    "*a",
    "!a",
    "|a",
    ">a",
    "'a",
    '"a',
    "%a",
    "@a",
    "`a",
    "[a",
    "]a",
    "{a",
    "}a",
    ",a",
    "a\nb",
]
YAML_TEXT = [
    "a",
    "nas.lan",
    "10.0.0.5",
    "::1",
    "fe80::1%eth0",
    "/a/b",
    "e3",
    "a-1",
    "1-2",
    "1.2.3",
    "a:b",
    "a#b",
    "-a",
    "a,b",
    "x1e3",
    "2001-12",
    "yesterday",
    "nope",
    "0xg",
]


@pytest.mark.parametrize("text", YAML_WORDS)
def test_yaml_refuses_what_does_not_read_back(text):
    assert v.yaml_problem(text)


@pytest.mark.parametrize("text", YAML_TEXT)
def test_yaml_accepts_what_reads_back(text):
    assert v.yaml_problem(text) is None
    assert yaml.safe_load(f"k: {text}") == {"k": text}


def test_yaml_rule_covers_every_pyyaml_refusal_of_a_short_word():
    # every 1-3 character string of these characters: where PyYAML (YAML 1.1) does not read
    # it back, the rule refuses it too (the rule may refuse more: YAML 1.2's 1e3)
    alphabet = "0a1.:-_eE+x#~ "
    words = [a + b + c for a in alphabet for b in alphabet + "" for c in [*alphabet, ""]]
    for word in {w for w in words if w}:
        try:
            back = yaml.safe_load(f"k: {word}")
        except Exception:  # PyYAML even crashes on some (0x_)
            back = None
        if back != {"k": word}:
            assert v.yaml_problem(word), word


# ---------------------------------------------------------------- show


def test_show_escapes_and_shortens():
    assert v.show("a\nb") == "'a\\nb'"
    assert len(v.show("x" * 500)) == 40
