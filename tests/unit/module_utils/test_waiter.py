"""Readiness predicates and wait_for (plugins/module_utils/_waiter.py): tables of API-shaped objects and a fake clock,
so nothing really sleeps."""

from __future__ import annotations

import json

import kubernetes.client
import pytest
from kubernetes.client.exceptions import ApiException

from ansible_collections.hiero.solo.plugins.module_utils._errors import ClusterError, HieroError, LeaseLost, WaitTimeout
from ansible_collections.hiero.solo.plugins.module_utils._waiter import (
    Clock,
    deployment_ready,
    job_complete,
    job_failed,
    pod_ready,
    pod_running,
    pvc_bound,
    replicaset_ready,
    statefulset_ready,
    summarize,
    to_dict,
    wait_for,
    watched,
)


def pod(name, phase="Pending", ready=False, containers=None, init=None, conditions=None, **status):
    conds = [{"type": "Ready", "status": "True" if ready else "False"}, *(conditions or [])]
    body = {"phase": phase, "conditions": conds, **status}
    if containers is not None:
        body["containerStatuses"] = containers
    if init is not None:
        body["initContainerStatuses"] = init
    return {
        "metadata": {"name": name, "namespace": "one-shot"},
        "spec": {"containers": [{"name": "root-container"}]},
        "status": body,
    }


def waiting(name, reason, message=None, restarts=0):
    state = {"reason": reason, **({"message": message} if message else {})}
    return {"name": name, "ready": False, "restartCount": restarts, "state": {"waiting": state}}


def workload(kind, desired=1, generation=1, observed=1, **status):
    spec = {"replicas": desired}
    if kind == "StatefulSet":
        spec["serviceName"] = "svc"
    if kind == "Deployment":
        spec["strategy"] = {"type": "RollingUpdate"}
    body = dict(status)
    if observed is not None:
        body["observedGeneration"] = observed
    return {"kind": kind, "metadata": {"name": kind.lower(), "generation": generation}, "spec": spec, "status": body}


def job(*conditions, **counts):
    conds = [{"type": t, "status": "True", "reason": r} for t, r in conditions]
    return {"metadata": {"name": "accounts"}, "spec": {"backoffLimit": 1}, "status": {"conditions": conds, **counts}}


PREDICATE_CASES = [
    (pod_running, pod("p", "Pending"), False),
    (pod_running, pod("p", "Running"), True),
    (pod_ready, pod("p", "Running", ready=False), False),
    (pod_ready, pod("p", "Running", ready=True), True),
    (pod_ready, pod("p", "Succeeded", ready=False), False),
    (pod_ready, {"metadata": {"name": "p"}}, False),
    (deployment_ready, workload("Deployment", 2, updatedReplicas=2, replicas=2, availableReplicas=2), True),
    (deployment_ready, workload("Deployment", 2, updatedReplicas=1, replicas=2, availableReplicas=2), False),
    (deployment_ready, workload("Deployment", 2, updatedReplicas=2, replicas=3, availableReplicas=2), False),
    (deployment_ready, workload("Deployment", 2, updatedReplicas=2, replicas=2, availableReplicas=1), False),
    (deployment_ready, workload("Deployment", 2, 2, 1, updatedReplicas=2, replicas=2, availableReplicas=2), False),
    (deployment_ready, workload("Deployment", 0), True),
    (deployment_ready, {"metadata": {"name": "d"}, "spec": {}, "status": {}}, False),
    (statefulset_ready, workload("StatefulSet", 1, readyReplicas=1, currentRevision="a", updateRevision="a"), True),
    (statefulset_ready, workload("StatefulSet", 1, readyReplicas=1, currentRevision="a", updateRevision="b"), False),
    (statefulset_ready, workload("StatefulSet", 3, readyReplicas=2), False),
    (statefulset_ready, workload("StatefulSet", 1, observed=None, readyReplicas=1), False),
    (statefulset_ready, workload("StatefulSet", 1, 3, 2, readyReplicas=1), False),
    (statefulset_ready, workload("StatefulSet", 1, readyReplicas=1), True),
    (replicaset_ready, workload("ReplicaSet", 2, readyReplicas=2, availableReplicas=2), True),
    (replicaset_ready, workload("ReplicaSet", 2, readyReplicas=2, availableReplicas=1), False),
    (job_complete, job(("Complete", None), succeeded=1), True),
    (job_complete, job(active=1), False),
    (job_failed, job(("Failed", "BackoffLimitExceeded"), failed=2), True),
    (job_failed, job(("Complete", None)), False),
    (pvc_bound, {"metadata": {"name": "v"}, "spec": {"accessModes": ["RWO"]}, "status": {"phase": "Bound"}}, True),
    (pvc_bound, {"metadata": {"name": "v"}, "spec": {"accessModes": ["RWO"]}, "status": {"phase": "Pending"}}, False),
]


@pytest.mark.parametrize(("predicate", "obj", "expected"), PREDICATE_CASES)
def test_predicates(predicate, obj, expected):
    assert predicate(obj) is expected


def test_statefulset_partition_counts_updated_replicas():
    sts = workload("StatefulSet", 3, readyReplicas=3, updatedReplicas=1, currentRevision="a", updateRevision="b")
    sts["spec"]["updateStrategy"] = {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}
    assert statefulset_ready(sts) is True
    sts["spec"]["updateStrategy"]["rollingUpdate"]["partition"] = 1
    assert statefulset_ready(sts) is False


def test_typed_objects_are_read_in_api_shape():
    typed = kubernetes.client.V1Pod(
        metadata=kubernetes.client.V1ObjectMeta(name="network-node1-0"),
        status=kubernetes.client.V1PodStatus(
            phase="Running", conditions=[kubernetes.client.V1PodCondition(type="Ready", status="True")]
        ),
    )
    as_dict = to_dict(typed)
    assert as_dict["status"]["phase"] == "Running"
    assert pod_ready(as_dict) is True


# --- summaries -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (
            pod(
                "network-node1-0",
                init=[waiting("init-config", "PodInitializing")],
                containers=[waiting("root-container", "ContainerCreating")],
            ),
            "pod network-node1-0: Pending; init container init-config waiting: PodInitializing; "
            "container root-container waiting: ContainerCreating",
        ),
        (
            pod(
                "mirror-importer-0",
                "Running",
                containers=[waiting("importer", "CrashLoopBackOff", "back-off 40s restarting", restarts=4)],
            ),
            "pod mirror-importer-0: Running, not ready; container importer waiting: CrashLoopBackOff - "
            "back-off 40s restarting (restarts 4)",
        ),
        (
            pod(
                "relay-1-0",
                conditions=[
                    {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/1 nodes"}
                ],
            ),
            "pod relay-1-0: Pending; not scheduled: 0/1 nodes",
        ),
        (
            pod(
                "haproxy-0",
                "Failed",
                reason="Evicted",
                containers=[
                    {"name": "h", "state": {"terminated": {"reason": "Error", "exitCode": 137}}, "restartCount": 0}
                ],
            ),
            "pod haproxy-0: Failed; reason Evicted; container h terminated: Error (exit 137)",
        ),
        (
            pod("p", "Running", ready=True, containers=[{"name": "c", "ready": True, "state": {"running": {}}}]),
            "pod p: Running, ready",
        ),
        (
            workload("Deployment", 2, 2, 1, readyReplicas=1, updatedReplicas=1, availableReplicas=1),
            "deployment deployment: ready 1/2, updated 1, available 1, latest spec not yet observed",
        ),
        (workload("StatefulSet", 1), "statefulset statefulset: ready 0/1, updated 0, available 0"),
        (
            job(("Failed", "BackoffLimitExceeded"), failed=2),
            "job accounts: active 0, succeeded 0, failed 2, Failed (BackoffLimitExceeded)",
        ),
        ({"metadata": {"name": "data"}, "spec": {"accessModes": ["RWO"]}, "status": {}}, "pvc data: no phase yet"),
        ({"kind": "Lease", "metadata": {"name": "x"}}, "lease x: no status yet"),
    ],
)
def test_summaries_name_objects_and_their_state(obj, expected):
    assert summarize(obj) == expected


# --- wait_for ------------------------------------------------------------------------------------------------------


class FakeClock(Clock):
    def __init__(self):
        self.now = 0.0
        self.sleeps = []
        super().__init__(monotonic=lambda: self.now, sleep=self._sleep)

    def _sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def sequence(*states):
    """A list_fn returning each state in turn, then the last one forever."""
    calls = []

    def list_fn():
        calls.append(1)
        return {"items": states[min(len(calls), len(states)) - 1], "metadata": {"resourceVersion": str(len(calls))}}

    list_fn.calls = calls
    return list_fn


def test_polling_returns_once_every_object_matches():
    clock = FakeClock()
    list_fn = sequence(
        [pod("a")], [pod("a", "Running"), pod("b")], [pod("a", "Running", True), pod("b", "Running", True)]
    )
    ready = wait_for(list_fn, pod_ready, "pods to be ready", 60, clock)
    assert [p["metadata"]["name"] for p in ready] == ["a", "b"]
    assert clock.sleeps == [0.5, 1.0]
    assert len(list_fn.calls) == 3


def test_timeout_names_what_and_every_pod_last_seen():
    clock = FakeClock()
    stuck = [
        pod("network-node1-0", containers=[waiting("root-container", "ImagePullBackOff")]),
        pod(
            "network-node2-0",
            "Running",
            containers=[{"name": "root-container", "ready": False, "state": {"running": {}}}],
        ),
    ]
    with pytest.raises(WaitTimeout) as err:
        wait_for(
            sequence(stuck), pod_ready, "pods solo.hedera.com/type=network-node in one-shot to be ready", 20, clock
        )
    assert str(err.value) == (
        "timed out after 20s waiting for pods solo.hedera.com/type=network-node in one-shot to be ready; last seen: "
        "pod network-node1-0: Pending; container root-container waiting: ImagePullBackOff; "
        "pod network-node2-0: Running, not ready; container root-container running, not ready"
    )
    assert err.value.result["last_seen"][0].startswith("pod network-node1-0")
    assert clock.now == pytest.approx(20)
    assert max(clock.sleeps) == 5.0, "backoff is capped"


def test_nothing_matching_is_not_ready_and_says_so():
    clock = FakeClock()
    with pytest.raises(WaitTimeout, match=r"waiting for pods app=relay to be ready; last seen: no matching objects$"):
        wait_for(sequence([]), pod_ready, "pods app=relay to be ready", 3, clock)
    assert wait_for(sequence([]), pod_ready, "nothing", 3, FakeClock(), min_count=0) == []


def test_failed_objects_end_the_wait_at_once():
    clock = FakeClock()
    with pytest.raises(HieroError) as err:
        wait_for(
            sequence([job(("Failed", "BackoffLimitExceeded"))]),
            job_complete,
            "job accounts to complete",
            300,
            clock,
            failed=job_failed,
        )
    assert str(err.value) == (
        "gave up waiting for job accounts to complete: job accounts: active 0, succeeded 0, failed 0, "
        "Failed (BackoffLimitExceeded)"
    )
    assert clock.sleeps == []


def test_heartbeat_runs_between_checks_and_can_stop_the_wait():
    clock = FakeClock()
    beats = []

    def heartbeat():
        beats.append(clock.now)
        if len(beats) == 3:
            raise LeaseLost("lease lost: now held by someone else")

    with pytest.raises(LeaseLost):
        wait_for(sequence([pod("a")]), pod_ready, "pods", 60, clock, heartbeat=heartbeat)
    assert beats == [0.0, 0.5, 1.5]


def test_watch_follows_events_from_the_listed_resource_version():
    clock = FakeClock()
    watched_from = []

    def watch_fn(resource_version, timeout_s):
        watched_from.append((resource_version, timeout_s))
        yield {"type": "MODIFIED", "raw_object": pod("a", "Running")}
        yield {"type": "ADDED", "raw_object": pod("b", "Running", True)}
        yield {"type": "DELETED", "raw_object": pod("a", "Running")}

    ready = wait_for(sequence([pod("a")]), pod_ready, "pods", 100, clock, watch_fn=watch_fn)
    assert [p["metadata"]["name"] for p in ready] == ["b"]
    assert watched_from == [("1", 30)], "one watch segment from the list's resourceVersion"
    assert clock.sleeps == []


def test_watch_segment_ending_quietly_relists_without_sleeping():
    clock = FakeClock()
    list_fn = sequence([pod("a")], [pod("a", "Running", True)])

    def watch_fn(resource_version, timeout_s):
        clock.now += timeout_s  # the server held the watch open for the whole segment; nothing changed
        return iter(())

    assert wait_for(list_fn, pod_ready, "pods", 100, clock, watch_fn=watch_fn)[0]["metadata"]["name"] == "a"
    assert clock.sleeps == []
    assert len(list_fn.calls) == 2


def test_watch_that_ends_at_once_backs_off_instead_of_spinning():
    clock = FakeClock()
    list_fn = sequence([pod("a")])
    with pytest.raises(WaitTimeout):
        wait_for(list_fn, pod_ready, "pods", 4, clock, watch_fn=lambda rv, t: iter(()))
    assert clock.sleeps == [0.5, 1.0, 2.0, 0.5]
    assert len(list_fn.calls) == 5, "the first list, then one after each sleep"


def test_watch_410_gone_relists_and_other_errors_name_the_wait():
    clock = FakeClock()
    list_fn = sequence([pod("a")], [pod("a", "Running", True)])

    def gone(resource_version, timeout_s):
        raise ApiException(status=410, reason="Gone")
        yield  # pragma: no cover

    assert wait_for(list_fn, pod_ready, "pods", 100, clock, watch_fn=gone)
    assert len(list_fn.calls) == 2

    def forbidden(resource_version, timeout_s):
        raise ApiException(status=403, reason="Forbidden")
        yield  # pragma: no cover

    with pytest.raises(ClusterError, match=r"^cannot watch while waiting for pods app=x to be ready: 403 Forbidden"):
        wait_for(sequence([pod("a")]), pod_ready, "pods app=x to be ready", 100, FakeClock(), watch_fn=forbidden)


def test_list_errors_name_the_wait():
    def list_fn():
        raise ApiException(status=401, reason="Unauthorized")

    with pytest.raises(ClusterError, match=r"^cannot list while waiting for pods to be ready: 401 Unauthorized"):
        wait_for(list_fn, pod_ready, "pods to be ready", 10, FakeClock())


class FakeStream:
    """What a typed list call returns with _preload_content=False: a chunked watch response."""

    status = 200

    def __init__(self, events):
        self.lines = [json.dumps(e).encode() + b"\n" for e in events]

    def stream(self, amt=None, decode_content=False):
        yield from self.lines

    def close(self):
        pass

    def release_conn(self):
        pass


def test_watched_drives_a_real_kubernetes_watch():
    calls = []

    def list_namespaced_pod(namespace, **kwargs):
        """List pods.

        :rtype: V1PodList
        """
        calls.append((namespace, kwargs))
        if kwargs.get("watch"):
            return FakeStream([{"type": "MODIFIED", "object": pod("a", "Running", True)}])
        return kubernetes.client.V1PodList(
            items=[kubernetes.client.V1Pod(metadata=kubernetes.client.V1ObjectMeta(name="a", namespace="one-shot"))],
            metadata=kubernetes.client.V1ListMeta(resource_version="41"),
        )

    list_fn, watch_fn = watched(list_namespaced_pod, "one-shot", label_selector="app=a")
    ready = wait_for(list_fn, pod_ready, "pods app=a", 50, FakeClock(), watch_fn=watch_fn)
    assert [p["metadata"]["name"] for p in ready] == ["a"]
    assert calls[0] == ("one-shot", {"label_selector": "app=a"})
    namespace, options = calls[1]
    assert namespace == "one-shot"
    assert options["resource_version"] == "41"
    assert options["timeout_seconds"] == 30
    assert options["_request_timeout"] == 40
    assert options["label_selector"] == "app=a"
    assert options["watch"] is True
