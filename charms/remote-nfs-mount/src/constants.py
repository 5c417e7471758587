"""Every constant of the remote-nfs-mount charm, in one place."""

# Endpoints (charmcraft.yaml)
MOUNT_ENDPOINT = "nfs"  # interface `mount`, read by kubernetes-worker <= 1.28
SHARE_ENDPOINT = "nfs-share"  # interface `nfs_share`, read by static-pv-provisioner
PEER_ENDPOINT = "peers"
PRINCIPAL_ENDPOINT = "juju-info"

# Every event that runs the one reconcile: charm events, then (endpoint, relation event).
CHANGE_EVENTS = (
    "install",
    "upgrade_charm",
    "config_changed",
    "start",
    "update_status",
    "leader_elected",
)
RELATION_CHANGE_EVENTS = (
    (MOUNT_ENDPOINT, "relation_joined"),
    (SHARE_ENDPOINT, "relation_joined"),
    (PEER_ENDPOINT, "relation_changed"),
    (PEER_ENDPOINT, "relation_departed"),
)

# The `mount` interface (charmed-kubernetes/interface-mount): kubernetes-worker only accepts
# entries whose fstype is exactly `nfs`, whatever the NFS version (facts §1).
MOUNT_FSTYPE = "nfs"

# NFS (the value rules, NFS versions and mount options live in homelab_core.validators)
NFS_PORT = 2049
SHOWMOUNT = "showmount"

# Config limits
TIMEOUT_MIN = 1
TIMEOUT_MAX = 30
