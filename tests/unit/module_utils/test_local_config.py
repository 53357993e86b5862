"""solo's local config file: schema 2, legacy migration, atomic locked writes, unknown fields kept, modes."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import stat
import time

import pytest
import yaml

from ansible_collections.hiero.solo.plugins.module_utils import _local_config as lc
from ansible_collections.hiero.solo.plugins.module_utils._errors import HieroError

IDENTITY = lc.user_identity()


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def add_ref(ref: str, context: str):
    def change(doc):
        lc.set_cluster_ref(doc, ref, context)
        return doc

    return change


def connect_and_create(doc):
    # What `cluster-ref config connect` + `deployment config create` + `deployment cluster attach` leave behind.
    lc.set_cluster_ref(doc, "one-shot", "kind-solo-cluster")
    lc.set_deployment(doc, "one-shot", "one-shot")
    lc.attach_cluster(doc, "one-shot", "one-shot")
    return doc


def test_solo_home_from_environment() -> None:
    assert lc.solo_home({"SOLO_HOME": "/srv/solo"}) == "/srv/solo"
    assert lc.solo_home({}) == os.path.expanduser("~/.solo")
    assert lc.solo_home({"SOLO_HOME": ""}) == os.path.expanduser("~/.solo")


def test_first_write_creates_solos_schema_2_document(tmp_path) -> None:
    home = tmp_path / "solo"
    assert lc.read(str(home)) is None
    doc, changed = lc.mutate(str(home), connect_and_create)
    assert changed is True
    stored = yaml.safe_load((home / "local-config.yaml").read_text())
    assert (
        stored
        == doc
        == {
            "schemaVersion": 2,
            "versions": {
                "cli": "0.0.0",
                "chart": "0.0.0",
                "consensusNode": "0.0.0",
                "mirrorNodeChart": "0.0.0",
                "explorerChart": "0.0.0",
                "jsonRpcRelayChart": "0.0.0",
                "blockNodeChart": "0.0.0",
            },
            "userIdentity": IDENTITY,
            "deployments": [
                {"name": "one-shot", "namespace": "one-shot", "clusters": ["one-shot"], "realm": 0, "shard": 0}
            ],
            "clusterRefs": {"one-shot": "kind-solo-cluster"},
        }
    )
    text = (home / "local-config.yaml").read_text()
    top_keys = [line.split(":")[0] for line in text.splitlines() if line and not line.startswith(" ")]
    assert top_keys == sorted(top_keys) == ["clusterRefs", "deployments", "schemaVersion", "userIdentity", "versions"]
    assert "  - clusters:\n      - one-shot\n" in text  # sequences indented under their key, as solo's YAML
    assert lc.read(str(home)) == doc


def test_file_modes(tmp_path) -> None:
    home = tmp_path / "solo"
    old_umask = os.umask(0)  # the mode must not depend on the caller's umask
    try:
        lc.mutate(str(home), add_ref("a", "ctx-a"))
    finally:
        os.umask(old_umask)
    path = home / "local-config.yaml"
    assert mode(path) == 0o644
    assert not mode(path) & stat.S_IWOTH
    assert mode(home / lc.LOCK_FILE_NAME) == 0o600
    os.chmod(path, 0o600)  # an owner's stricter choice is kept
    lc.mutate(str(home), add_ref("b", "ctx-b"))
    assert mode(path) == 0o600
    os.chmod(path, 0o666)  # but the file never stays world-writable
    lc.mutate(str(home), add_ref("c", "ctx-c"))
    assert mode(path) == 0o664


def test_no_op_mutate_does_not_write(tmp_path) -> None:
    home = tmp_path / "solo"
    doc, changed = lc.mutate(str(home), lambda d: d)
    assert changed is False and not (home / "local-config.yaml").exists()  # nothing to record: no file
    assert doc["schemaVersion"] == 2

    lc.mutate(str(home), connect_and_create)
    before = os.stat(home / "local-config.yaml")
    doc, changed = lc.mutate(str(home), connect_and_create)  # the same change again
    assert changed is False
    after = os.stat(home / "local-config.yaml")
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_check_mode_reports_without_writing(tmp_path) -> None:
    home = tmp_path / "solo"
    doc, changed = lc.mutate(str(home), add_ref("a", "ctx"), check_mode=True)
    assert changed is True and doc["clusterRefs"] == {"a": "ctx"}
    assert not (home / "local-config.yaml").exists()


def test_unknown_fields_are_preserved(tmp_path) -> None:
    home = tmp_path / "solo"
    home.mkdir()
    original = {
        "schemaVersion": 2,
        "versions": {"cli": "0.90.0", "chart": "0.70.0", "futureComponent": "1.0.0"},
        "userIdentity": {"name": "someone", "hostname": "elsewhere"},
        "deployments": [
            {"name": "other", "namespace": "other", "clusters": ["c1"], "realm": 0, "shard": 0, "futureField": [1]}
        ],
        "clusterRefs": {"c1": "ctx-1"},
        "futureSection": {"enabled": True, "mode": "on"},
    }
    (home / "local-config.yaml").write_text(yaml.safe_dump(original))
    doc, changed = lc.mutate(str(home), connect_and_create)
    assert changed is True
    stored = lc.yaml_load((home / "local-config.yaml").read_text(), "test")
    assert stored["futureSection"] == {"enabled": True, "mode": "on"}
    assert stored["versions"]["futureComponent"] == "1.0.0"
    assert stored["userIdentity"] == {"name": "someone", "hostname": "elsewhere"}
    assert stored["deployments"][0] == original["deployments"][0]
    assert stored["clusterRefs"] == {"c1": "ctx-1", "one-shot": "kind-solo-cluster"}
    assert stored == doc


LEGACY_V0 = """\
userEmailAddress: joe@doe.com
soloVersion: '0.35.1'
deployments:
  deployment:
    clusters:
      - cluster-1
    namespace: solo-e2e
    realm: 1
    shard: 2
clusterRefs:
  cluster-1: context-1
  cluster-2: context-2
"""


def test_legacy_location_is_migrated_as_solo_does(tmp_path) -> None:
    home = tmp_path / "solo"
    (home / "cache").mkdir(parents=True)
    legacy = home / "cache" / "local-config.yaml"
    legacy.write_text(LEGACY_V0)

    doc = lc.read(str(home))
    assert legacy.exists() and not (home / "local-config.yaml").exists()  # reading writes nothing
    assert doc["schemaVersion"] == 2
    assert "userEmailAddress" not in doc and "soloVersion" not in doc
    assert doc["versions"]["cli"] == "0.35.1"
    assert doc["deployments"] == [
        {"name": "deployment", "namespace": "solo-e2e", "clusters": ["cluster-1"], "realm": 1, "shard": 2}
    ]
    assert doc["clusterRefs"] == {"cluster-1": "context-1", "cluster-2": "context-2"}

    migrated, changed = lc.mutate(str(home), lambda d: d)
    assert changed is True  # the migration itself is a change: the file moves and gets schema 2
    assert not legacy.exists()
    assert lc.yaml_load((home / "local-config.yaml").read_text(), "test") == migrated == doc
    assert lc.mutate(str(home), lambda d: d)[1] is False


def test_schema_1_gets_realm_and_shard(tmp_path) -> None:
    home = tmp_path / "solo"
    home.mkdir()
    v1 = {
        "schemaVersion": 1,
        "versions": {"cli": "0.40.0"},
        "userIdentity": {"name": "u", "hostname": "h"},
        "deployments": [{"name": "d", "namespace": "n", "clusters": ["c"]}],
        "clusterRefs": {"c": "ctx"},
    }
    (home / "local-config.yaml").write_text(yaml.safe_dump(v1))
    doc = lc.read(str(home))
    assert doc["schemaVersion"] == 2
    assert doc["deployments"] == [{"name": "d", "namespace": "n", "clusters": ["c"], "realm": 0, "shard": 0}]
    assert lc.mutate(str(home), lambda d: d)[1] is True
    assert lc.yaml_load((home / "local-config.yaml").read_text(), "t")["schemaVersion"] == 2


def test_current_file_wins_over_legacy_which_is_removed(tmp_path) -> None:
    home = tmp_path / "solo"
    lc.mutate(str(home), add_ref("current", "ctx"))
    (home / "cache").mkdir()
    (home / "cache" / "local-config.yaml").write_text(LEGACY_V0)
    assert lc.read(str(home))["clusterRefs"] == {"current": "ctx"}
    lc.mutate(str(home), lambda d: d)
    assert not (home / "cache" / "local-config.yaml").exists()
    assert lc.read(str(home))["clusterRefs"] == {"current": "ctx"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("schemaVersion: 2\ndeployments: []\n", "missing clusterRefs"),
        ("- a\n- b\n", "expected a mapping"),
        ("clusterRefs: {}\ndeployments: [\n", "not valid YAML"),
        (
            "schemaVersion: 3\nclusterRefs: {}\ndeployments: []\n",
            r"schemaVersion: expected 2, got 3 \(written by a newer",
        ),
        (
            "schemaVersion: 2\nclusterRefs: {}\ndeployments: [{name: d, clusters: [], realm: 0, shard: 0}]\n",
            r"deployments\[0\]\.namespace",
        ),
        ("schemaVersion: 2\nclusterRefs: [a]\ndeployments: []\n", "field clusterRefs"),
    ],
)
def test_bad_files_fail_with_a_message_naming_the_problem(tmp_path, content: str, message: str) -> None:
    home = tmp_path / "solo"
    home.mkdir()
    (home / "local-config.yaml").write_text(content)
    with pytest.raises(HieroError, match=message):
        lc.read(str(home))
    with pytest.raises(HieroError, match=message):
        lc.mutate(str(home), add_ref("a", "b"))
    assert (home / "local-config.yaml").read_text() == content  # never clobbered


def test_invalid_result_of_fn_is_not_written(tmp_path) -> None:
    home = tmp_path / "solo"
    lc.mutate(str(home), connect_and_create)
    before = (home / "local-config.yaml").read_text()

    def break_it(doc):
        doc["deployments"][0]["realm"] = -1
        return doc

    with pytest.raises(HieroError, match=r"local config field deployments\[0\]\.realm"):
        lc.mutate(str(home), break_it)
    assert (home / "local-config.yaml").read_text() == before


def test_write_is_atomic(tmp_path, monkeypatch) -> None:
    home = tmp_path / "solo"
    lc.mutate(str(home), connect_and_create)
    before = (home / "local-config.yaml").read_text()

    def failing_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(lc.os, "replace", failing_replace)
    with pytest.raises(HieroError, match=r"cannot write .*local-config\.yaml: disk full"):
        lc.mutate(str(home), add_ref("x", "y"))
    monkeypatch.undo()
    assert (home / "local-config.yaml").read_text() == before
    assert sorted(os.listdir(home)) == sorted([lc.LOCK_FILE_NAME, "local-config.yaml"])  # no temp file left


def test_failing_fn_leaves_everything_as_it_was(tmp_path) -> None:
    home = tmp_path / "solo"
    lc.mutate(str(home), connect_and_create)
    before = (home / "local-config.yaml").read_text()

    def boom(doc):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        lc.mutate(str(home), boom)
    assert (home / "local-config.yaml").read_text() == before
    lc.mutate(str(home), add_ref("after", "ctx"))  # and the lock was released
    assert lc.read(str(home))["clusterRefs"]["after"] == "ctx"


def _add_refs_in_child(home: str, prefix: str, count: int) -> None:
    for index in range(count):

        def change(doc, index=index):
            time.sleep(0.002)  # widen the read-modify-write window so a missing lock would lose updates
            lc.set_cluster_ref(doc, f"{prefix}-{index}", f"ctx-{prefix}-{index}")
            return doc

        lc.mutate(home, change)


def test_two_processes_lose_no_update(tmp_path) -> None:
    home = str(tmp_path / "solo")
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_add_refs_in_child, args=(home, prefix, 25)) for prefix in ("a", "b")]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    refs = lc.read(home)["clusterRefs"]
    assert len(refs) == 50
    assert refs == {f"{p}-{i}": f"ctx-{p}-{i}" for p in ("a", "b") for i in range(25)}


def test_mutate_waits_for_the_lock(tmp_path) -> None:
    home = tmp_path / "solo"
    home.mkdir()
    lock_fd = os.open(home / lc.LOCK_FILE_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(lock_fd, fcntl.LOCK_EX)  # another solo-aware writer holds the lock
    context = multiprocessing.get_context("fork")
    worker = context.Process(target=_add_refs_in_child, args=(str(home), "late", 1))
    try:
        worker.start()
        worker.join(timeout=0.5)
        assert worker.exitcode is None  # still waiting
        assert not (home / "local-config.yaml").exists()
    finally:
        fcntl.flock(lock_fd, fcntl.LOCK_UN)
        os.close(lock_fd)
    worker.join(timeout=30)
    assert worker.exitcode == 0
    assert lc.read(str(home))["clusterRefs"] == {"late-0": "ctx-late-0"}


def test_entry_helpers_are_idempotent() -> None:
    doc = lc.new_document({"name": "u", "hostname": "h"})
    assert lc.set_cluster_ref(doc, "r", "ctx") is True
    assert lc.set_cluster_ref(doc, "r", "ctx") is False
    assert lc.set_cluster_ref(doc, "r", "ctx2") is True
    assert lc.set_deployment(doc, "d", "ns") is True
    assert lc.set_deployment(doc, "d", "ns") is False
    assert lc.attach_cluster(doc, "d", "r") is True
    assert lc.attach_cluster(doc, "d", "r") is False
    assert lc.set_deployment(doc, "d", "ns", realm=1) is True
    assert lc.get_deployment(doc, "d") == {"name": "d", "namespace": "ns", "clusters": ["r"], "realm": 1, "shard": 0}
    with pytest.raises(HieroError, match="deployment 'nope' is not in the local config"):
        lc.attach_cluster(doc, "nope", "r")
    assert lc.detach_cluster(doc, "d", "r") is True
    assert lc.detach_cluster(doc, "d", "r") is False
    assert lc.remove_deployment(doc, "d") is True
    assert lc.remove_deployment(doc, "d") is False
    assert lc.remove_cluster_ref(doc, "r") is True
    assert lc.remove_cluster_ref(doc, "r") is False
    assert doc["deployments"] == [] and doc["clusterRefs"] == {}


def test_yaml_dialect_matches_solos() -> None:
    # Strings that YAML 1.1 (PyYAML) would turn into booleans, numbers or dates stay strings both ways; strings
    # YAML 1.2 would read as numbers are quoted; the layout is what solo's `yaml` package writes.
    doc = {
        "versions": {"cli": "0.87.1", "odd": "012", "flag": "on", "yes": "yes", "exp": "1e3", "empty": ""},
        "metadata": {"lastUpdatedAt": "2026-08-21T10:00:00.123Z", "day": "2026-08-21"},
        "clusters": [{"name": "one-shot", "dnsConsensusNodePattern": "network-{nodeAlias}-svc.{namespace}.svc"}],
        "state": {"consensusNodes": [{"blockNodeMap": [], "metadata": {"id": 1}}], "tssEnabled": False},
        "nothing": None,
    }
    text = lc.yaml_dump(doc)
    assert lc.yaml_load(text, "t") == doc
    assert text.startswith(
        "clusters:\n"
        "  - dnsConsensusNodePattern: network-{nodeAlias}-svc.{namespace}.svc\n"
        "    name: one-shot\n"
        "metadata:\n"
        "  day: 2026-08-21\n"
        "  lastUpdatedAt: 2026-08-21T10:00:00.123Z\n"
        "nothing: null\n"
        "state:\n"
        "  consensusNodes:\n"
        "    - blockNodeMap: []\n"
        "      metadata:\n"
        "        id: 1\n"
        "  tssEnabled: false\n"
    )
    assert "  odd: '012'\n" in text and "  exp: '1e3'\n" in text and "  flag: on\n" in text
    # What solo's YAML 1.2 parser reads from plain scalars: no 1.1 booleans, octals or timestamps.
    assert lc.yaml_load("a: yes\nb: 012\nc: 0o12\nd: 2026-01-01\ne: 0x1F\nf: on\n", "t") == {
        "a": "yes",
        "b": 12,
        "c": 10,
        "d": "2026-01-01",
        "e": 31,
        "f": "on",
    }
