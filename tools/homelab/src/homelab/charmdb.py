"""Which charm an application runs, and what that charm offers (endpoints, options).

Our own charms are read at run time from `charms/<name>/charmcraft.yaml` in the checkout, so a
renamed endpoint or option shows up in `homelab check` at once. When a charm's directory is not
there (an installed tool far from the checkout), the names this project fixed for it are used and
`check` says so.
"""

from __future__ import annotations

import os
import re
import zipfile
from pathlib import Path
from typing import Any

import yaml

from homelab.upstream import CharmInfo, Endpoint, upstream_charm

OUR_CHARMS = ("remote-nfs-mount", "static-pv-provisioner", "gpu-node-labeler")

# Our subordinates and the principal charms they must be attached to (empty: any principal).
PRINCIPALS = {
    "remote-nfs-mount": (),
    "static-pv-provisioner": ("kubernetes-control-plane",),
    "gpu-node-labeler": ("kubernetes-worker",),
}

# The names fixed for our charms, used only when their charmcraft.yaml is not in the checkout.
_FALLBACK: dict[str, dict[str, Any]] = {
    "remote-nfs-mount": {
        "requires": {"juju-info": {"interface": "juju-info", "scope": "container"}},
        "provides": {"nfs": {"interface": "mount"}, "nfs-share": {"interface": "nfs_share"}},
        "peers": {"peers": {"interface": "remote_nfs_mount_peers"}},
        "options": {
            "nas-host": "string",
            "export-path": "string",
            "nfs-version": "string",
            "mount-options": "string",
            "export-name": "string",
            "timeout": "int",
            "install-nfs-common": "boolean",
        },
    },
    "static-pv-provisioner": {
        "requires": {
            "juju-info": {"interface": "juju-info", "scope": "container"},
            "nfs-share": {"interface": "nfs_share", "limit": 1},
        },
        "options": {
            "kubeconfig-secret": "string",
            "kubeconfig-path": "string",
            "nfs-server": "string",
            "nfs-export": "string",
            "nfs-mount-options": "string",
            "storage-class": "string",
            "set-default": "boolean",
            "adopt-class": "boolean",
            "pool": "string",
            "min-available": "int",
            "max-per-size": "int",
            "volume-binding-mode": "string",
            "directory-mode": "string",
            "directory-owner": "string",
            "mount-timeout": "int",
        },
    },
    "gpu-node-labeler": {
        "requires": {"juju-info": {"interface": "juju-info", "scope": "container"}},
        "options": {
            "node-name": "string",
            "kubeconfig-path": "string",
            "label-prefix": "string",
            "gfd-labels": "boolean",
            "legacy-labels": "boolean",
            "taint": "string",
            "admin-kubeconfig-path": "string",
            "admin-kubeconfig-secret": "string",
            "nvidia-smi-timeout": "int",
        },
    },
}


def find_repo(start: Path | None = None) -> Path | None:
    """The checkout root: $HOMELAB_REPO, else the first parent of `start` (or cwd) with charms/."""
    env = os.environ.get("HOMELAB_REPO")
    if env and (Path(env) / "charms").is_dir():
        return Path(env).resolve()
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "charms").is_dir() and (candidate / "tools" / "homelab").is_dir():
            return candidate
    package_root = Path(__file__).resolve().parents[4]
    if (package_root / "charms").is_dir():
        return package_root
    return None


def _endpoints(meta: dict) -> dict[str, Endpoint]:
    result: dict[str, Endpoint] = {}
    for role in ("provides", "requires", "peers"):
        section = meta.get(role) or {}
        if not isinstance(section, dict):
            continue
        for name, raw in section.items():
            spec = raw if isinstance(raw, dict) else {}
            limit = spec.get("limit")
            result[str(name)] = Endpoint(
                str(name),
                role,
                str(spec.get("interface", "")),
                str(spec.get("scope", "global")),
                limit if isinstance(limit, int) else None,
            )
    return result


class CharmDB:
    """Looks up CharmInfo for applications; caches charmcraft.yaml reads."""

    def __init__(self, repo: Path | None):
        self.repo = repo
        self._ours: dict[str, CharmInfo] = {}
        self.notes: list[str] = []

    def ours(self, name: str) -> CharmInfo:
        """CharmInfo for one of our charms, from its charmcraft.yaml when present."""
        if name in self._ours:
            return self._ours[name]
        path = self.repo / "charms" / name / "charmcraft.yaml" if self.repo else None
        meta: dict | None = None
        if path is not None and path.exists():
            try:
                loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
                meta = loaded if isinstance(loaded, dict) else None
            except (OSError, yaml.YAMLError):
                meta = None
        if meta is not None and path is not None:
            config = meta.get("config") or {}
            opts = config.get("options") or {} if isinstance(config, dict) else {}
            options = {
                str(k): str((v or {}).get("type", "string")) if isinstance(v, dict) else "string"
                for k, v in (opts.items() if isinstance(opts, dict) else [])
            }
            info = CharmInfo(
                name,
                bool(meta.get("subordinate", False)),
                _endpoints(meta),
                f"charms/{name}/charmcraft.yaml",
                True,
                options,
                ours=True,
                principals=PRINCIPALS.get(name, ()),
            )
        else:
            spec = _FALLBACK[name]
            info = CharmInfo(
                name,
                True,
                _endpoints(spec),
                "names fixed for this project (charmcraft.yaml not in the checkout)",
                True,
                dict(spec["options"]),
                ours=True,
                principals=PRINCIPALS.get(name, ()),
            )
            self.notes.append(f"charms/{name}/charmcraft.yaml not found: using the fixed names")
        self._ours[name] = info
        return info

    def lookup(self, charm: str, channel: str | None) -> CharmInfo | None:
        """CharmInfo for a charm reference (name, ch:name, local path) on a channel."""
        name = charm_name(charm)
        if name in OUR_CHARMS:
            return self.ours(name)
        return upstream_charm(name, channel_track(channel))


def charm_name(charm: str) -> str:
    """The charm's name from `name`, `ch:name`, `./dir`, or `./name_ubuntu@22.04-amd64.charm`."""
    text = str(charm).strip()
    for prefix in ("ch:", "cs:", "local:"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    if text.endswith(".charm"):
        path = Path(text)
        if path.is_file():
            try:
                with zipfile.ZipFile(path) as archive:
                    meta = yaml.safe_load(archive.read("metadata.yaml"))
                if isinstance(meta, dict) and meta.get("name"):
                    return str(meta["name"])
            except (OSError, KeyError, zipfile.BadZipFile, yaml.YAMLError):
                pass
        return path.name.split("_", 1)[0].removesuffix(".charm")
    if "/" in text or text.startswith("."):
        return Path(text).name
    return text


_CHANNEL = re.compile(
    r"^(?:(?P<track>[A-Za-z0-9.+_-]+)/)?(?P<risk>stable|candidate|beta|edge)(?:/[A-Za-z0-9.+_-]+)?$"
)


def channel_track(channel: str | None) -> str | None:
    """The track of a channel (`1.32/stable` -> `1.32`, `stable` -> None)."""
    if not channel:
        return None
    match = _CHANNEL.match(str(channel))
    if match:
        return match.group("track")
    return str(channel).split("/", 1)[0]


def valid_channel(channel: str) -> bool:
    """Whether `channel` is `[track/]risk[/branch]` or a bare track."""
    text = str(channel)
    if _CHANNEL.match(text):
        return True
    return bool(re.fullmatch(r"[A-Za-z0-9.+_-]+", text)) and text not in {"", "/"}
