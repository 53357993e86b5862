"""The stand-in charts as a ``chart_sources`` option: component name -> ``{path: <chart directory>}``.

Tests and playbooks against the sandbox pass this the way users pass mirrors of the real charts, so the modules
run exactly the code path of a user's local chart source (helm installs from the directory; no repo or registry).
"""

from __future__ import annotations

from pathlib import Path

CHARTS_DIR = Path(__file__).resolve().parent

# chart_sources component (plugins/module_utils/_config.py CHARTS) -> directory under tests/charts
CHART_DIRS: dict[str, str] = {
    "solo_deployment": "solo-deployment",
    "solo_shared_resources": "solo-shared-resources",
    "solo_cert_manager": "solo-cert-manager",
    "mirror_node": "hedera-mirror",
    "ingress_controller": "haproxy-ingress",
    "explorer": "hiero-explorer",
    "relay": "hedera-json-rpc",
    "block_node": "block-node-server",
    "minio_operator": "minio-operator",
}


def local_chart_sources(root: str | Path | None = None) -> dict[str, dict[str, str]]:
    """``chart_sources`` for every component whose stand-in chart exists under ``root`` (default: tests/charts).

    Components without a stand-in (e.g. solo_cert_manager, only used for explorer TLS) are left out, so they keep
    upstream's default source.
    """
    base = Path(root).resolve() if root is not None else CHARTS_DIR
    return {
        component: {"path": str(base / directory)}
        for component, directory in CHART_DIRS.items()
        if (base / directory / "Chart.yaml").is_file()
    }
