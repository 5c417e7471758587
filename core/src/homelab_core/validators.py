"""Every value rule the charms and the `homelab` tool share, defined once (plain data, no ops).

Convention: a rule is a function `rule(value) -> str | None`. None means the value is valid;
otherwise the result is one problem text written to follow the value's name and value, e.g.
`nas-host 'no' must not be 'no': YAML reads it as a boolean or null, not text`. Rules that can
find several problems at once (mount options) join them with "; ". A rule never raises, for any
input (a non-string gets "must be a string"), and never echoes more of the value than
`show()` does.

The charms put the text in their status (`f"{option} {show(value)} {problem}"`); the site check
puts it after the key. Because both call the same function, a site value passes `homelab check`
exactly when the charm accepts it.

Modules: hosts (nas_host, ip_range), nfs (export_path, mount_options, split_mount_options,
nfs_version), names (Kubernetes and Juju names, label keys/values/prefixes), sizes (size,
parse_size, pool_spec, parse_pool_spec), yamlsafe (yaml_problem), text (show).
"""

from homelab_core.hosts import ip_range, nas_host
from homelab_core.names import (
    RESERVED_PREFIX_DOMAINS,
    dns_label,
    dns_subdomain,
    juju_application_name,
    juju_model_name,
    juju_space_name,
    label_key,
    label_prefix,
    label_value,
    storage_class_name,
    storage_pool_name,
)
from homelab_core.nfs import (
    NFS_VERSIONS,
    export_path,
    mount_options,
    nfs_version,
    split_mount_options,
)
from homelab_core.sizes import parse_pool_spec, parse_size, pool_spec, size
from homelab_core.text import show
from homelab_core.yamlsafe import yaml_problem

__all__ = [
    "NFS_VERSIONS",
    "RESERVED_PREFIX_DOMAINS",
    "dns_label",
    "dns_subdomain",
    "export_path",
    "ip_range",
    "juju_application_name",
    "juju_model_name",
    "juju_space_name",
    "label_key",
    "label_prefix",
    "label_value",
    "mount_options",
    "nas_host",
    "nfs_version",
    "parse_pool_spec",
    "parse_size",
    "pool_spec",
    "show",
    "size",
    "split_mount_options",
    "storage_class_name",
    "storage_pool_name",
    "yaml_problem",
]
