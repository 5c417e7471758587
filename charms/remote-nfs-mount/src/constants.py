"""Every constant of the remote-nfs-mount charm, in one place."""

# Endpoints (charmcraft.yaml)
MOUNT_ENDPOINT = "nfs"  # interface `mount`, read by kubernetes-worker <= 1.28
SHARE_ENDPOINT = "nfs-share"  # interface `nfs_share`, read by static-pv-provisioner
PEER_ENDPOINT = "peers"
PRINCIPAL_ENDPOINT = "juju-info"

# The `mount` interface (charmed-kubernetes/interface-mount): kubernetes-worker only accepts
# entries whose fstype is exactly `nfs`, whatever the NFS version (facts §1).
MOUNT_FSTYPE = "nfs"

# NFS (the value rules, NFS versions and mount options live in homelab_core.validators)
NFS_PORT = 2049
SHOWMOUNT = "showmount"

# Config limits
TIMEOUT_MIN = 1
TIMEOUT_MAX = 30
