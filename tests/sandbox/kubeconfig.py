"""Kubeconfig for a sandbox API server: cluster, context and user all named ``sandbox``, plain HTTP."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import yaml

NAME = "sandbox"


def kubeconfig_dict(server_url: str, namespace: str = "default") -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": NAME, "cluster": {"server": server_url}}],
        "contexts": [{"name": NAME, "context": {"cluster": NAME, "user": NAME, "namespace": namespace}}],
        "current-context": NAME,
        "users": [{"name": NAME, "user": {}}],
        "preferences": {},
    }


def write_kubeconfig(path: str | os.PathLike, server_url: str) -> Path:
    """Write the kubeconfig atomically (readers never see half a file) with owner-only permissions."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".kubeconfig-", dir=target.parent)
    try:
        with os.fdopen(fd, "w") as stream:
            yaml.safe_dump(kubeconfig_dict(server_url), stream, sort_keys=False)
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
