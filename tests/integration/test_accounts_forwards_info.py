"""Issue 6 items 3-5 through ansible-playbook: accounts, persistent port-forwards and deployment info.

A one-node consensus network is deployed and started first by the consensus steps' own playbook
(consensus_deploy.yml) in a workload sandbox, whose haproxy pods serve port 50211 with a fake consensus node
(tests/sandbox/grpc_node.py) through the real pods/portforward websocket. So the modules go the whole way:
SDK → port-forward → API server → pod port → fake node, and accounts waits for the run's consensus_node_started.

Acceptance shown here: 10 alias accounts with their balances on the fake ledger, 10 Secrets, an accounts.json that
lists them, no private key anywhere in -vvv output, a second run without changes, a forward that still works after
ansible-playbook has exited (and after its pod was replaced), and no process left after state=absent.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import http.server
import json
import os
import signal
import socket
import threading
import uuid
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from hiero_sdk_python import AccountId, Client, PrivateKey
from hiero_sdk_python.query.account_balance_query import CryptoGetAccountBalanceQuery

from ansible_collections.hiero.solo.plugins.module_utils import _pod, _remote_config
from ansible_collections.hiero.solo.plugins.module_utils._client import get_clients
from ansible_collections.hiero.solo.plugins.module_utils._lease import LocalProcessProber
from ansible_collections.hiero.solo.plugins.module_utils._steps import accounts as accounts_step
from ansible_collections.hiero.solo.plugins.module_utils._steps import port_forward as pf_step
from tests.charts.sources import local_chart_sources
from tests.integration._ansible import ansible_env, run_playbook
from tests.sandbox.grpc_node import register_with_sandbox
from tests.sandbox.platform_build import write_platform_build

pytestmark = pytest.mark.timeout(300)

TINYBARS_PER_HBAR = 100_000_000
HAPROXY_LABELS = {"app": "haproxy-node1", "solo.hedera.com/type": "haproxy"}
TAG = "v0.75.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def private_key_texts() -> dict[str, str]:
    """Every form in which a private key of this deployment could show up: hex (raw, 0x, DER as each SDK writes
    it), the base64 the Secrets hold, and the body lines of PKCS#8 and SEC1 PEM files. Text → which key."""
    texts: dict[str, str] = {}
    for index, raw in enumerate(accounts_step.PREDEFINED_ECDSA_ALIAS_KEYS):
        name = f"account key #{index + 1}"
        sdk_key = PrivateKey.from_string_ecdsa(raw)
        js_der = accounts_step.JS_ECDSA_PRIVATE_DER_PREFIX + raw
        for text in (raw, raw.upper(), f"0x{raw}", js_der, sdk_key.to_string_der()):
            texts[text] = name
        texts[base64.b64encode(js_der.encode()).decode()] = name
        texts[base64.b64encode(bytes.fromhex(raw)).decode()] = name
        for label, fmt in (
            ("PKCS#8", serialization.PrivateFormat.PKCS8),
            ("SEC1", serialization.PrivateFormat.TraditionalOpenSSL),
        ):
            pem = sdk_key._private_key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())
            for line in pem.decode().splitlines():
                if not line.startswith("-----") and len(line) >= 16:
                    texts[line] = f"{name} ({label} PEM)"
    genesis = accounts_step.DEFAULT_OPERATOR_KEY
    texts[genesis] = "operator key"
    texts[genesis[-64:]] = "operator key (raw)"
    return texts


def leaked_keys(output: str) -> list[str]:
    return sorted({what for text, what in private_key_texts().items() if text in output})


# The default model's shape, faster (tests/integration/test_consensus_playbooks.py uses the same pace).
MODEL = {
    "time_scale": 0.01,
    "pvc_bind": 2,
    "defaults": {"schedule": 0.5, "running": 5, "ready": 3, "terminate": 2},
    "rules": [
        {"selector": "solo.hedera.com/type=network-node", "running": 30, "ready": 5, "platform_active_after": 50},
        {"selector": "v1.min.io/tenant=minio", "running": 15, "ready": 10},
    ],
}


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def builds(tmp_path):
    """upstream's builds URL layout over HTTP, for the consensus node's platform build."""
    write_platform_build(tmp_path / "builds", TAG, builds_layout=True)
    handler = functools.partial(_QuietHandler, directory=str(tmp_path / "builds"))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/node/software/{{release_prefix}}/build-{{release_tag}}.zip"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def deployment(start_sandbox, builds, tmp_path):
    """A started one-node consensus network, deployed by the consensus steps' own playbook, whose haproxy pod's
    port 50211 reaches a fake consensus node."""
    server = start_sandbox(model=MODEL)  # workloads: controllers, kubelet, pods/exec, pods/portforward
    networks = server.call(register_with_sandbox, server.state)
    namespace = f"afi-{uuid.uuid4().hex[:6]}"
    solo_home, work = tmp_path / "solo", tmp_path / "work"
    env = ansible_env(server.kubeconfig, work, SOLO_HOME=str(solo_home))
    extra = {
        "deployment": namespace,
        "num_consensus_nodes": 1,
        "solo_home": str(solo_home),
        "chart_sources": local_chart_sources(),
        "platform_build_url": builds,
        "install_retry_delay": 1,
    }
    deployed = run_playbook(server.kubeconfig, work, "consensus_deploy.yml", extra, env=env, timeout=240)
    assert deployed.rc == 0, deployed.output[-4000:]
    config = deployed.result()["config"]["ansible_facts"]["hiero_solo_config"]
    output_dir = Path(config["output_dir"])
    yield {
        "server": server,
        "networks": networks,
        "clients": get_clients({"kubeconfig": str(server.kubeconfig)}, env={}),
        "namespace": namespace,
        "run_id": config["run_id"],
        "solo_home": solo_home,
        "selector": ",".join(f"{k}={v}" for k, v in HAPROXY_LABELS.items()),
        "output_dir": output_dir,
        "grpc_port": free_port(),
        "work": work,
        "deploy_seconds": deployed.seconds,
    }
    # Never leave a forwarder behind, whatever happened in the test.
    state = pf_step.StateDir(str(output_dir))
    for port in state.ports():
        record = state.record(port)
        pid = state.running_pid(port, record)
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def play(dep, playbook: str):
    extra = {
        "namespace": dep["namespace"],
        "output_dir": str(dep["output_dir"]),
        "run_id": dep["run_id"],
        "grpc_local_port": dep["grpc_port"],
        # Given explicitly (it is the default), so that -vvv has a no_log option to show.
        "operator_key": accounts_step.DEFAULT_OPERATOR_KEY,
    }
    work = dep["work"]
    # -vvv: module arguments and results are printed
    env = ansible_env(dep["server"].kubeconfig, work, SOLO_HOME=str(dep["solo_home"]), ANSIBLE_VERBOSITY="3")
    return run_playbook(dep["server"].kubeconfig, work, playbook, extra, env=env, timeout=180)


def ledger(dep):
    server, networks = dep["server"], dep["networks"]
    return server.call(networks.ledger, dep["namespace"])


def balance_through(port: int, account: str) -> int:
    """Ask the network, through a local port, for an account's balance (tinybar)."""
    client = Client.for_network({f"127.0.0.1:{port}": AccountId.from_string("0.0.3")}, "afi-test")
    client.set_operator(AccountId.from_string("0.0.2"), PrivateKey.from_string(accounts_step.DEFAULT_OPERATOR_KEY))
    try:
        query = CryptoGetAccountBalanceQuery().set_account_id(AccountId.from_string(account))
        query.set_max_attempts(5)
        return query.execute(client).hbars.to_tinybars()
    finally:
        client.close()


def port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        return True
    return False


def test_accounts_forwards_and_info_through_playbooks(deployment):
    dep = deployment
    namespace, grpc_port = dep["namespace"], dep["grpc_port"]
    outputs: list[str] = []

    # -- first run ---------------------------------------------------------------------------------------------
    first = play(dep, "afi_deploy.yml")
    outputs.append(first.output)
    assert first.rc == 0, first.output[-4000:]
    result = first.result()
    ids = [f"0.0.{n}" for n in range(1002, 1012)]
    assert result["accounts"]["changed"] is True and result["accounts"]["created"] == ids

    # The fake ledger holds the 10 accounts: alias = EVM address of solo's keys, 1,000,000 hbar each.
    ledger_state = ledger(dep)
    for account_id, raw in zip(ids, accounts_step.PREDEFINED_ECDSA_ALIAS_KEYS, strict=True):
        account = dep["server"].call(ledger_state.account, account_id)
        evm = str(PrivateKey.from_string_ecdsa(raw).public_key().to_evm_address())
        assert account.alias.hex() == evm, account_id
        assert account.balance == 1_000_000 * TINYBARS_PER_HBAR, account_id
    assert dep["server"].call(ledger_state.topic, "0.0.1001").memo == accounts_step.BUFFER_TOPIC_MEMO

    secrets = dep["clients"].core.list_namespaced_secret(namespace, label_selector="solo.hedera.com/account-id").items
    names = {s.metadata.name for s in secrets}
    assert {f"account-key-{i}" for i in ids} <= names
    assert len(names) == len(ids) + 1  # and the node's admin key (account-key-0.0.3), from the network deploy
    run_state = dep["clients"].core.read_namespaced_config_map("hiero-solo-run-state", namespace).data
    assert json.loads(run_state["accounts"])["status"] == "done"

    accounts_file = dep["output_dir"] / "accounts.json"
    assert accounts_file.stat().st_mode & 0o777 == 0o600
    listed = json.loads(accounts_file.read_text())
    # The detector finds every key the file rightly holds (so an empty finding below means something).
    expected = {f"account key #{n}" for n in range(1, 11)} | {"operator key", "operator key (raw)"}
    assert set(leaked_keys(accounts_file.read_text())) == expected
    assert [a["accountId"] for a in listed["createdAccounts"]] == ids
    assert {a["balance"] for a in listed["createdAccounts"]} == {"1000000 ℏ"}
    assert listed["systemAccounts"][0]["accountId"] == "0.0.2"

    # The forward: running, recorded in the forwards file and the remote config, shown by deployment_info.
    (forward,) = result["forwarded"]["forwards"]
    pid = forward["pid"]
    assert forward["action"] == "start" and forward["local_port"] == grpc_port
    lines = (dep["output_dir"] / "forwards").read_text().splitlines()
    assert lines == [f"Consensus Node gRPC port forward enabled on 127.0.0.1:{grpc_port}"]
    doc, _rv = _remote_config.load(dep["clients"].core, namespace)
    haproxy = _remote_config.get_component(doc, "haProxies", 1)
    assert haproxy["metadata"]["portForwardConfigs"] == [{"localPort": grpc_port, "podPort": 50211}]
    info = result["info"]
    assert info["changed"] is False
    assert [(e["local_port"], e["forwarder_pid"]) for e in info["endpoints"]] == [(grpc_port, pid)]
    assert set(ids) <= set(info["account_secrets"])
    assert info["phases"]["consensusNodes"] == "started"
    assert [a["accountId"] for a in info["accounts"]["createdAccounts"]] == ids
    assert "privateKey" not in json.dumps(info["accounts"]["createdAccounts"])

    # ansible-playbook has exited: the forward still serves, all the way to the fake node.
    state = pf_step.StateDir(str(dep["output_dir"]))
    assert pf_step.forwarder_alive(pid, state.spec_path(grpc_port))
    assert os.getsid(pid) == pid  # a session of its own, detached from the playbook
    assert balance_through(grpc_port, "0.0.1002") == 1_000_000 * TINYBARS_PER_HBAR

    # The pod is replaced (as on a rollout): new connections find the new pod.
    core = dep["clients"].core
    (old_pod,) = core.list_namespaced_pod(namespace, label_selector=dep["selector"]).items
    core.delete_namespaced_pod(old_pod.metadata.name, namespace)
    pods = _pod.wait_pods(core, namespace, dep["selector"], "replacement haproxy pod", 60, ready=True)
    new_name = pods[0]["metadata"]["name"]
    assert new_name != old_pod.metadata.name
    assert balance_through(grpc_port, "0.0.1003") == 1_000_000 * TINYBARS_PER_HBAR
    log = Path(state.log_path(grpc_port)).read_text()
    assert f"to pod {old_pod.metadata.name} port 50211" in log and f"to pod {new_name} port 50211" in log

    # -- second run: nothing changes ---------------------------------------------------------------------------
    second = play(dep, "afi_deploy.yml")
    outputs.append(second.output)
    assert second.rc == 0, second.output[-4000:]
    assert second.recap()["changed"] == 0, second.output[-4000:]
    again = second.result()
    assert again["accounts"]["created"] == [] and again["accounts"]["buffer_topic"] == "not needed"
    assert again["forwarded"]["forwards"][0]["action"] == "keep" and again["forwarded"]["forwards"][0]["pid"] == pid

    # -- absent: no process, no records ------------------------------------------------------------------------
    stopped = play(dep, "afi_destroy.yml")
    outputs.append(stopped.output)
    assert stopped.rc == 0, stopped.output[-4000:]
    assert stopped.result()["stopped"]["stopped"] == [grpc_port]
    assert not pf_step.forwarder_alive(pid, state.spec_path(grpc_port))
    assert not LocalProcessProber().alive(pid)
    assert not port_open(grpc_port)
    assert not (dep["output_dir"] / "forwards").exists()
    assert not Path(state.path).exists()
    doc, _rv = _remote_config.load(core, namespace)
    assert _remote_config.get_component(doc, "haProxies", 1)["metadata"]["portForwardConfigs"] == []

    print(
        f"\n[afi] consensus deploy {dep['deploy_seconds']:.1f}s, runs "
        + ", ".join(f"{r.seconds:.1f}s" for r in (first, second, stopped))
    )

    # -- no private key in any of it (-vvv shows module arguments and full results) ---------------------------
    assert all("EXEC /bin/sh" in output for output in outputs)  # really -vvv
    assert "evm_address" in outputs[0] and "createdAccounts" in outputs[0]  # the results were printed
    for output in outputs:
        assert leaked_keys(output) == []
