"""The benchmark's critical-path arithmetic (bench/dag.py)."""

import pytest

from bench.dag import UPSTREAM_EDGES, critical_path


def test_longest_weighted_path_wins():
    durations = {"a": 1, "b": 5, "c": 2, "d": 1}
    seconds, path = critical_path(durations, [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")])
    assert seconds == 7
    assert path == ["a", "b", "d"]


def test_parallel_branches_cost_only_the_longest():
    seconds, path = critical_path({"x": 3, "y": 4, "z": 10}, [])
    assert (seconds, path) == (10, ["z"])


def test_cycle_is_refused():
    with pytest.raises(ValueError, match="cycle"):
        critical_path({"a": 1, "b": 1}, [("a", "b"), ("b", "a")])


def test_upstream_serialises_download_after_network_and_keys_after_setup():
    # With the download as long as the network deploy, upstream pays both in sequence; a DAG that starts the
    # download at once (ours) pays only the longer of the two.
    durations = {
        "cluster_setup": 5,
        "keys": 5,
        "consensus_network": 10,
        "platform_download": 10,
        "consensus_node_configured": 1,
        "consensus_node_started": 1,
    }
    upstream, _ = critical_path(durations, UPSTREAM_EDGES)
    ours, _ = critical_path(
        durations,
        [
            ("consensus_network", "consensus_node_configured"),
            ("platform_download", "consensus_node_configured"),
            ("consensus_node_configured", "consensus_node_started"),
            ("cluster_setup", "consensus_network"),
            ("keys", "consensus_network"),
        ],
    )
    assert upstream == 5 + 5 + 10 + 10 + 1 + 1
    assert ours == 5 + 10 + 1 + 1
