"""Pure parts of the sandbox workloads: duration model, VFS, controller arithmetic, graceful pod deletion."""

from __future__ import annotations

import pytest

from tests.sandbox.store import Store
from tests.sandbox.workloads.controllers import (
    _deletion_order,
    merge_condition,
    safe_encode,
    scaled_int_or_percent,
    template_hash,
)
from tests.sandbox.workloads.model import DEFAULT_MODEL_PATH, ModelError, load_model
from tests.sandbox.workloads.vfs import VFS, FsError

# --- duration model -------------------------------------------------------------------------------------------


def pod(labels: dict[str, str], image: str = "busybox", namespace: str = "ns") -> dict:
    return {
        "metadata": {"name": "p", "namespace": namespace, "labels": labels},
        "spec": {"containers": [{"name": "c", "image": image}]},
    }


def test_first_matching_rule_wins_over_the_defaults() -> None:
    model = load_model(
        {
            "time_scale": 0.5,
            "defaults": {"running": 4, "ready": 2},
            "rules": [
                {"selector": "tier=db", "running": 10},
                {"image": "*nginx*", "ready": 8, "never_ready": True},
                {"selector": "tier", "running": 99},
            ],
        }
    )
    db = model.timing(pod({"tier": "db"}, "nginx:1"))
    assert (db.running, db.ready, db.never_ready) == (10, 2, False)
    assert db.scaled(db.running) == 5
    web = model.timing(pod({"tier": "web"}, "docker.io/nginx:1"))
    assert (web.running, web.ready, web.never_ready) == (4, 8, True)
    assert model.timing(pod({"tier": "x"})).running == 99
    assert model.timing(pod({})).running == 4


def test_the_model_file_in_the_repository_loads() -> None:
    model = load_model(DEFAULT_MODEL_PATH)
    node = model.timing(pod({"solo.hedera.com/type": "network-node"}))
    assert node.platform_active_after > model.defaults.platform_active_after
    assert 0 < model.time_scale < 1


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"time_scale": -1}, "time_scale must be a number"),
        ({"defaults": {"running": "fast"}}, "defaults.running must be a number"),
        ({"defaults": {"walk": 1}}, "unknown field 'walk'"),
        ({"rules": [{"selector": "a in (b", "ready": 1}]}, "rules[0].selector"),
        ({"rules": [{"never_ready": "yes"}]}, "never_ready must be true or false"),
        ({"colour": 1}, "unknown top-level field"),
    ],
)
def test_invalid_models_are_refused(raw: dict, message: str) -> None:
    with pytest.raises(ModelError, match=message.replace("[", r"\[").replace("(", r"\(")):
        load_model(raw)


# --- VFS ----------------------------------------------------------------------------------------------------


def test_vfs_paths_links_and_errors() -> None:
    fs = VFS()
    fs.mkdir("/a/b/c", parents=True)
    fs.write("/a/b/c/f.txt", b"data")
    fs.symlink("/a/b", "/link")
    assert fs.read("/link/c/f.txt") == b"data"
    assert fs.read("f.txt", cwd="/a/b/c") == b"data"
    assert fs.glob("/a/*/c/*.txt") == ["/a/b/c/f.txt"]
    assert fs.glob("c/*", cwd="/a/b") == ["c/f.txt"]
    with pytest.raises(FsError) as caught:
        fs.read("/a/b")
    assert caught.value.reason == "Is a directory"
    with pytest.raises(FsError) as caught:
        fs.write("/a/b/c/f.txt/x", b"")
    assert caught.value.reason == "Not a directory"
    fs.move("/a/b/c", "/moved")
    assert fs.listdir("/moved") == ["f.txt"] and not fs.exists("/a/b/c")
    assert VFS.absolute("../../x", "/a") == "/x"


# --- controller arithmetic ------------------------------------------------------------------------------------


def test_template_hash_is_stable_and_safe() -> None:
    template = {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}
    assert template_hash(template) == template_hash({**template})
    assert template_hash(template) != template_hash(template, collision_count=1)
    assert set(template_hash(template)) <= set("bcdfghjklmnpqrstvwxz2456789")
    assert safe_encode("0123") == "4567"  # each byte mod 27 into the alphabet


@pytest.mark.parametrize(
    ("value", "total", "up", "expected"),
    [("25%", 3, True, 1), ("25%", 3, False, 0), ("25%", 10, True, 3), (2, 10, False, 2), (None, 5, True, 0)],
)
def test_surge_and_unavailability(value, total: int, up: bool, expected: int) -> None:
    assert scaled_int_or_percent(value, total, up) == expected


def test_replicaset_removes_the_least_useful_pods_first() -> None:
    def make(name: str, created: str, node: bool, phase: str, ready: bool) -> dict:
        conditions = [{"type": "Ready", "status": "True" if ready else "False"}]
        return {
            "metadata": {"name": name, "creationTimestamp": created},
            "spec": {"nodeName": "n"} if node else {},
            "status": {"phase": phase, "conditions": conditions},
        }

    pods = [
        make("ready-old", "2025-01-01T00:00:00Z", True, "Running", True),
        make("ready-new", "2025-01-02T00:00:00Z", True, "Running", True),
        make("unscheduled", "2025-01-01T00:00:00Z", False, "Pending", False),
        make("pending", "2025-01-01T00:00:00Z", True, "Pending", False),
    ]
    assert [p["metadata"]["name"] for p in _deletion_order(pods)] == [
        "unscheduled",
        "pending",
        "ready-new",
        "ready-old",
    ]


def test_conditions_keep_their_times_while_unchanged() -> None:
    first = merge_condition([], "Available", "True", "R", "m", "t1")
    again = merge_condition([first], "Available", "True", "R", "m", "t2")
    assert again == first
    flipped = merge_condition([first], "Available", "False", "R2", "m2", "t3")
    assert (flipped["lastTransitionTime"], flipped["lastUpdateTime"]) == ("t3", "t3")


# --- graceful deletion of pods (store + strategies) ------------------------------------------------------------


def test_scheduled_pods_terminate_for_their_grace_period() -> None:
    store = Store(clock=lambda: "2025-01-01T00:00:00Z")
    pods = store.registry.lookup("", "v1", "pods")
    body = {"metadata": {"name": "p"}, "spec": {"nodeName": "node", "containers": [{"name": "c", "image": "i"}]}}
    store.create(pods, "default", body)
    obj, gone = store.delete(pods, "default", "p")
    assert not gone
    assert obj["metadata"]["deletionTimestamp"] == "2025-01-01T00:00:30Z"
    assert obj["metadata"]["deletionGracePeriodSeconds"] == 30
    store.update(pods, "default", "p", {**obj, "status": {"phase": "Running"}}, subresource="status")
    assert store.find(pods, "default", "p") is not None  # status writes do not end the grace period
    shorter, gone = store.delete(pods, "default", "p", grace_period_seconds=5)
    assert not gone and shorter["metadata"]["deletionGracePeriodSeconds"] == 5
    _, gone = store.delete(pods, "default", "p", grace_period_seconds=0)
    assert gone and store.find(pods, "default", "p") is None

    store.create(pods, "default", {"metadata": {"name": "unscheduled"}, "spec": {"containers": []}})
    assert store.delete(pods, "default", "unscheduled")[1]  # no kubelet runs it: gone at once
