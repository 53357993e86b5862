"""Issue 7 items 1-2: the role hiero.solo.one_shot through its playbooks, against the sandbox.

The playbooks are the collection's own (`hiero.solo.one_shot_deploy` / `one_shot_destroy`, imported unchanged by
tests/integration/playbooks/one_shot_*.yml) with their inputs as extra vars, as a user or AWX passes them: the
stand-in charts as `chart_sources`, a local platform build as `platform_build_url`, SOLO_HOME in a temporary
directory, the sandbox through K8S_AUTH_KUBECONFIG. The sandbox is this file's own, so "nothing left" can be
checked against the objects it started with; its duration model slows the mirror pods down a little so that the
mirror node surely spans the start of the consensus chain.

In order: three deploys of one deployment SIGKILLed at different moments (early: once the Lease and the run-state
exist; during the fan-out: while the mirror node and the consensus chain run, ansible-playbook alone killed; during
the outputs: once port-forwards are being opened), each followed by a destroy that must leave the sandbox as it was
and no process of the killed run behind; then a fresh deploy of the same deployment (the run-state times show the
parallel DAG; the sandbox's write log shows one Lease held from before the first step to after the last); a re-run
changes nothing; a second deployment whose explorer chart source does not exist fails the play with that cause
while relay and accounts finish and its Lease is released; destroying the first removes everything it made;
destroying the second after its namespace was deleted behind the tools' back converges and leaves nothing.

Every run has a HOME of its own that is not this account's home directory, and Ansible's job directory is left at
its default (~/.ansible_async), as in containers, AWX and CI: the role's joins must find the jobs it launched.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import stat
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from ansible_collections.hiero.solo.plugins.module_utils import _remote_config, _run_state
from ansible_collections.hiero.solo.plugins.module_utils._client import get_clients
from ansible_collections.hiero.solo.plugins.module_utils._steps import port_forward as pf_step
from tests.charts.sources import local_chart_sources
from tests.integration._ansible import ROOT, PlaybookRun, ansible_env, run_playbook, start_playbook
from tests.sandbox import platform_build
from tests.sandbox.grpc_node import register_with_sandbox
from tests.sandbox.runner import SandboxServer
from tests.sandbox.state import SandboxState
from tests.sandbox.workloads import enable_workloads, mirror_behaviour

pytestmark = pytest.mark.timeout(900)

RELEASE_TAG = "v0.75.1"
PLAY_TIMEOUT = 600
CHAIN = ("consensus_network", "consensus_node_configured", "consensus_node_started")
PHASE_B = ("keys", "cluster_setup", "platform_download", "mirror_node", *CHAIN, "accounts", "explorer", "relay")
# Objects whose presence says nothing about what a deployment left behind.
NOISE_PLURALS = {"events"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LeaseEvent:
    at: float  # time.time() when the sandbox stored the change
    type: str
    namespace: str
    name: str
    uid: str
    holder: str | None


@dataclass
class Cluster:
    server: SandboxServer
    lease_events: list[LeaseEvent] = field(default_factory=list)
    initial: set[tuple[str, str, str | None, str]] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def kubeconfig(self) -> Path:
        return self.server.kubeconfig

    def leases(self, since: float, until: float) -> list[LeaseEvent]:
        with self.lock:
            return [event for event in self.lease_events if since <= event.at <= until]

    def objects(self) -> set[tuple[str, str, str | None, str]]:
        """Every object the sandbox stores (group, plural, namespace, name), events aside."""
        state = self.server.state

        def collect() -> set[tuple[str, str, str | None, str]]:
            found = set()
            for rt in state.registry.storage_types():
                if rt.plural in NOISE_PLURALS:
                    continue
                items, _rv = state.store.list(rt)
                for obj in items:
                    meta = obj["metadata"]
                    found.add((rt.group, rt.plural, meta.get("namespace"), meta["name"]))
            return found

        return self.server.call(collect)

    def volume_claims(self) -> dict[str, str | None]:
        """PersistentVolume name -> namespace of the claim it was provisioned for."""
        state = self.server.state

        def collect() -> dict[str, str | None]:
            rt = state.registry.lookup("", "v1", "persistentvolumes")
            items, _rv = state.store.list(rt)
            return {
                pv["metadata"]["name"]: ((pv.get("spec") or {}).get("claimRef") or {}).get("namespace") for pv in items
            }

        return self.server.call(collect)


def _model() -> dict:
    """The default duration model, with mirror pods slow enough (a few real seconds) to overlap the chain."""
    model = yaml.safe_load((ROOT / "tests" / "sandbox" / "model.yaml").read_text())
    for rule in model["rules"]:
        if rule.get("selector") == "app.kubernetes.io/instance=mirror-1":
            rule.update(running=100, ready=150)
    return model


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Cluster:
    state = SandboxState()
    enable_workloads(state, _model())
    server = SandboxServer(state=state).start(kubeconfig=tmp_path_factory.mktemp("one-shot-sandbox") / "kubeconfig")
    found = Cluster(server)
    server.call(lambda: mirror_behaviour.register(state.workloads.behaviours))  # the mirror DB's psql
    server.call(register_with_sandbox, state)  # fake consensus nodes behind the haproxy pods' gRPC port

    def listener(event) -> None:
        if event.resource.plural != "leases":
            return
        meta = event.obj["metadata"]
        record = LeaseEvent(
            time.time(),
            event.type,
            meta.get("namespace", ""),
            meta["name"],
            meta.get("uid", ""),
            (event.obj.get("spec") or {}).get("holderIdentity"),
        )
        with found.lock:
            found.lease_events.append(record)

    server.call(state.store.add_listener, listener)
    found.initial = found.objects()
    try:
        yield found
    finally:
        server.stop()


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("one-shot")
    yield path
    # Never leave a forwarder process behind, whatever happened in the tests.
    for state_dir in path.glob("solo/one-shot-*/port-forwards"):
        state = pf_step.StateDir(str(state_dir.parent))
        for port in state.ports():
            pid = state.running_pid(port, state.record(port))
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def inputs(work) -> dict:
    """What every run of this file passes: the stand-ins for what a real run downloads, and a fast poll."""
    build = platform_build.write_platform_build(work / "builds", RELEASE_TAG)
    init_script = work / "init.sh"
    init_script.write_text("#!/bin/bash\n# stand-in for the mirror node's db/scripts/init.sh\n")
    return {
        "solo_home": str(work / "solo"),
        "chart_sources": local_chart_sources(),
        "platform_build_url": str(build.zip_path),
        "db_init_script": str(init_script),
        "install_retry_delay": 1,
        "poll_interval": 2,
    }


def forwards() -> list[dict]:
    """solo's four forwards, on free ports (solo's fixed ones may be taken on a test machine)."""
    return [
        {"component": "consensus_node", "node_alias": "node1", "local_port": free_port()},
        {"component": "mirror_node", "local_port": free_port()},
        {"component": "explorer", "local_port": free_port()},
        {"component": "relay", "local_port": free_port()},
    ]


@pytest.fixture(scope="module")
def healthy(inputs) -> dict:
    return {**inputs, "deployment": f"os-{uuid.uuid4().hex[:6]}", "pinger": True, "forwards": forwards()}


@pytest.fixture(scope="module")
def broken(inputs) -> dict:
    """A second deployment whose explorer chart is to come from a chart repository that does not exist."""
    sources = {
        **inputs["chart_sources"],
        "explorer": {"repo": f"http://127.0.0.1:{free_port()}/charts", "chart": "hiero-explorer-chart"},
    }
    # No forwards: they are opened with the outputs, after a successful deploy only.
    return {**inputs, "deployment": f"osx-{uuid.uuid4().hex[:6]}", "chart_sources": sources}


def role_env(cluster: Cluster, work: Path) -> dict[str, str]:
    """The environment of a run, with Ansible's job directory left at its default under HOME.

    HOME (the run's own directory) is not this account's home directory, as in containers, AWX execution
    environments and CI: the role's background jobs must still be found when joined.
    """
    env = ansible_env(cluster.kubeconfig, work)
    env.pop("ANSIBLE_ASYNC_DIR")
    return env


def play(cluster: Cluster, work: Path, playbook: str, variables: dict, tag: str) -> PlaybookRun:
    return run_playbook(
        cluster.kubeconfig, work / tag, playbook, variables, env=role_env(cluster, work / tag), timeout=PLAY_TIMEOUT
    )


@dataclass
class Timed:
    run: PlaybookRun
    started: float
    finished: float


def timed_play(cluster: Cluster, work: Path, playbook: str, variables: dict, tag: str) -> Timed:
    started = time.time()
    run = play(cluster, work, playbook, variables, tag)
    return Timed(run, started, time.time())


def run_state(cluster: Cluster, namespace: str) -> _run_state.RunState:
    clients = get_clients({"kubeconfig": str(cluster.kubeconfig)}, env={})
    return _run_state.read(clients.core, namespace)


def seconds(text: str | None) -> float:
    moment: datetime | None = _run_state.parse_time(text)
    assert moment is not None, text
    return moment.timestamp()


def output_dir(variables: dict) -> Path:
    return Path(variables["solo_home"]) / f"one-shot-{variables['deployment']}"


def local_config(variables: dict) -> dict:
    path = Path(variables["solo_home"]) / "local-config.yaml"
    return yaml.safe_load(path.read_text()) if path.exists() else {}


# --------------------------------------------------------------------------------------------------- SIGKILL


@dataclass
class Interrupted:
    """A deploy SIGKILLed at one moment, then a destroy; what was seen at each point."""

    moment: str
    seen: str  # what the run had reached when it was killed
    orphans: list[str]  # processes of the killed run still alive 15 s after the kill (forwarders aside)
    destroy: PlaybookRun
    leftovers: set[tuple[str, str, str | None, str]]
    local_deployments: list[str]
    output_dir_left: bool
    processes_left: list[str]  # any process of the killed run, forwarders included, after the destroy


def run_processes(home: Path) -> dict[int, str]:
    """pid -> command line of every process started by a run whose HOME is ``home`` (they inherit it)."""
    found: dict[int, str] = {}
    marker = f"HOME={home}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if marker in environ and state != "Z":
            found[int(entry.name)] = cmdline
    return found


def moment_reached(cluster: Cluster, variables: dict, moment: str) -> str | None:
    """What the running deploy has reached, once it is at ``moment``; None before."""
    namespace = variables["deployment"]
    clients = get_clients({"kubeconfig": str(cluster.kubeconfig)}, env={})
    if moment == "outputs":
        ports = pf_step.StateDir(str(output_dir(variables))).ports()
        return f"port-forward records for {sorted(ports)}" if ports else None
    if namespace not in {ns.metadata.name for ns in clients.core.list_namespace().items}:
        return None
    leases = [lease.metadata.name for lease in clients.coordination.list_namespaced_lease(namespace).items]
    steps = run_state(cluster, namespace).steps
    if moment == "early":
        return f"Lease {leases} and run-state {sorted(steps)}" if leases and steps else None
    running = sorted(step for step, entry in steps.items() if entry.status == "running")
    if "mirror_node" in running and any(step in running for step in CHAIN):
        return f"running {running}"
    return None


def interrupt_then_destroy(
    cluster: Cluster, work: Path, variables: dict, moment: str, whole_group: bool
) -> Interrupted:
    tag = f"killed-{moment}"
    proc = start_playbook(
        cluster.kubeconfig, work / tag, "one_shot_deploy.yml", variables, env=role_env(cluster, work / tag)
    )
    home = work / tag / "home"
    seen = None
    try:
        deadline = time.monotonic() + PLAY_TIMEOUT
        while seen is None:
            assert proc.poll() is None, (work / tag / "output.log").read_text()[-6000:]
            assert time.monotonic() < deadline, f"the deploy never reached {moment}"
            seen = moment_reached(cluster, variables, moment)
            if seen is None:
                time.sleep(0.1)
    finally:
        # SIGKILL: the whole process group (ansible-playbook and its forked workers, as a terminal's hard kill),
        # or ansible-playbook alone, whose workers and detached async jobs are left running.
        with contextlib.suppress(ProcessLookupError):
            if whole_group:
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                proc.send_signal(signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + 15
    while True:
        orphans = [cmd for cmd in run_processes(home).values() if pf_step.SCRIPT_NAME not in cmd]
        if not orphans or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    destroy = play(cluster, work, "one_shot_destroy.yml", variables, f"destroy-{tag}")
    return Interrupted(
        moment,
        seen,
        orphans,
        destroy,
        cluster.objects() - cluster.initial,
        [d["name"] for d in local_config(variables).get("deployments") or []],
        output_dir(variables).exists(),
        list(run_processes(home).values()),
    )


MOMENTS = {"early": True, "fan-out": False, "outputs": True}  # moment -> kill the whole process group


@pytest.fixture(scope="module")
def interrupted(cluster, work, healthy) -> dict[str, Interrupted]:
    """The healthy deployment's deploy, SIGKILLed at three moments, each followed by a destroy."""
    return {
        moment: interrupt_then_destroy(cluster, work, healthy, moment, whole_group)
        for moment, whole_group in MOMENTS.items()
    }


@pytest.mark.parametrize("moment", list(MOMENTS))
def test_destroy_after_a_sigkill_leaves_nothing(interrupted, healthy, moment):
    found = interrupted[moment]
    assert found.seen, moment
    # The killed run's step jobs noticed that ansible-playbook was gone and stopped (their own watchdog).
    assert found.orphans == [], found.orphans
    assert found.destroy.rc == 0, found.destroy.output[-8000:]
    assert found.leftovers == set(), sorted(found.leftovers)
    assert healthy["deployment"] not in found.local_deployments
    assert not found.output_dir_left
    assert found.processes_left == [], found.processes_left


# --------------------------------------------------------------------------------------------------- deploy


@pytest.fixture(scope="module")
def first_deploy(cluster, work, healthy, interrupted) -> Timed:
    """A fresh deploy of the deployment whose three interrupted deploys were destroyed (``interrupted``)."""
    del interrupted  # only its order matters: the kills and destroys come first
    return timed_play(cluster, work, "one_shot_deploy.yml", healthy, "deploy-first")


def test_deploy_succeeds_and_writes_solo_outputs(first_deploy, cluster, healthy):
    run = first_deploy.run
    assert run.rc == 0, run.output[-8000:]
    namespace = healthy["deployment"]
    clients = get_clients({"kubeconfig": str(cluster.kubeconfig)}, env={})
    doc, _rv = _remote_config.load(clients.core, namespace)

    def phases(kind: str) -> list[str]:
        return [c["metadata"]["phase"] for c in _remote_config.components(doc, kind)]

    assert phases("consensusNodes") == ["started"]
    for kind in ("mirrorNodes", "explorers", "relayNodes"):
        assert phases(kind) == ["deployed"], kind

    out = output_dir(healthy)
    assert (out / "notes").read_text() == (
        f"Cluster Reference: one-shot\nDeployment Name: {namespace}\nNamespace Name: {namespace}\n"
    )
    versions = (out / "versions").read_text().splitlines()
    assert versions[0] == "Solo Chart Version: 0.66.0"
    assert versions[1] == f"Consensus Node Version: {RELEASE_TAG}"
    assert [line.split(":")[0] for line in versions] == [
        "Solo Chart Version",
        "Consensus Node Version",
        "Block Node Version",
        "Mirror Node Version",
        "Explorer Version",
        "JSON RPC Relay Version",
    ]
    forwarded = (out / "forwards").read_text()
    for forward in healthy["forwards"]:
        assert f"127.0.0.1:{forward['local_port']}" in forwarded
    accounts = json.loads((out / "accounts.json").read_text())
    assert len(accounts["createdAccounts"]) == 10
    assert stat.S_IMODE((out / "accounts.json").stat().st_mode) == 0o600
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    timeline = (out / "timeline.txt").read_text()
    state = run_state(cluster, namespace)
    assert timeline.startswith(f"run {state.run_id} ")
    for step in PHASE_B:
        assert any(line.startswith(step + " ") and line.endswith("done") for line in timeline.splitlines()), step


def test_deploy_runs_the_dag_in_parallel(first_deploy, cluster, healthy):
    assert first_deploy.run.rc == 0, first_deploy.run.output[-8000:]
    state = run_state(cluster, healthy["deployment"])
    steps = state.steps
    for step in (*PHASE_B, "pinger", "deployment"):
        assert steps[step].status == "done", (step, steps[step])
    assert steps["block_node"].status == "skipped"  # off by default: registered skipped, its waiters went on

    def start(step: str) -> float:
        return seconds(steps[step].started)

    def end(step: str) -> float:
        return seconds(steps[step].finished)

    chain_start, chain_end = start(CHAIN[0]), end(CHAIN[-1])
    # the mirror node ran while the consensus chain ran
    assert start("mirror_node") < chain_end and end("mirror_node") > chain_start, (steps["mirror_node"], steps)
    # explorer after the mirror node; accounts, relay and the pinger after the nodes had started
    assert start("explorer") >= end("mirror_node")
    assert start("relay") >= end("mirror_node") and start("relay") >= end("consensus_node_started")
    assert start("accounts") >= end("consensus_node_started")
    assert start("pinger") >= end("consensus_node_started")


def test_one_lease_is_held_from_the_first_step_to_the_last(first_deploy, cluster, healthy):
    assert first_deploy.run.rc == 0, first_deploy.run.output[-8000:]
    namespace = healthy["deployment"]
    events = cluster.leases(first_deploy.started, first_deploy.finished)
    # one Lease object in the whole cluster during the run: the deployment's, named after its namespace
    assert {(e.namespace, e.name, e.uid) for e in events} == {(namespace, namespace, events[0].uid)}, events
    assert len({e.holder for e in events}) == 1, "the holder never changed"
    assert [e.type for e in events if e.type != "MODIFIED"] == ["ADDED", "DELETED"]
    assert any(e.type == "MODIFIED" for e in events), "the keeper renewed it"
    steps = run_state(cluster, namespace).steps
    first_start = min(seconds(entry.started) for entry in steps.values() if entry.started)
    last_finish = max(seconds(entry.finished) for entry in steps.values() if entry.finished)
    assert events[0].at <= first_start
    assert events[-1].at >= last_finish


def test_rerun_changes_nothing(first_deploy, cluster, work, healthy):
    assert first_deploy.run.rc == 0, first_deploy.run.output[-8000:]
    again = timed_play(cluster, work, "one_shot_deploy.yml", healthy, "deploy-again")
    assert again.run.rc == 0, again.run.output[-8000:]
    assert again.run.recap()["changed"] == 0, again.run.output[-8000:]
    events = cluster.leases(again.started, again.finished)
    assert [e.type for e in events if e.type != "MODIFIED"] == ["ADDED", "DELETED"]


# --------------------------------------------------------------------------------------------------- failure


@pytest.fixture(scope="module")
def broken_deploy(cluster, work, broken, first_deploy) -> Timed:
    return timed_play(cluster, work, "one_shot_deploy.yml", broken, "deploy-broken")


def test_a_failed_step_fails_the_play_with_its_cause(broken_deploy, cluster, broken):
    run = broken_deploy.run
    namespace = broken["deployment"]
    explorer_repo = broken["chart_sources"]["explorer"]["repo"]
    assert run.rc != 0
    assert run.recap()["failed"] == 1, run.output[-8000:]
    final = run.output.rsplit("Fail with the first failure's cause", 1)[-1]
    assert f"one-shot deploy of {namespace} failed: explorer:" in final, final[-4000:]
    assert explorer_repo.split("//")[1].split("/")[0] in final, final[-4000:]  # the unreachable repository
    steps = run_state(cluster, namespace).steps
    assert steps["explorer"].status == "failed"
    # nothing waits for the explorer: the relay and the accounts went on and finished
    for step in ("mirror_node", *CHAIN, "relay", "accounts"):
        assert steps[step].status == "done", (step, steps[step])
    # the Lease was given back after the last job ended
    events = cluster.leases(broken_deploy.started, broken_deploy.finished)
    ours = [e for e in events if e.namespace == namespace]
    assert [e.type for e in ours if e.type != "MODIFIED"] == ["ADDED", "DELETED"], ours
    last_finish = max(seconds(entry.finished) for entry in steps.values() if entry.finished)
    assert ours[-1].at >= last_finish
    clients = get_clients({"kubeconfig": str(cluster.kubeconfig)}, env={})
    assert clients.coordination.list_namespaced_lease(namespace).items == []
    # solo's Finish outputs follow a successful deploy only; the timeline of the failed run is written all the same
    assert not (output_dir(broken) / "notes").exists()
    assert not (output_dir(broken) / "forwards").exists()
    timeline = (output_dir(broken) / "timeline.txt").read_text()
    assert any(line.startswith("explorer ") and "failed" in line for line in timeline.splitlines()), timeline


# --------------------------------------------------------------------------------------------------- destroy


def forwarder_pids(variables: dict) -> list[int]:
    state = pf_step.StateDir(str(output_dir(variables)))
    pids = [state.running_pid(port, state.record(port)) for port in state.ports()]
    return [pid for pid in pids if pid is not None]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def delete_namespace(cluster: Cluster, namespace: str) -> None:
    clients = get_clients({"kubeconfig": str(cluster.kubeconfig)}, env={})
    clients.core.delete_namespace(namespace, grace_period_seconds=0)
    deadline = time.monotonic() + 60
    while namespace in {ns.metadata.name for ns in clients.core.list_namespace().items}:
        assert time.monotonic() < deadline, f"namespace {namespace} is still there"
        time.sleep(0.2)


def test_destroy_removes_everything_the_deployment_made(first_deploy, broken_deploy, cluster, work, healthy, broken):
    pids = forwarder_pids(healthy)
    assert pids, "the deploy left port-forwards running"
    run = play(cluster, work, "one_shot_destroy.yml", healthy, "destroy-healthy")
    assert run.rc == 0, run.output[-8000:]
    # What is left is the other deployment's: objects in its namespace or named after it. The cluster-wide pieces
    # (MinIO operator, ClusterRole, the setup namespace, IngressClasses) went with this destroy, as in solo.
    leftovers = cluster.objects() - cluster.initial
    other = broken["deployment"]
    claims = cluster.volume_claims()
    others = {
        obj
        for obj in leftovers
        if obj[2] == other or other in obj[3] or (obj[1] == "persistentvolumes" and claims.get(obj[3]) == other)
    }
    assert leftovers - others == set(), sorted(leftovers - others)
    assert ("", "namespaces", None, broken["deployment"]) in others
    entries = local_config(healthy)
    assert [d["name"] for d in entries.get("deployments") or []] == [broken["deployment"]], entries
    assert entries.get("clusterRefs") == {}, entries  # disconnected, as solo's destroy does
    assert not output_dir(healthy).exists()
    wait_gone(pids)


def test_destroy_converges_when_the_namespace_is_already_gone(cluster, work, broken):
    # The namespace disappears behind the tools' back (kubectl delete ns, as solo's notes suggest).
    delete_namespace(cluster, broken["deployment"])
    run = play(cluster, work, "one_shot_destroy.yml", broken, "destroy-broken")
    assert run.rc == 0, run.output[-8000:]
    leftovers = cluster.objects() - cluster.initial
    assert ("", "namespaces", None, broken["deployment"]) not in leftovers  # not re-created for a Lease
    # The mirror ingress controller's ClusterRole and ClusterRoleBinding went too, found by helm's annotations.
    assert leftovers == set(), sorted(leftovers)
    assert local_config(broken).get("deployments") == []
    assert not output_dir(broken).exists()


def test_nothing_is_left_after_both_destroys(cluster):
    leftovers = cluster.objects() - cluster.initial
    assert leftovers == set(), sorted(leftovers)


def wait_gone(pids: list[int]) -> None:
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in pids if alive(pid)], "port-forward processes still run"
