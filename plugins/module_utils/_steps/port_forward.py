# Private to the hiero.solo collection: internal API, may change at any time; do not import from other collections.
"""The ``port_forward`` step: persistent port-forwards to a deployment's pods, as solo's sub-commands leave them.

Facts from hiero-ledger/solo (solo-spec §1.12; ``components-data-wrapper.ts`` managePortForward/stopPortForwards,
``node/tasks.ts`` enablePortForwarding, ``mirror-node.ts``, ``explorer.ts``, ``relay.ts``):

- consensus gRPC: the haproxy pod of node id N, port 50211 → local 35211+N, label ``Consensus Node gRPC``,
  recorded on the ``haProxies`` component N+1;
- mirror: the mirror ingress controller pod (release ``haproxy-ingress-1``, name ``mirror-ingress…``), port 80 →
  38081, ``Mirror ingress controller``, on ``mirrorNodes`` 1;
- explorer: ``app.kubernetes.io/instance=hiero-explorer-1``, 8080 → 38080, ``Explorer``, on ``explorers`` 1;
- relay: ``app.kubernetes.io/instance=relay-1,app.kubernetes.io/name=relay``, 7546 → 37546, ``JSON RPC Relay``, on
  ``relayNodes`` 1;
- each is recorded as ``{localPort, podPort}`` in the component's ``metadata.portForwardConfigs`` and announced as
  ``<label> port forward enabled on <address>:<port>``, the lines of the ``forwards`` output file.

Solo runs ``kubectl port-forward`` under a restart-on-failure wrapper. Here each forward is our own forwarder
(``_forwarder.py``) run detached with the module's interpreter: one process per local port, with its state next to
the other outputs in ``<output_dir>/port-forwards/``: ``<port>.json`` (what it forwards), ``<port>.pid`` and
``<port>.log``. Credentials reach the process on its stdin only; nothing secret is written to disk.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ansible_collections.hiero.solo.plugins.module_utils import _forwarder, _pod, _remote_config
from ansible_collections.hiero.solo.plugins.module_utils._client import default_kubeconfig, resolve_auth
from ansible_collections.hiero.solo.plugins.module_utils._errors import HieroError, InputError
from ansible_collections.hiero.solo.plugins.module_utils._lease import LocalProcessProber
from ansible_collections.hiero.solo.plugins.module_utils._steps._common import (
    check_label,
    check_run_options,
    diff_of,
    record_failure,
    run_step,
    solo_home,
    use_cluster_ref_context,
    write_guard,
)
from ansible_collections.hiero.solo.plugins.module_utils._steps.deployment import namespace_exists

PRESET_NAMES = ("consensus_node", "mirror_node", "explorer", "relay")

FORWARD_OPTIONS: dict[str, dict[str, Any]] = {
    "component": {"type": "str", "choices": list(PRESET_NAMES)},
    "node_alias": {"type": "str"},
    "label": {"type": "str"},
    "selector": {"type": "str"},
    "pod_port": {"type": "int"},
    "local_port": {"type": "int"},
    "component_kind": {"type": "str", "choices": list(_remote_config.COMPONENT_KINDS)},
    "component_id": {"type": "int"},
}

PORT_FORWARD_ARG_SPEC: dict[str, dict[str, Any]] = {
    "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
    "namespace": {"type": "str", "required": True},
    "deployment": {"type": "str"},
    "cluster_ref": {"type": "str"},
    "forwards": {"type": "list", "elements": "dict", "options": FORWARD_OPTIONS},
    "bind_address": {"type": "str", "default": "127.0.0.1"},
    "output_dir": {"type": "path"},
    "solo_home": {"type": "path"},
}

STEP = "port_forward"
# HieroModule.execute(run, on_failure): a failure before run_step is entered still reaches the run-state.
on_failure = record_failure(STEP)

STATE_SUBDIR = "port-forwards"
SCRIPT_NAME = "hiero_solo_forwarder.py"
FORWARDS_FILE = "forwards"
LINE_MARK = " port forward enabled on "
# solo's GRPC_LOCAL_PORT, MIRROR_NODE_PORT, EXPLORER_LOCAL_PORT, JSON_RPC_RELAY_LOCAL_PORT and the pods' ports.
GRPC_LOCAL_PORT = 35211
GRPC_PORT = 50211
DEFAULT_POD_WAIT_S = 300
START_TIMEOUT_S = 30
STOP_TIMEOUT_S = 5
IDENTITY_FIELDS = ("namespace", "selector", "pod_port", "local_port", "bind_address", "name_prefix")


@dataclass(frozen=True)
class Forward:
    """One forward, fully resolved. ``identity()`` is what the running process must match to be kept."""

    label: str
    selector: str
    pod_port: int
    local_port: int
    bind_address: str
    namespace: str
    name_prefix: str = ""
    component_kind: str | None = None
    component_id: int | None = None

    def identity(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "selector": self.selector,
            "pod_port": self.pod_port,
            "local_port": self.local_port,
            "bind_address": self.bind_address,
            "name_prefix": self.name_prefix,
        }

    @property
    def address(self) -> str:
        return f"{self.bind_address}:{self.local_port}"

    def line(self) -> str:
        return f"{self.label}{LINE_MARK}{self.address}"


# ---------------------------------------------------------------------------------------------------------------
# Input


def preset(name: str, node_alias: str | None = None) -> dict[str, Any]:
    """The upstream defaults of one component's forward."""
    if name == "consensus_node":
        alias = node_alias or "node1"
        node_id = _remote_config.component_id_for_alias(alias) - 1
        return {
            "label": "Consensus Node gRPC",
            "selector": f"solo.hedera.com/type=haproxy,solo.hedera.com/node-id={node_id}",
            "pod_port": GRPC_PORT,
            "local_port": GRPC_LOCAL_PORT + node_id,
            "component_kind": "haProxies",
            "component_id": node_id + 1,
        }
    if node_alias is not None:
        raise InputError("forwards", f"node_alias applies to component consensus_node only, not {name}")
    return {
        "mirror_node": {
            "label": "Mirror ingress controller",
            "selector": "app.kubernetes.io/instance=haproxy-ingress-1",
            "name_prefix": "mirror-ingress",
            "pod_port": 80,
            "local_port": 38081,
            "component_kind": "mirrorNodes",
            "component_id": 1,
        },
        "explorer": {
            "label": "Explorer",
            "selector": "app.kubernetes.io/instance=hiero-explorer-1",
            "pod_port": 8080,
            "local_port": 38080,
            "component_kind": "explorers",
            "component_id": 1,
        },
        "relay": {
            "label": "JSON RPC Relay",
            "selector": "app.kubernetes.io/instance=relay-1,app.kubernetes.io/name=relay",
            "pod_port": 7546,
            "local_port": 37546,
            "component_kind": "relayNodes",
            "component_id": 1,
        },
    }[name]


def _port(field: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 65536:
        raise InputError(field, f"expected a TCP port from 1 to 65535, got {value!r}")
    return value


def resolve_forwards(entries: list[Mapping[str, Any]] | None, namespace: str, bind_address: str) -> list[Forward]:
    """The ``forwards`` option with each entry's preset filled in; explicit keys win over the preset."""
    forwards: list[Forward] = []
    for index, entry in enumerate(entries or []):
        field = f"forwards[{index}]"
        given = {key: value for key, value in entry.items() if value is not None}
        name = given.pop("component", None)
        alias = given.pop("node_alias", None)
        if alias is not None and name != "consensus_node":
            raise InputError(f"{field}.node_alias", "applies to component consensus_node only")
        merged = {**(preset(name, alias) if name else {}), **given}
        missing = [key for key in ("selector", "pod_port", "local_port") if merged.get(key) is None]
        if missing:
            raise InputError(
                f"{field}.{missing[0]}",
                f"required when component is not set (one of {', '.join(PRESET_NAMES)} fills it in)",
            )
        if not str(merged["selector"]).strip():
            raise InputError(f"{field}.selector", "expected a label selector such as app=haproxy-node1, got ''")
        if (merged.get("component_kind") is None) != (merged.get("component_id") is None):
            raise InputError(f"{field}.component_kind", "component_kind and component_id go together")
        forwards.append(
            Forward(
                label=merged.get("label") or f"Pod port {merged['pod_port']}",
                selector=str(merged["selector"]),
                pod_port=_port(f"{field}.pod_port", merged["pod_port"]),
                local_port=_port(f"{field}.local_port", merged["local_port"]),
                bind_address=bind_address,
                namespace=namespace,
                name_prefix=merged.get("name_prefix") or "",
                component_kind=merged.get("component_kind"),
                component_id=merged.get("component_id"),
            )
        )
    ports = [forward.local_port for forward in forwards]
    duplicates = sorted({port for port in ports if ports.count(port) > 1})
    if duplicates:
        raise InputError("forwards", f"local port {duplicates[0]} is used by more than one forward")
    return forwards


def output_dir_of(params: Mapping[str, Any], namespace: str) -> str:
    """``output_dir``, else ``<solo_home>/one-shot-<deployment>`` as solo names it (deployment defaults to the
    namespace, as in one-shot)."""
    if params.get("output_dir"):
        return os.path.abspath(os.path.expanduser(params["output_dir"]))
    deployment = params.get("deployment") or namespace
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in deployment)
    return os.path.join(solo_home(params), f"one-shot-{safe}")


# ---------------------------------------------------------------------------------------------------------------
# The forwards file and the remote config (pure)


def lines_with(lines: list[str], forward: Forward) -> list[str]:
    """The forwards file with ``forward``'s line (replacing another line for the same address)."""
    suffix = f"{LINE_MARK}{forward.address}"
    kept = [line for line in lines if not line.endswith(suffix)]
    if len(kept) != len(lines):  # keep its place when only the label changed
        index = next(i for i, line in enumerate(lines) if line.endswith(suffix))
        return [*lines[:index], forward.line(), *[line for line in lines[index + 1 :] if not line.endswith(suffix)]]
    return [*lines, forward.line()]


def lines_without(lines: list[str], address: str) -> list[str]:
    suffix = f"{LINE_MARK}{address}"
    return [line for line in lines if not line.endswith(suffix)]


def with_record(doc: dict[str, Any], kind: str, component_id: int, local_port: int, pod_port: int) -> bool:
    """Add ``{localPort, podPort}`` to a component's ``portForwardConfigs``; False when it is there or the
    component does not exist (solo records nothing then either)."""
    component = _remote_config.get_component(doc, kind, component_id)
    if component is None:
        return False
    configs = list((component.get("metadata") or {}).get("portForwardConfigs") or [])
    entry = {"localPort": local_port, "podPort": pod_port}
    if any(c.get("localPort") == local_port and c.get("podPort") == pod_port for c in configs):
        return False
    return _remote_config.update_component(doc, kind, component_id, portForwardConfigs=[*configs, entry])


def without_record(doc: dict[str, Any], kind: str, component_id: int, local_port: int, pod_port: int) -> bool:
    component = _remote_config.get_component(doc, kind, component_id)
    if component is None:
        return False
    configs = list((component.get("metadata") or {}).get("portForwardConfigs") or [])
    kept = [c for c in configs if not (c.get("localPort") == local_port and c.get("podPort") == pod_port)]
    if len(kept) == len(configs):
        return False
    return _remote_config.update_component(doc, kind, component_id, portForwardConfigs=kept)


# ---------------------------------------------------------------------------------------------------------------
# Local files


def read_lines(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8") as handle:
            return [line for line in handle.read().splitlines() if line.strip()]
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise HieroError(f"cannot read {path}: {exc}") from exc


def write_text(path: str, text: str, mode: int = 0o644) -> None:
    """Write atomically (temp file + rename) so a reader never sees half a file."""
    directory = os.path.dirname(path)
    temp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    try:
        os.makedirs(directory, exist_ok=True)
        with os.fdopen(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temp, mode)
        os.replace(temp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise HieroError(f"cannot write {path}: {exc}") from exc


def write_lines(path: str, lines: list[str]) -> None:
    if lines:
        write_text(path, "\n".join(lines) + "\n")
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def forwarder_source() -> str:
    """The forwarder's source, also when this code runs from Ansible's zipped module payload."""
    loader = getattr(_forwarder, "__loader__", None)
    with contextlib.suppress(Exception):
        source = loader.get_source(_forwarder.__name__) if loader is not None else None
        if source:
            return source
    with open(_forwarder.__file__, encoding="utf-8") as handle:
        return handle.read()


def source_digest(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:16]


@dataclass
class Record:
    """What ``<port>.json`` says about a forward started earlier."""

    identity: dict[str, Any]
    label: str
    component_kind: str | None
    component_id: int | None
    server: str | None
    context: str | None
    script: str | None
    pid: int | None


class StateDir:
    def __init__(self, output_dir: str) -> None:
        self.output_dir = output_dir
        self.path = os.path.join(output_dir, STATE_SUBDIR)

    def spec_path(self, port: int) -> str:
        return os.path.join(self.path, f"{port}.json")

    def pid_path(self, port: int) -> str:
        return os.path.join(self.path, f"{port}.pid")

    def log_path(self, port: int) -> str:
        return os.path.join(self.path, f"{port}.log")

    @property
    def script_path(self) -> str:
        return os.path.join(self.path, SCRIPT_NAME)

    @property
    def forwards_file(self) -> str:
        return os.path.join(self.output_dir, FORWARDS_FILE)

    def ports(self) -> list[int]:
        try:
            names = os.listdir(self.path)
        except FileNotFoundError:
            return []
        return sorted(int(name[:-5]) for name in names if name.endswith(".json") and name[:-5].isdigit())

    def record(self, port: int) -> Record | None:
        try:
            with open(self.spec_path(port), encoding="utf-8") as handle:
                doc = json.load(handle)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise HieroError(f"cannot read {self.spec_path(port)}: {exc}") from exc
        pid = None
        with contextlib.suppress(OSError, ValueError), open(self.pid_path(port), encoding="ascii") as handle:
            pid = int(handle.read().strip())
        return Record(
            identity={key: doc.get(key) for key in IDENTITY_FIELDS},
            label=doc.get("label") or "",
            component_kind=doc.get("component_kind"),
            component_id=doc.get("component_id"),
            server=doc.get("server"),
            context=doc.get("context"),
            script=doc.get("script"),
            pid=pid,
        )

    def running_pid(self, port: int, record: Record | None) -> int | None:
        """The PID of the forwarder serving ``port`` when it runs; a PID reused by another program is not ours."""
        if record is None or record.pid is None:
            return None
        return record.pid if forwarder_alive(record.pid, self.spec_path(port)) else None

    def remove(self, port: int) -> None:
        for path in (self.spec_path(port), self.pid_path(port), self.log_path(port)):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        if not self.ports():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.script_path)
            with contextlib.suppress(OSError):
                os.rmdir(self.path)


def forwarder_alive(pid: int, spec_path: str, prober: Any = None) -> bool:
    prober = prober or LocalProcessProber()
    if not prober.alive(pid):
        return False
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            argv = [part.decode("utf-8", "replace") for part in handle.read().split(b"\0")]
    except FileNotFoundError:
        return False
    except OSError:
        return True  # no /proc to tell: trust the PID file
    return spec_path in argv


# ---------------------------------------------------------------------------------------------------------------
# Starting and stopping processes


def connection_transport(params: Mapping[str, Any], configuration: Any) -> dict[str, Any]:
    """How the forwarder reaches the API server, handed over on its stdin (never written to disk).

    Without explicit overrides the kubeconfig is passed as it was used, so exec/auth-provider credentials keep
    refreshing in the long-lived process; otherwise a snapshot of the module's connection settings.
    """
    auth = resolve_auth(params)
    overrides = ("host", "api_key", "ca_cert", "client_cert", "client_key", "validate_certs")
    if not any(auth.get(option) is not None for option in overrides):
        kubeconfig = auth.get("kubeconfig")
        if kubeconfig is None:
            default = default_kubeconfig()
            if any(os.path.isfile(os.path.expanduser(p)) for p in default.split(os.pathsep) if p):
                kubeconfig = default
        if kubeconfig is not None:
            return {
                "kubeconfig": kubeconfig if isinstance(kubeconfig, str) else dict(kubeconfig),
                "context": auth.get("context"),
            }
    snapshot: dict[str, Any] = {
        "host": configuration.host,
        "api_key": dict(configuration.api_key or {}),
        "api_key_prefix": dict(configuration.api_key_prefix or {}),
        "verify_ssl": bool(configuration.verify_ssl),
    }
    for attribute in ("assert_hostname", "tls_server_name", "proxy", "no_proxy"):
        snapshot[attribute] = getattr(configuration, attribute, None)
    for attribute in ("ssl_ca_cert", "cert_file", "key_file"):
        path = getattr(configuration, attribute, None)
        if path:
            try:
                with open(path, encoding="utf-8") as handle:
                    snapshot[attribute] = handle.read()
            except OSError as exc:
                raise HieroError(f"cannot read {attribute} {path} for the port-forward process: {exc}") from exc
    return {"configuration": snapshot}


def start_process(
    state: StateDir, forward: Forward, record: dict[str, Any], transport: Mapping[str, Any], source: str
) -> int:
    """Write the forward's files and start its detached forwarder; return its PID once it listens."""
    os.makedirs(state.path, mode=0o700, exist_ok=True)
    current = None
    with contextlib.suppress(OSError), open(state.script_path, encoding="utf-8") as handle:
        current = handle.read()
    if current != source:
        write_text(state.script_path, source, 0o600)
    write_text(state.spec_path(forward.local_port), json.dumps(record, indent=2, sort_keys=True) + "\n", 0o600)
    log_path = state.log_path(forward.local_port)
    with open(log_path, "ab") as log:
        os.chmod(log_path, 0o600)
        process = subprocess.Popen(
            [sys.executable, state.script_path, "--spec", state.spec_path(forward.local_port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            cwd=state.path,
            close_fds=True,
            start_new_session=True,  # its own session: the end of the playbook (or a Ctrl-C) does not reach it
        )
    try:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write((json.dumps(transport) + "\n").encode("utf-8"))
        process.stdin.close()
        answer = _read_line(process.stdout, START_TIMEOUT_S)
    except OSError as exc:
        answer = f"{_forwarder.ERROR} {exc}"
    finally:
        with contextlib.suppress(OSError):
            process.stdout.close()  # type: ignore[union-attr]
    if answer.startswith(_forwarder.READY):
        write_text(state.pid_path(forward.local_port), f"{process.pid}\n", 0o600)
        return process.pid
    with contextlib.suppress(OSError):
        process.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(STOP_TIMEOUT_S)
    reason = answer.split(" ", 1)[1] if " " in answer else (answer or f"no answer within {START_TIMEOUT_S}s")
    raise HieroError(
        f"cannot start the port-forward {forward.address} -> {forward.namespace} pods {forward.selector!r} port "
        f"{forward.pod_port}: {reason} (log: {log_path})",
        local_port=forward.local_port,
    )


def _read_line(stream: Any, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    data = b""
    while b"\n" not in data:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        readable, _w, _x = select.select([stream], [], [], remaining)
        if not readable:
            break
        chunk = os.read(stream.fileno(), 4096)
        if not chunk:
            break
        data += chunk
    return data.decode("utf-8", "replace").strip()


def stop_process(pid: int, spec_path: str, prober: Any = None) -> bool:
    """SIGTERM, then SIGKILL after a grace period; True once the process is gone (False: it was not running)."""
    prober = prober or LocalProcessProber()
    if not forwarder_alive(pid, spec_path, prober):
        return False
    for signum, grace in ((signal.SIGTERM, STOP_TIMEOUT_S), (signal.SIGKILL, STOP_TIMEOUT_S)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if not prober.alive(pid):
                return True
            time.sleep(0.05)
    raise HieroError(f"port-forward process {pid} did not stop after SIGTERM and SIGKILL")


# ---------------------------------------------------------------------------------------------------------------
# The step


def _record_doc(forward: Forward, server: str | None, context: str | None, script: str) -> dict[str, Any]:
    return {
        **forward.identity(),
        "label": forward.label,
        "component_kind": forward.component_kind,
        "component_id": forward.component_id,
        "server": server,
        "context": context,
        "script": script,
    }


def _plan_process(
    forward: Forward, record: Record | None, pid: int | None, server: str | None, context: str | None, script: str
) -> str:
    """``keep`` the running forwarder, ``start`` one, or ``restart`` one that forwards something else."""
    if pid is None:
        return "start"
    assert record is not None
    if (record.identity, record.server, record.context, record.script) != (forward.identity(), server, context, script):
        return "restart"
    return "keep"


def _summary(forward: Forward, pid: int | None, action: str) -> dict[str, Any]:
    return {
        "label": forward.label,
        "address": forward.address,
        "local_port": forward.local_port,
        "pod_port": forward.pod_port,
        "namespace": forward.namespace,
        "selector": forward.selector,
        "component_kind": forward.component_kind,
        "component_id": forward.component_id,
        "pid": pid,
        "action": action,
    }


def present(module: Any) -> dict[str, Any]:
    params = module.params
    namespace = check_label("namespace", params["namespace"])
    if not params.get("forwards"):
        raise InputError("forwards", "required with state=present: at least one forward (e.g. component: relay)")
    forwards = resolve_forwards(params["forwards"], namespace, params["bind_address"])
    check_run_options(params)
    state = StateDir(output_dir_of(params, namespace))
    context = use_cluster_ref_context(module, params.get("cluster_ref"), solo_home(params))
    clients = module.clients()
    core = clients.core
    server = clients.configuration.host
    source = forwarder_source()
    script = source_digest(source)
    timeout = params.get("wait_timeout")
    pod_wait = DEFAULT_POD_WAIT_S if timeout is None else timeout

    with run_step(module, namespace, STEP):
        # Plan every forward from what runs now.
        plans = []
        for forward in forwards:
            record = state.record(forward.local_port)
            pid = state.running_pid(forward.local_port, record)
            plans.append((forward, record, pid, _plan_process(forward, record, pid, server, context, script)))
        lines_before = read_lines(state.forwards_file)
        lines_after = list(lines_before)
        for forward in forwards:
            lines_after = lines_with(lines_after, forward)
        doc_before, _rv = _remote_config.load(core, namespace)
        doc_after = _records_applied(doc_before, forwards, add=True)
        _warn_unrecorded(module, doc_before, forwards, namespace)
        processes_change = any(action != "keep" for *_rest, action in plans)
        changed = processes_change or lines_after != lines_before or doc_after != doc_before
        pids = {forward.local_port: pid for forward, _record, pid, _action in plans}

        if changed and not module.check_mode:
            with write_guard(module, namespace, cluster_writes=doc_after != doc_before) as guard:
                transport = None
                for forward, _record, pid, action in plans:
                    if action == "keep":
                        continue
                    # Solo fails when the pod is missing; wait for it the way its add commands did.
                    _pod.wait_pods(
                        core, namespace, forward.selector, f"pods for {forward.label}", pod_wait, heartbeat=guard.check
                    )
                    guard.check()
                    if action == "restart" and pid is not None:
                        stop_process(pid, state.spec_path(forward.local_port))
                    if transport is None:
                        transport = connection_transport(params, clients.configuration)
                    pids[forward.local_port] = start_process(
                        state, forward, _record_doc(forward, server, context, script), transport, source
                    )
                if doc_after != doc_before:
                    guard.check()
                    _remote_config.mutate(core, namespace, lambda doc: _records_applied(doc, forwards, add=True))
                if lines_after != lines_before:
                    write_lines(state.forwards_file, lines_after)

    summaries = [_summary(forward, pids[forward.local_port], action) for forward, _r, _p, action in plans]
    fact = {
        "namespace": namespace,
        "output_dir": state.output_dir,
        "forwards_file": state.forwards_file,
        "state_dir": state.path,
        "forwards": summaries,
    }
    result: dict[str, Any] = {
        "changed": changed,
        "forwards": summaries,
        "forwards_file": state.forwards_file,
        "ansible_facts": {"hiero_solo_port_forward": fact},
    }
    if module.diff_mode:
        result["diff"] = diff_of(
            "".join(f"{line}\n" for line in lines_before),
            "".join(f"{line}\n" for line in lines_after),
            f"{state.forwards_file} (before)",
            f"{state.forwards_file} (after)",
        )
    return result


def _records_applied(doc: dict[str, Any] | None, forwards: list[Forward], *, add: bool) -> dict[str, Any] | None:
    """The remote config with the forwards' records added (or removed); None stays None (no deployment)."""
    if doc is None:
        return None
    new = json.loads(json.dumps(doc))  # a private copy; the document is plain YAML data
    change = with_record if add else without_record
    for forward in forwards:
        if forward.component_kind is not None and forward.component_id is not None:
            change(new, forward.component_kind, forward.component_id, forward.local_port, forward.pod_port)
    return new


def _warn_unrecorded(module: Any, doc: dict[str, Any] | None, forwards: list[Forward], namespace: str) -> None:
    if doc is None:
        module.warn(f"namespace {namespace} has no solo remote config: the port-forwards are not recorded in it")
        return
    for forward in forwards:
        if forward.component_kind is None or forward.component_id is None:
            continue
        if _remote_config.get_component(doc, forward.component_kind, forward.component_id) is None:
            module.warn(
                f"the remote config has no {forward.component_kind} component {forward.component_id}: the "
                f"{forward.label} forward on port {forward.local_port} is not recorded in it (solo skips it too)"
            )


def absent(module: Any) -> dict[str, Any]:
    params = module.params
    namespace = check_label("namespace", params["namespace"])
    check_run_options(params)
    state = StateDir(output_dir_of(params, namespace))
    use_cluster_ref_context(module, params.get("cluster_ref"), solo_home(params))

    # Which forwards: the ones named, else every one this output directory records.
    if params.get("forwards"):
        targets = resolve_forwards(params["forwards"], namespace, params["bind_address"])
    else:
        targets = []
        for port in state.ports():
            record = state.record(port)
            if record is None:
                continue
            identity = record.identity
            targets.append(
                Forward(
                    label=record.label,
                    selector=identity.get("selector") or "",
                    pod_port=int(identity.get("pod_port") or 0),
                    local_port=port,
                    bind_address=identity.get("bind_address") or params["bind_address"],
                    namespace=identity.get("namespace") or namespace,
                    name_prefix=identity.get("name_prefix") or "",
                    component_kind=record.component_kind,
                    component_id=record.component_id,
                )
            )
    core = module.clients().core
    # Destroy may come after the namespace is gone: then there is no run-state and no remote config to update.
    ns_exists = namespace_exists(core, namespace)

    with run_step(module, namespace, STEP) if ns_exists else contextlib.nullcontext():
        running = {}
        for forward in targets:
            record = state.record(forward.local_port)
            running[forward.local_port] = (record, state.running_pid(forward.local_port, record))
        files_left = [port for port in (f.local_port for f in targets) if running[port][0] is not None]
        lines_before = read_lines(state.forwards_file)
        lines_after = list(lines_before)
        for forward in targets:
            lines_after = lines_without(lines_after, forward.address)
        doc_before, _rv = _remote_config.load(core, namespace) if ns_exists else (None, None)
        doc_after = _records_applied(doc_before, targets, add=False)
        changed = bool(files_left) or lines_after != lines_before or doc_after != doc_before
        stopped = [port for port, (_record, pid) in running.items() if pid is not None]

        if changed and not module.check_mode:
            with write_guard(module, namespace, cluster_writes=doc_after != doc_before) as guard:
                for forward in targets:
                    record, pid = running[forward.local_port]
                    if pid is not None:
                        guard.check()
                        stop_process(pid, state.spec_path(forward.local_port))
                    if record is not None:
                        state.remove(forward.local_port)
                if doc_after != doc_before:
                    guard.check()
                    _remote_config.mutate(core, namespace, lambda doc: _records_applied(doc, targets, add=False))
                write_lines(state.forwards_file, lines_after)

    summaries = [
        _summary(f, running[f.local_port][1], "stop" if f.local_port in stopped else "absent") for f in targets
    ]
    fact = {
        "namespace": namespace,
        "output_dir": state.output_dir,
        "forwards_file": state.forwards_file,
        "state_dir": state.path,
        "forwards": [],
        "stopped": stopped,
    }
    result: dict[str, Any] = {
        "changed": changed,
        "forwards": summaries,
        "stopped": stopped,
        "forwards_file": state.forwards_file,
        "ansible_facts": {"hiero_solo_port_forward": fact},
    }
    if module.diff_mode:
        result["diff"] = diff_of(
            "".join(f"{line}\n" for line in lines_before),
            "".join(f"{line}\n" for line in lines_after),
            f"{state.forwards_file} (before)",
            f"{state.forwards_file} (after)",
        )
    return result


def run(module: Any) -> dict[str, Any]:
    return present(module) if module.params["state"] == "present" else absent(module)
