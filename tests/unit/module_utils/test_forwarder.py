"""The port forwarder: which pod it picks, how it relays bytes, how it heals, and its detached program."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from ansible_collections.hiero.solo.plugins.module_utils import _forwarder as fw

FORWARDER = Path(fw.__file__)


def pod(name, phase="Running", ready=True, deleting=False):
    conditions = [SimpleNamespace(type="Ready", status="True" if ready else "False")]
    return SimpleNamespace(
        metadata=SimpleNamespace(name=name, deletion_timestamp="2026-01-01T00:00:00Z" if deleting else None),
        status=SimpleNamespace(phase=phase, conditions=conditions),
    )


def test_choose_pod_prefers_ready_running_pods_and_skips_terminating_ones():
    pods = [pod("b"), pod("a", ready=False), pod("c", deleting=True), pod("d", phase="Pending")]
    assert fw.choose_pod(pods) == "b"
    assert fw.choose_pod([pod("z", ready=False), pod("y", ready=False)]) == "y"
    assert fw.choose_pod([pod("c", deleting=True), pod("d", phase="Pending")]) is None
    assert fw.choose_pod([]) is None


def test_choose_pod_understands_api_json_and_name_prefix():
    as_json = [
        {"metadata": {"name": "haproxy-ingress-1-default-backend"}, "status": {"phase": "Running"}},
        {
            "metadata": {"name": "mirror-ingress-controller-abc"},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
        },
    ]
    assert fw.choose_pod(as_json, "mirror-ingress") == "mirror-ingress-controller-abc"
    assert fw.choose_pod(as_json) == "mirror-ingress-controller-abc"  # ready first


def test_splice_relays_both_ways_and_closes_both_sides_when_one_ends():
    a_outer, a_inner = socket.socketpair()
    b_inner, b_outer = socket.socketpair()
    thread = threading.Thread(target=fw.splice, args=(a_inner, b_inner), daemon=True)
    thread.start()
    a_outer.sendall(b"ping")
    assert b_outer.recv(10) == b"ping"
    b_outer.sendall(b"pong" * 1000)
    received = b""
    while len(received) < 4000:
        received += a_outer.recv(65536)
    assert received == b"pong" * 1000
    a_outer.close()
    thread.join(5)
    assert not thread.is_alive()
    assert b_outer.recv(10) == b""  # the other side was closed too


class EchoServer:
    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._echo, args=(conn,), daemon=True).start()

    @staticmethod
    def _echo(conn):
        with conn:
            while data := conn.recv(65536):
                conn.sendall(data)


class FakePods:
    """list_namespaced_pod over a mutable list of pods; records the selectors asked for."""

    def __init__(self, pods):
        self.pods = pods
        self.selectors = []

    def list_namespaced_pod(self, namespace, label_selector=None):
        self.selectors.append((namespace, label_selector))
        return SimpleNamespace(items=list(self.pods))


class ScriptedForwarder(fw.PortForwarder):
    """A PortForwarder whose pod streams go to an echo server, for the pods named in ``reachable``."""

    def __init__(self, pods: FakePods, echo: EchoServer, reachable: set[str], **kwargs):
        super().__init__(None, "ns", "app=x", 50211, **kwargs)
        self._core = pods
        self.echo, self.reachable, self.opened = echo, reachable, []

    def _open_to(self, pod_name):
        self.opened.append(pod_name)
        if pod_name not in self.reachable:
            raise RuntimeError(f"Handshake status 404 Not Found: pods {pod_name!r} not found")
        return socket.create_connection(("127.0.0.1", self.echo.port))


def roundtrip(port: int, payload: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(payload)
        data = b""
        while len(data) < len(payload):
            try:
                chunk = conn.recv(65536)
            except ConnectionResetError:  # closed with our bytes unread
                break
            if not chunk:
                break
            data += chunk
        return data


def test_forwarder_relays_connections_and_chooses_the_pod_again_when_it_is_replaced():
    echo = EchoServer()
    pods = FakePods([pod("node-a")])
    with ScriptedForwarder(pods, echo, {"node-a"}, connect_timeout=5) as forwarder:
        assert roundtrip(forwarder.port, b"hello") == b"hello"
        assert roundtrip(forwarder.port, b"again") == b"again"
        assert forwarder.opened == ["node-a", "node-a"]  # the pod is looked up once while it works
        assert pods.selectors == [("ns", "app=x")]
        # The pod is replaced: streams to the old one fail, the forwarder finds the new one and carries on.
        pods.pods = [pod("node-b")]
        forwarder.reachable = {"node-b"}
        assert roundtrip(forwarder.port, b"healed") == b"healed"
        assert forwarder.opened[-2:] == ["node-a", "node-b"]
        assert forwarder.connections == 3


def test_forwarder_closes_a_connection_it_cannot_serve_and_keeps_listening():
    echo = EchoServer()
    pods = FakePods([])
    with ScriptedForwarder(pods, echo, set(), connect_timeout=0.5) as forwarder:
        assert roundtrip(forwarder.port, b"x") == b""  # closed: no pod
        pods.pods = [pod("late")]
        forwarder.reachable = {"late"}
        assert roundtrip(forwarder.port, b"y") == b"y"


def test_forwarder_reports_a_taken_port_when_binding():
    taken = socket.create_server(("127.0.0.1", 0))
    try:
        forwarder = fw.PortForwarder(None, "ns", "app=x", 1, local_port=taken.getsockname()[1])
        with pytest.raises(OSError):
            forwarder.bind()
    finally:
        taken.close()


# -- the detached program -------------------------------------------------------------------------------------


def kubeconfig(tmp_path: Path) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "http://127.0.0.1:9"}}],
                "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "ctx",
                "users": [{"name": "u", "user": {"token": "t0ken-value"}}],
            }
        )
    )
    return path


def start_program(tmp_path: Path, local_port: int, transport: dict):
    spec = tmp_path / f"{local_port}.json"
    spec.write_text(json.dumps({"namespace": "ns", "selector": "app=x", "pod_port": 50211, "local_port": local_port}))
    log = (tmp_path / "forwarder.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, str(FORWARDER), "--spec", str(spec)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
        start_new_session=True,
    )
    proc.stdin.write((json.dumps(transport) + "\n").encode())
    proc.stdin.close()
    line = proc.stdout.readline().decode().strip()
    return proc, line


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_program_answers_ready_then_serves_until_sigterm(tmp_path):
    port = free_port()
    proc, line = start_program(tmp_path, port, {"kubeconfig": str(kubeconfig(tmp_path)), "context": "ctx"})
    try:
        assert line == f"ready {port}"
        assert os.getpgid(proc.pid) != os.getpgid(0)  # its own session: a Ctrl-C of the playbook misses it
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass  # it listens (the API behind it is unreachable, so the connection is then closed)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    log = (tmp_path / "forwarder.log").read_text()
    assert "listening on 127.0.0.1" in log and "stopped" in log
    assert "t0ken-value" not in log


def test_program_reports_why_it_cannot_start(tmp_path):
    taken = socket.create_server(("127.0.0.1", 0))
    try:
        port = taken.getsockname()[1]
        proc, line = start_program(tmp_path, port, {"kubeconfig": str(kubeconfig(tmp_path)), "context": "ctx"})
        assert proc.wait(10) == 1
        assert line.startswith("error ") and "Address already in use" in line
    finally:
        taken.close()


def test_configuration_snapshot_puts_certificates_in_private_files_and_removes_them(tmp_path):
    secrets = fw._Secrets()
    cfg = fw.configuration_from_transport(
        {
            "configuration": {
                "host": "https://api.example:6443",
                "api_key": {"authorization": "Bearer abc"},
                "verify_ssl": True,
                "ssl_ca_cert": "CA PEM",
                "key_file": "KEY PEM",
            }
        },
        secrets,
    )
    assert cfg.host == "https://api.example:6443"
    assert cfg.api_key == {"authorization": "Bearer abc"}
    assert Path(cfg.ssl_ca_cert).read_text() == "CA PEM"
    assert os.stat(cfg.key_file).st_mode & 0o777 == 0o600
    secrets.remove()
    assert not Path(cfg.key_file).exists()
