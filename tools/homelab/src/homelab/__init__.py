"""homelab: render, check, plan and deploy the homelab-charms lab."""

__version__ = "0.1.0"
