"""Every constant of the static-pv-provisioner charm, in one place."""

from __future__ import annotations

import re

CHARM_NAME = "static-pv-provisioner"

# Kubernetes: one field manager for every write (create, server-side apply, patch).
FIELD_MANAGER = "static-pv-provisioner"
API_TIMEOUT_SECONDS = 10.0

# Ownership labels: objects without all of them are never changed or deleted.
LABEL_PREFIX = "static-pv-provisioner.homelab-charms.io"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_APP = f"{LABEL_PREFIX}/app"
LABEL_MODEL = f"{LABEL_PREFIX}/model"
LABEL_SIZE = f"{LABEL_PREFIX}/size"  # informational: the pool size of a PV, e.g. 10Gi
# On a Released PV while recycle empties its directory (value: the claim it held).
RECYCLING_ANNOTATION = f"{LABEL_PREFIX}/recycling"
# On a PV whose NAS directory carries our ownership marker (written before the PV, or adopted).
MARKER_ANNOTATION = f"{LABEL_PREFIX}/marker"
# On a PV the reattach action pre-bound to a new claim (value: the old claim, namespace/name).
PREVIOUS_CLAIM_ANNOTATION = f"{LABEL_PREFIX}/previous-claim"
MARKER_VERSION = "v1"

DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
DEFAULT_CLASS_ANNOTATION_BETA = "storageclass.beta.kubernetes.io/is-default-class"
NO_PROVISIONER = "kubernetes.io/no-provisioner"
RECLAIM_POLICY = "Retain"
ACCESS_MODES = ("ReadWriteOnce", "ReadWriteMany")
BINDING_MODES = ("Immediate", "WaitForFirstConsumer")

# The pool.
MAX_PER_SIZE_LIMIT = 999  # names carry a 3-digit index
MAX_CLASS_NAME_LENGTH = 200  # PV names add `-<size>-<NNN>` and must stay within 253
SIZE_UNITS = {"Mi": 1, "Gi": 1024, "Ti": 1024 * 1024}  # in MiB
MAX_SIZE_MIB = 1024 * 1024 * 1024  # 1024Ti: anything larger is a typo
NAME_ATTEMPTS_PER_VOLUME = 4  # free names tried per wanted PV when NAS directories are busy

# Credentials.
SECRET_KUBECONFIG_KEY = "kubeconfig"  # noqa: S105 - a key name, not a secret
# kubeconfig user options that make the client run a command: refused (never run as root).
KUBECONFIG_COMMAND_OPTIONS = ("exec", "auth-provider")

# NAS directory step.
DEFAULT_PV_MOUNT_OPTIONS = ("nfsvers=4.1", "hard", "timeo=600", "retrans=2", "noresvport")
# Options of the short-lived admin mount on this host that the charm sets itself.
# `fg` always: with `bg`, mount.nfs may exit 0 before (or without) mounting.
ADMIN_MOUNT_OVERRIDES = (
    "hard", "soft", "timeo", "retrans", "ro", "rw", "intr", "nointr", "bg", "fg",
)  # fmt: skip
ADMIN_MOUNT_RETRANS = 1
MOUNT_TIMEOUT_RANGE = (1, 120)
UNMOUNT_TIMEOUT_SECONDS = 30
# Ownership markers: `<export>/<MARKER_DIR>/<pv-name>.json`, beside each PV directory.
MARKER_DIR = ".static-pv-provisioner"
MARKER_SUFFIX = ".json"
MARKER_MAX_BYTES = 4096
VERIFY_PROBE = ".verify-probe"  # written and removed in MARKER_DIR to prove the share writable
APT_PACKAGES = ("nfs-common",)
# Owner and mode of new PV directories (config directory-owner / directory-mode). 1777: every
# workload uid can write (notebooks 1000 or 584792, mysql 584788, mlmd 584792, minio 0), also on
# a NAS that squashes root, where the chown cannot take (README, "Who can write a PV directory").
DEFAULT_DIRECTORY_OWNER = "0:0"
DEFAULT_DIRECTORY_MODE = "1777"

# How often a steady-state update-status re-reads the StorageClasses (seconds). Config,
# relation, leader and upgrade events always re-read them.
CLASS_RECHECK_SECONDS = 3600

# Status text: at most this many names in one list, and this many characters in all.
STATUS_LIST_LIMIT = 5
STATUS_MAX_CHARS = 1024

# Input rules. Patterns are always used with fullmatch (`$` alone accepts a trailing newline).
SIZE_PATTERN = re.compile(r"([0-9]+)(Mi|Gi|Ti)")
POOL_COUNT_PATTERN = re.compile(r"[0-9]{1,7}")
MAX_PV_NAME_LENGTH = 253  # a DNS-1123 subdomain
MODE_PATTERN = re.compile(r"0?[0-7]{3,4}")
OWNER_PATTERN = re.compile(r"([0-9]{1,10}):([0-9]{1,10})")
MAX_ID = 2**32 - 2  # (uid_t)-1 means "unchanged" to chown(2)
KUBECONFIG_PATH_CHARS = re.compile(r"[A-Za-z0-9._/@+-]+")
MAX_PATH_LENGTH = 4096
SECRET_ID_PATTERN = re.compile(r"(secret:(//[0-9a-f-]{36}/)?)?[0-9a-z]{20}")
LABEL_VALUE_PATTERN = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")
DEFAULT_POOL_NAME = "homelab-nfs"  # when the class name leaves nothing usable
DEFAULT_NFS_VERSION = "4.1"  # of a share whose mount options name none
