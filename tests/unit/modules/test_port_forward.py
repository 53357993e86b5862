"""The port_forward step: upstream presets, the forwards file and remote config records, and its processes."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from ansible_collections.hiero.solo.plugins.module_utils import _remote_config
from ansible_collections.hiero.solo.plugins.module_utils._errors import HieroError, InputError
from ansible_collections.hiero.solo.plugins.module_utils._steps import port_forward as step


def resolve(*entries, bind="127.0.0.1"):
    return step.resolve_forwards(list(entries), "one-shot", bind)


def test_presets_are_solos_ports_labels_and_components():
    cn, cn2, mirror, explorer, relay = resolve(
        {"component": "consensus_node"},
        {"component": "consensus_node", "node_alias": "node2"},
        {"component": "mirror_node"},
        {"component": "explorer"},
        {"component": "relay"},
    )
    assert (cn.local_port, cn.pod_port, cn.label) == (35211, 50211, "Consensus Node gRPC")
    assert cn.selector == "solo.hedera.com/type=haproxy,solo.hedera.com/node-id=0"
    assert (cn.component_kind, cn.component_id) == ("haProxies", 1)
    assert (cn2.local_port, cn2.component_id) == (35212, 2)
    assert cn2.selector.endswith("node-id=1")
    assert (mirror.local_port, mirror.pod_port, mirror.name_prefix) == (38081, 80, "mirror-ingress")
    assert (explorer.local_port, explorer.pod_port, explorer.component_kind) == (38080, 8080, "explorers")
    assert (relay.local_port, relay.pod_port, relay.label) == (37546, 7546, "JSON RPC Relay")
    assert relay.line() == "JSON RPC Relay port forward enabled on 127.0.0.1:37546"


def test_explicit_keys_win_over_the_preset_and_custom_forwards_need_their_keys():
    (relay,) = resolve({"component": "relay", "local_port": 47546, "label": "Relay"})
    assert (relay.local_port, relay.pod_port, relay.label) == (47546, 7546, "Relay")
    (custom,) = resolve({"selector": "app=x", "pod_port": 80, "local_port": 8080})
    assert custom.label == "Pod port 80" and custom.component_kind is None
    with pytest.raises(InputError, match=r"^forwards\[0\]\.pod_port: required when component is not set"):
        resolve({"selector": "app=x", "local_port": 1})
    with pytest.raises(InputError, match=r"^forwards\[1\]\.local_port: expected a TCP port"):
        resolve({"component": "relay"}, {"selector": "a=b", "pod_port": 1, "local_port": 70000})
    with pytest.raises(InputError, match=r"^forwards: local port 37546 is used by more than one forward"):
        resolve({"component": "relay"}, {"selector": "a=b", "pod_port": 1, "local_port": 37546})
    with pytest.raises(InputError, match=r"^forwards\[0\]\.node_alias: applies to component consensus_node"):
        resolve({"component": "relay", "node_alias": "node1"})
    with pytest.raises(InputError, match=r"component_kind and component_id go together"):
        resolve({"selector": "a=b", "pod_port": 1, "local_port": 2, "component_kind": "explorers"})


def test_forwards_file_lines_are_replaced_by_address_and_other_lines_kept():
    relay, explorer = resolve({"component": "relay"}, {"component": "explorer"})
    lines = ["Consensus Node gRPC available on 127.0.0.1:35211 (NodePort)"]
    lines = step.lines_with(lines, relay)
    lines = step.lines_with(lines, explorer)
    assert lines[1:] == [relay.line(), explorer.line()]
    renamed = step.Forward("Relay!", relay.selector, 7546, 37546, "127.0.0.1", "one-shot")
    assert step.lines_with(lines, renamed) == [lines[0], "Relay! port forward enabled on 127.0.0.1:37546", lines[2]]
    assert step.lines_with(lines, relay) == lines  # idempotent
    assert step.lines_without(lines, relay.address) == [lines[0], explorer.line()]


def remote_doc():
    doc = _remote_config.new_document("one-shot", "one-shot", "one-shot", node_aliases=["node1"])
    _remote_config.add_component(doc, "relayNodes", _remote_config.new_component("relayNodes", 1, "one-shot", "c"))
    return doc


def test_records_go_into_the_components_port_forward_configs_once():
    doc = remote_doc()
    assert step.with_record(doc, "relayNodes", 1, 37546, 7546) is True
    assert step.with_record(doc, "relayNodes", 1, 37546, 7546) is False
    component = _remote_config.get_component(doc, "relayNodes", 1)
    assert component["metadata"]["portForwardConfigs"] == [{"localPort": 37546, "podPort": 7546}]
    assert step.with_record(doc, "explorers", 1, 38080, 8080) is False  # no such component: solo records nothing
    assert step.without_record(doc, "relayNodes", 1, 37546, 7546) is True
    assert _remote_config.get_component(doc, "relayNodes", 1)["metadata"]["portForwardConfigs"] == []
    assert step.without_record(doc, "relayNodes", 1, 37546, 7546) is False
    _remote_config.validate(doc)


def test_output_dir_defaults_to_solos_one_shot_directory(tmp_path):
    params = {"solo_home": str(tmp_path), "output_dir": None, "deployment": None}
    assert step.output_dir_of(params, "one-shot") == str(tmp_path / "one-shot-one-shot")
    assert step.output_dir_of({**params, "deployment": "my dep"}, "ns") == str(tmp_path / "one-shot-my_dep")
    assert step.output_dir_of({**params, "output_dir": "rel"}, "ns") == os.path.abspath("rel")


def test_connection_goes_to_the_process_as_kubeconfig_or_as_a_snapshot(tmp_path, monkeypatch):
    monkeypatch.delenv("KUBECONFIG", raising=False)
    for name in list(os.environ):
        if name.startswith("K8S_AUTH_"):
            monkeypatch.delenv(name)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("{}")
    params = {"kubeconfig": str(kubeconfig), "context": "ctx"}
    assert step.connection_transport(params, None) == {"kubeconfig": str(kubeconfig), "context": "ctx"}
    ca = tmp_path / "ca.pem"
    ca.write_text("CA")
    cfg = SimpleNamespace(
        host="https://k:6443",
        api_key={"authorization": "Bearer x"},
        api_key_prefix={},
        verify_ssl=True,
        ssl_ca_cert=str(ca),
        cert_file=None,
        key_file=None,
        assert_hostname=None,
        tls_server_name=None,
        proxy=None,
        no_proxy=None,
    )
    snapshot = step.connection_transport({"host": "https://k:6443", "api_key": "x"}, cfg)["configuration"]
    assert snapshot["host"] == "https://k:6443" and snapshot["ssl_ca_cert"] == "CA"
    assert snapshot["api_key"] == {"authorization": "Bearer x"}


# -- processes ------------------------------------------------------------------------------------------------


def kubeconfig_file(tmp_path: Path) -> str:
    path = tmp_path / "kubeconfig"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "http://127.0.0.1:9"}}],
                "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "ctx",
                "users": [{"name": "u", "user": {}}],
            }
        )
    )
    return str(path)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_start_and_stop_a_detached_forwarder(tmp_path):
    state = step.StateDir(str(tmp_path / "out"))
    port = free_port()
    forward = step.Forward("Test", "app=x", 80, port, "127.0.0.1", "ns")
    source = step.forwarder_source()
    record = step._record_doc(forward, "http://127.0.0.1:9", "ctx", step.source_digest(source))
    transport = {"kubeconfig": kubeconfig_file(tmp_path), "context": "ctx"}
    pid = step.start_process(state, forward, record, transport, source)
    try:
        assert step.forwarder_alive(pid, state.spec_path(port))
        assert state.ports() == [port]
        stored = state.record(port)
        assert stored.pid == pid and stored.identity == forward.identity() and stored.label == "Test"
        assert state.running_pid(port, stored) == pid
        assert os.stat(state.spec_path(port)).st_mode & 0o777 == 0o600
        assert "kubeconfig" not in Path(state.spec_path(port)).read_text()  # the connection went over stdin
        assert Path(state.script_path).read_text() == source
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
        # Our own PID is alive but is not this forward's process.
        assert state.running_pid(port, step.Record({}, "", None, None, None, None, None, os.getpid())) is None
        with pytest.raises(HieroError, match=r"cannot start the port-forward .*Address already in use"):
            step.start_process(state, forward, record, transport, source)
    finally:
        assert step.stop_process(pid, state.spec_path(port)) is True
    assert not step.forwarder_alive(pid, state.spec_path(port))
    assert step.stop_process(pid, state.spec_path(port)) is False
    state.remove(port)
    assert not Path(state.path).exists()  # the last forward takes the directory (and the script) with it


def test_plan_keeps_a_matching_process_and_restarts_a_changed_one():
    forward = step.Forward("Relay", "app=r", 7546, 37546, "127.0.0.1", "ns")
    record = step.Record(forward.identity(), "Relay", None, None, "http://k", "ctx", "abc", 42)
    assert step._plan_process(forward, record, 42, "http://k", "ctx", "abc") == "keep"
    assert step._plan_process(forward, record, None, "http://k", "ctx", "abc") == "start"
    assert step._plan_process(forward, record, 42, "http://other", "ctx", "abc") == "restart"
    assert step._plan_process(forward, record, 42, "http://k", "ctx", "new-script") == "restart"
    moved = step.Forward("Relay", "app=r2", 7546, 37546, "127.0.0.1", "ns")
    assert step._plan_process(moved, record, 42, "http://k", "ctx", "abc") == "restart"


def test_forwarder_source_is_the_standalone_program():
    source = step.forwarder_source()
    assert "def main(" in source and "ansible_collections" not in source.split('"""', 2)[2]
    assert json.loads(json.dumps(source)) == source


# -- the step against the sandbox API server (no port-forward serving needed: only the processes are checked) --


class FakeModule:
    def __init__(self, kubeconfig, check_mode=False, **params):
        from ansible_collections.hiero.solo.plugins.module_utils._args import (
            AUTH_ARG_SPEC,
            LEASE_ARG_SPEC,
            RUN_ARG_SPEC,
            WAIT_ARG_SPEC,
            argspec,
        )

        spec = argspec(AUTH_ARG_SPEC, LEASE_ARG_SPEC, RUN_ARG_SPEC, WAIT_ARG_SPEC, step.PORT_FORWARD_ARG_SPEC)
        self.params = {name: option.get("default") for name, option in spec.items()}
        self.params.update(kubeconfig=str(kubeconfig), **params)
        self.check_mode = check_mode
        self.diff_mode = True
        self.warnings: list[str] = []
        self.ansible_module = SimpleNamespace(no_log_values=set())
        self._clients = None

    def clients(self):
        from ansible_collections.hiero.solo.plugins.module_utils._client import get_clients

        if self._clients is None:
            self._clients = get_clients(self.params, env={})
        return self._clients

    def warn(self, msg):
        self.warnings.append(msg)


def test_present_and_absent_converge_and_check_mode_changes_nothing(sandbox, tmp_path):
    import uuid

    from ansible_collections.hiero.solo.plugins.module_utils import _run_state
    from ansible_collections.hiero.solo.plugins.module_utils._client import get_clients

    namespace = f"pf-{uuid.uuid4().hex[:6]}"
    core = get_clients({"kubeconfig": str(sandbox.kubeconfig)}, env={}).core
    core.create_namespace({"metadata": {"name": namespace}})
    _remote_config.mutate(core, namespace, lambda _doc: remote_doc())
    labels = {"app.kubernetes.io/instance": "relay-1", "app.kubernetes.io/name": "relay"}
    core.create_namespaced_pod(
        namespace, {"metadata": {"name": "relay-1-abc", "labels": labels}, "spec": {"containers": [{"name": "r"}]}}
    )
    core.patch_namespaced_pod_status("relay-1-abc", namespace, {"status": {"phase": "Running"}})
    port = free_port()
    out = tmp_path / "out"
    options = {"namespace": namespace, "output_dir": str(out), "forwards": [{"component": "relay", "local_port": port}]}

    planned = step.run(FakeModule(sandbox.kubeconfig, check_mode=True, **options))
    assert planned["changed"] is True and planned["forwards"][0]["action"] == "start"
    assert not out.exists() and not _port_open(port)

    started = step.run(FakeModule(sandbox.kubeconfig, run_id="run-1", **options))
    (forward,) = started["forwards"]
    pid = forward["pid"]
    try:
        assert started["changed"] is True and forward["action"] == "start"
        assert step.forwarder_alive(pid, step.StateDir(str(out)).spec_path(port)) and _port_open(port)
        assert (out / "forwards").read_text() == f"JSON RPC Relay port forward enabled on 127.0.0.1:{port}\n"
        doc, _rv = _remote_config.load(core, namespace)
        relay = _remote_config.get_component(doc, "relayNodes", 1)
        assert relay["metadata"]["portForwardConfigs"] == [{"localPort": port, "podPort": 7546}]
        assert _run_state.read(core, namespace).steps["port_forward"].status == "done"
        assert started["diff"]["before"] == "" and str(port) in started["diff"]["after"]

        kept = step.run(FakeModule(sandbox.kubeconfig, **options))
        assert kept["changed"] is False and kept["forwards"][0] == {**forward, "action": "keep"}

        would_stop = step.run(
            FakeModule(sandbox.kubeconfig, check_mode=True, state="absent", namespace=namespace, output_dir=str(out))
        )
        assert would_stop["changed"] is True and step.forwarder_alive(pid, step.StateDir(str(out)).spec_path(port))
    finally:
        stopped = step.run(FakeModule(sandbox.kubeconfig, state="absent", namespace=namespace, output_dir=str(out)))
    assert stopped["changed"] is True and stopped["stopped"] == [port]
    assert not step.forwarder_alive(pid, step.StateDir(str(out)).spec_path(port)) and not _port_open(port)
    assert not (out / "forwards").exists()
    doc, _rv = _remote_config.load(core, namespace)
    assert _remote_config.get_component(doc, "relayNodes", 1)["metadata"]["portForwardConfigs"] == []
    again = step.run(FakeModule(sandbox.kubeconfig, state="absent", namespace=namespace, output_dir=str(out)))
    assert again["changed"] is False and again["forwards"] == []


def test_present_fails_clearly_without_a_pod_and_absent_works_without_a_namespace(sandbox, tmp_path):
    options = {"namespace": "pf-missing", "output_dir": str(tmp_path), "wait_timeout": 1}
    with pytest.raises(HieroError, match=r"timed out after 1s waiting for pods for Explorer"):
        step.run(
            FakeModule(sandbox.kubeconfig, forwards=[{"component": "explorer", "local_port": free_port()}], **options)
        )
    with pytest.raises(InputError, match=r"^forwards: required with state=present"):
        step.run(FakeModule(sandbox.kubeconfig, **options))
    gone = step.run(FakeModule(sandbox.kubeconfig, state="absent", **options))
    assert gone["changed"] is False


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False
