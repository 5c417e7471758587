"""Every constant of the remote-nfs-mount charm, in one place."""

# Endpoints (charmcraft.yaml)
MOUNT_ENDPOINT = "nfs"  # interface `mount`, read by kubernetes-worker <= 1.28
SHARE_ENDPOINT = "nfs-share"  # interface `nfs_share`, read by static-pv-provisioner
PEER_ENDPOINT = "peers"
PRINCIPAL_ENDPOINT = "juju-info"

# The `mount` interface (charmed-kubernetes/interface-mount): kubernetes-worker only accepts
# entries whose fstype is exactly `nfs`, whatever the NFS version (facts §1).
MOUNT_FSTYPE = "nfs"

# NFS
NFS_PORT = 2049
NFS_VERSIONS = ("3", "4", "4.0", "4.1", "4.2")
NFS_PACKAGE = "nfs-common"
# mount.nfs ships in nfs-common: its presence is the cheap "is it installed" test on every hook.
MOUNT_HELPERS = ("/sbin/mount.nfs", "/usr/sbin/mount.nfs")
SHOWMOUNT = "showmount"

# Config limits
TIMEOUT_MIN = 1
TIMEOUT_MAX = 30
EXPORT_PATH_MAX = 1024
HOSTNAME_MAX = 253

# NFS mount options accepted in `mount-options` (nfs(5)); value kinds: None = flag only,
# "int" = decimal number, a tuple = one of those words.
MOUNT_OPTIONS: dict[str, object] = {
    "hard": None,
    "soft": None,
    "softerr": None,
    "intr": None,
    "nointr": None,
    "timeo": "int",
    "retrans": "int",
    "rsize": "int",
    "wsize": "int",
    "nconnect": "int",
    "port": "int",
    "actimeo": "int",
    "acregmin": "int",
    "acregmax": "int",
    "acdirmin": "int",
    "acdirmax": "int",
    "noac": None,
    "ac": None,
    "cto": None,
    "nocto": None,
    "noatime": None,
    "nodiratime": None,
    "relatime": None,
    "rw": None,
    "ro": None,
    "sync": None,
    "async": None,
    "lock": None,
    "nolock": None,
    "resvport": None,
    "noresvport": None,
    "fsc": None,
    "nofsc": None,
    "proto": ("tcp", "tcp6", "rdma", "rdma6"),
    "sec": ("sys", "krb5", "krb5i", "krb5p"),
    "lookupcache": ("all", "none", "pos", "positive"),
    "local_lock": ("none", "all", "flock", "posix"),
}
# Options that name the protocol version: nfs-version owns it.
VERSION_OPTIONS = ("nfsvers", "vers")
