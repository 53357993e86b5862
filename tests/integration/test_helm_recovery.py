"""A helm killed mid-operation leaves its release pending-*; the next install under the Lease recovers it.

The pending states are made the way a SIGKILLed run makes them: the real helm binary runs ``--wait`` against the
bare sandbox (no controllers: the Deployment never becomes ready) and is SIGKILLed once its release record exists.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from ansible_collections.hiero.solo.plugins.module_utils._client import get_clients
from ansible_collections.hiero.solo.plugins.module_utils._errors import HelmError
from ansible_collections.hiero.solo.plugins.module_utils._helm import ChartSource, Helm, find_helm

CHART = Path(__file__).resolve().parents[2] / "tests" / "charts" / "contract-demo"
SOURCE = ChartSource("path", str(CHART))
NAMESPACE = "default"


@pytest.fixture
def helm(sandbox, tmp_path) -> Helm:
    env = {name: str(tmp_path / name.lower()) for name in ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME")}
    env["HOME"] = str(tmp_path / "home")  # client-go's discovery cache (~/.kube/cache)
    return Helm(find_helm(), {"kubeconfig": str(sandbox.kubeconfig)}, env=env)


def release_secrets(sandbox, release: str) -> dict[str, str]:
    """Revision secret name -> the status label helm gave it."""
    core = get_clients({"kubeconfig": str(sandbox.kubeconfig)}, env={}).core
    items = core.list_namespaced_secret(NAMESPACE, label_selector=f"owner=helm,name={release}").items
    return {item.metadata.name: item.metadata.labels.get("status") for item in items}


def kill_helm_midway(helm: Helm, sandbox, release: str, verb: str, revision: int) -> None:
    """Run ``helm <verb> --wait`` and SIGKILL it once revision ``revision`` is recorded as pending."""
    argv = [helm.binary, verb, release, str(CHART), "--namespace", NAMESPACE, "--wait", "--timeout", "120s"]
    argv += ["--kubeconfig", str(sandbox.kubeconfig), "--set", f"greeting=r{revision}"]
    proc = subprocess.Popen(argv, env={"PATH": "/usr/bin:/bin", **helm._env}, stdout=subprocess.DEVNULL)
    secret = f"sh.helm.release.v1.{release}.v{revision}"
    try:
        deadline = time.monotonic() + 60
        while release_secrets(sandbox, release).get(secret) != f"pending-{verb}":
            assert proc.poll() is None, f"helm {verb} ended by itself"
            assert time.monotonic() < deadline, release_secrets(sandbox, release)
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


def test_an_install_killed_midway_is_uninstalled_and_installed_again(helm, sandbox):
    kill_helm_midway(helm, sandbox, "killed-install", "install", 1)
    record = helm.upgrade_install("killed-install", SOURCE, NAMESPACE, set_values={"greeting": "again"})
    assert record["info"]["status"] == "deployed"
    assert helm.get_values("killed-install", NAMESPACE) == {"greeting": "again"}
    assert list(release_secrets(sandbox, "killed-install").values()) == ["deployed"]  # a fresh revision 1
    assert helm.warnings == [
        f"release {NAMESPACE}/killed-install was left pending-install by an interrupted run; uninstalled it"
    ]


def test_an_upgrade_killed_midway_is_rolled_back_then_upgraded(helm, sandbox):
    helm.upgrade_install("killed-upgrade", SOURCE, NAMESPACE, set_values={"greeting": "r1"})
    kill_helm_midway(helm, sandbox, "killed-upgrade", "upgrade", 2)
    record = helm.upgrade_install("killed-upgrade", SOURCE, NAMESPACE, set_values={"greeting": "r4"})
    assert record["info"]["status"] == "deployed"
    assert helm.get_values("killed-upgrade", NAMESPACE) == {"greeting": "r4"}
    statuses = release_secrets(sandbox, "killed-upgrade")
    assert statuses[f"sh.helm.release.v1.killed-upgrade.v{record['version']}"] == "deployed"
    assert "pending-upgrade" in statuses.values(), "the interrupted revision stays in the history, as helm keeps it"
    assert helm.warnings == [
        f"release {NAMESPACE}/killed-upgrade was left pending-upgrade by an interrupted run; "
        "rolled it back to its previous revision"
    ]


def test_other_failures_are_not_retried(helm):
    broken = ChartSource("path", str(CHART.parent / "no-such-chart"))
    with pytest.raises(HelmError) as failure:
        helm.upgrade_install("never", broken, NAMESPACE)
    assert "no-such-chart" in failure.value.msg
    assert helm.warnings == []
