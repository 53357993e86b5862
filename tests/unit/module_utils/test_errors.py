"""The error classes (plugins/module_utils/_errors.py): messages and partial results reach fail_json intact."""

from __future__ import annotations

import pytest

from ansible_collections.hiero.solo.plugins.module_utils._errors import (
    ClusterError,
    DependencyMissing,
    HelmError,
    HieroError,
    InputError,
    LeaseBusy,
    LeaseError,
    LeaseLost,
    WaitTimeout,
)


def test_hiero_error_keeps_message_and_partial_result():
    error = HieroError("mirror node failed", hiero_solo_mirror_node={"phase": "deployed"})
    assert str(error) == "mirror node failed"
    assert error.msg == "mirror node failed"
    assert error.result == {"hiero_solo_mirror_node": {"phase": "deployed"}}


@pytest.mark.parametrize(
    ("field", "msg", "expected"),
    [
        ("num_consensus_nodes", "expected an integer from 1 to 10, got 0", "num_consensus_nodes: expected an integer"),
        ("num_consensus_nodes", "num_consensus_nodes: expected an integer", "num_consensus_nodes: expected an integer"),
        ("chart_sources.mirror.repo", "expected an http(s) URL", "chart_sources.mirror.repo: expected an http(s) URL"),
    ],
)
def test_input_error_names_the_field_once(field, msg, expected):
    error = InputError(field, msg)
    assert str(error).startswith(expected)
    assert str(error).count(f"{field}:") == 1
    assert error.field == field
    assert isinstance(error, HieroError)


def test_helm_error_carries_command_and_output_into_the_result():
    error = HelmError("helm status failed (exit 1): boom", argv=["helm", "status", "x"], rc=1, stdout="", stderr="boom")
    assert (error.argv, error.rc, error.stdout, error.stderr) == (["helm", "status", "x"], 1, "", "boom")
    assert error.result == {"command": ["helm", "status", "x"], "rc": 1, "stderr": "boom"}


def test_dependency_missing_names_the_library_and_why():
    python_lib = DependencyMissing("hiero-sdk-python", "to create accounts")
    assert str(python_lib) == "the Python library hiero-sdk-python is required but was not found: to create accounts"
    assert (python_lib.library, python_lib.reason, python_lib.python_library) == (
        "hiero-sdk-python",
        "to create accounts",
        True,
    )
    program = DependencyMissing("helm", "set helm_binary", python_library=False)
    assert str(program) == "helm is required but was not found: set helm_binary"


@pytest.mark.parametrize(
    ("cls", "parent"),
    [
        (ClusterError, HieroError),
        (HelmError, HieroError),
        (WaitTimeout, HieroError),
        (LeaseError, HieroError),
        (LeaseBusy, LeaseError),
        (LeaseLost, LeaseError),
        (DependencyMissing, HieroError),
    ],
)
def test_every_error_is_a_hiero_error(cls, parent):
    assert issubclass(cls, parent)


def test_cluster_error_status_defaults_to_unknown():
    error = ClusterError("cannot get Lease a/b: timeout")
    assert (error.status, error.reason) == (None, None)
