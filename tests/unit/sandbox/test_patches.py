"""PATCH semantics of the sandbox API server (tests/sandbox/patches.py)."""

from __future__ import annotations

import copy

import pytest

from tests.sandbox import patches
from tests.sandbox.patches import APPLY_PATCH, JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH


def deployment(containers: list[dict], **spec: object) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "solo", "labels": {"app": "web"}},
        "spec": {"replicas": 1, **spec, "template": {"spec": {"containers": containers}}},
    }


def containers_of(obj: dict) -> list[dict]:
    return obj["spec"]["template"]["spec"]["containers"]


def pod_patch(**pod_spec: object) -> dict:
    return {"spec": {"template": {"spec": pod_spec}}}


APP = {
    "name": "a",
    "image": "x",
    "args": ["--one", "--two"],
    "env": [{"name": "D", "value": "1"}, {"name": "E", "value": "1"}],
    "ports": [{"containerPort": 8080, "name": "http"}, {"containerPort": 9090, "name": "metrics"}],
    "volumeMounts": [{"name": "data", "mountPath": "/data"}, {"name": "cfg", "mountPath": "/etc/cfg"}],
}
SIDECAR = {"name": "b", "image": "y"}


# --- strategic merge --------------------------------------------------------------------------------


def test_helm_upgrade_patch_keeps_the_container_image() -> None:
    """helm 3 sends only changed fields of a container; the rest of the container must survive."""
    current = deployment([APP, SIDECAR])
    patch = pod_patch(containers=[{"name": "a", "env": [{"name": "E", "value": "2"}]}])

    result = patches.apply_patch(current, patch, STRATEGIC_MERGE_PATCH, kind="Deployment")

    app, sidecar = containers_of(result)
    assert app["image"] == "x"
    assert app["env"] == [{"name": "D", "value": "1"}, {"name": "E", "value": "2"}]
    assert app["ports"] == APP["ports"] and app["volumeMounts"] == APP["volumeMounts"]
    assert sidecar == SIDECAR
    assert result["spec"]["replicas"] == 1 and result["metadata"] == current["metadata"]


def test_helm_three_way_patch_with_set_element_order() -> None:
    """The shape helm 3 sends: $setElementOrder for the list plus only the changed element."""
    current = deployment([SIDECAR, APP])
    patch = pod_patch(
        **{
            "$setElementOrder/containers": [{"name": "a"}, {"name": "b"}],
            "containers": [
                {
                    "name": "a",
                    "image": "x2",
                    "$setElementOrder/env": [{"name": "E"}, {"name": "D"}],
                    "env": [{"name": "E", "value": "3"}],
                }
            ],
        }
    )

    result = patches.apply_patch(current, patch, STRATEGIC_MERGE_PATCH)

    assert [c["name"] for c in containers_of(result)] == ["a", "b"]
    app = containers_of(result)[0]
    assert app["image"] == "x2"
    assert app["env"] == [{"name": "E", "value": "3"}, {"name": "D", "value": "1"}]
    assert app["args"] == APP["args"]
    assert not any(key.startswith("$") for key in result["spec"]["template"]["spec"])
    assert not any(key.startswith("$") for key in app)


def test_patch_delete_removes_list_element_by_merge_key() -> None:
    current = deployment([APP, SIDECAR])
    patch = pod_patch(
        **{
            "$setElementOrder/containers": [{"name": "a"}],
            "containers": [
                {"name": "b", "$patch": "delete"},
                {"name": "a", "env": [{"name": "D", "$patch": "delete"}]},
            ],
        }
    )

    result = patches.apply_patch(current, patch, STRATEGIC_MERGE_PATCH)

    assert [c["name"] for c in containers_of(result)] == ["a"]
    assert containers_of(result)[0]["env"] == [{"name": "E", "value": "1"}]


def test_service_ports_merge_by_port_and_container_ports_by_container_port() -> None:
    service = {
        "kind": "Service",
        "spec": {
            "selector": {"app": "web"},
            "ports": [
                {"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"},
                {"name": "grpc", "port": 50211, "targetPort": 50211, "protocol": "TCP"},
            ],
        },
    }
    patch = {"spec": {"ports": [{"port": 80, "targetPort": 8081}, {"port": 443, "name": "https"}]}}

    result = patches.apply_patch(service, patch, STRATEGIC_MERGE_PATCH, kind="Service")

    assert result["spec"]["ports"] == [
        {"name": "http", "port": 80, "targetPort": 8081, "protocol": "TCP"},
        {"name": "grpc", "port": 50211, "targetPort": 50211, "protocol": "TCP"},
        {"port": 443, "name": "https"},
    ]

    container_patch = pod_patch(containers=[{"name": "a", "ports": [{"containerPort": 9090, "name": "prom"}]}])
    app = containers_of(patches.apply_patch(deployment([APP]), container_patch, STRATEGIC_MERGE_PATCH))[0]
    assert app["ports"] == [{"containerPort": 8080, "name": "http"}, {"containerPort": 9090, "name": "prom"}]


@pytest.mark.parametrize(
    ("current", "patch", "expected"),
    [
        pytest.param(
            {"spec": {"volumes": [{"name": "data", "emptyDir": {}}], "tolerations": [{"key": "a"}]}},
            {"spec": {"volumes": [{"name": "cfg", "configMap": {"name": "c"}}], "tolerations": [{"key": "b"}]}},
            {
                "spec": {
                    "volumes": [{"name": "data", "emptyDir": {}}, {"name": "cfg", "configMap": {"name": "c"}}],
                    "tolerations": [{"key": "b"}],
                }
            },
            id="volumes-merge-by-name-tolerations-replace",
        ),
        pytest.param(
            {"c": {"volumeMounts": [{"name": "d", "mountPath": "/d"}]}},
            {"c": {"volumeMounts": [{"name": "d2", "mountPath": "/d", "readOnly": True}]}},
            {"c": {"volumeMounts": [{"name": "d2", "mountPath": "/d", "readOnly": True}]}},
            id="volume-mounts-merge-by-mount-path",
        ),
        pytest.param(
            {"status": {"conditions": [{"type": "Ready", "status": "False"}, {"type": "Available", "status": "True"}]}},
            {"status": {"conditions": [{"type": "Ready", "status": "True", "reason": "Up"}]}},
            {
                "status": {
                    "conditions": [
                        {"type": "Ready", "status": "True", "reason": "Up"},
                        {"type": "Available", "status": "True"},
                    ]
                }
            },
            id="conditions-merge-by-type",
        ),
        pytest.param(
            {"metadata": {"ownerReferences": [{"uid": "1", "name": "a"}], "finalizers": ["x", "y"]}},
            {"metadata": {"ownerReferences": [{"uid": "2", "name": "b"}], "finalizers": ["y", "z"]}},
            {
                "metadata": {
                    "ownerReferences": [{"uid": "1", "name": "a"}, {"uid": "2", "name": "b"}],
                    "finalizers": ["x", "y", "z"],
                }
            },
            id="owner-references-by-uid-finalizers-as-set",
        ),
        pytest.param(
            {"metadata": {"finalizers": ["x", "y", "z"]}},
            {"metadata": {"$deleteFromPrimitiveList/finalizers": ["y"], "$setElementOrder/finalizers": ["z", "x"]}},
            {"metadata": {"finalizers": ["z", "x"]}},
            id="delete-from-primitive-list-and-order",
        ),
        pytest.param(
            {"spec": {"hostAliases": [{"ip": "1.1.1.1", "hostnames": ["a"]}], "args": ["--a", "--b"]}},
            {"spec": {"hostAliases": [{"ip": "1.1.1.1", "hostnames": ["b"]}], "args": ["--c"]}},
            {"spec": {"hostAliases": [{"ip": "1.1.1.1", "hostnames": ["b"]}], "args": ["--c"]}},
            id="host-aliases-by-ip-args-replace",
        ),
        pytest.param(
            {"metadata": {"labels": {"a": "1", "b": "2"}, "annotations": {"x": "1"}}, "data": {"k": "v"}},
            {"metadata": {"labels": {"a": None, "c": "3"}, "annotations": None}, "data": {"k": None}},
            {"metadata": {"labels": {"b": "2", "c": "3"}}, "data": {}},
            id="null-deletes-fields",
        ),
        pytest.param(
            {"spec": {"selector": {"a": "1", "b": "2"}, "type": "ClusterIP"}},
            {"spec": {"selector": {"$patch": "replace", "c": "3"}}},
            {"spec": {"selector": {"c": "3"}, "type": "ClusterIP"}},
            id="patch-replace-on-map",
        ),
        pytest.param(
            {"spec": {"containers": [{"name": "a"}, {"name": "b"}]}},
            {"spec": {"containers": [{"name": "c"}, {"$patch": "replace"}]}},
            {"spec": {"containers": [{"name": "c"}]}},
            id="patch-replace-on-list",
        ),
        pytest.param(
            {"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}, "replicas": 2}},
            {"spec": {"strategy": {"$patch": "delete"}}},
            {"spec": {"replicas": 2}},
            id="patch-delete-on-map",
        ),
        pytest.param(
            {"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}},
            {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}},
            {"spec": {"strategy": {"type": "Recreate"}}},
            id="retain-keys",
        ),
        pytest.param(
            {"metadata": {"name": "x"}},
            {"spec": {"containers": [{"name": "a", "$patch": "delete"}, {"name": "b", "env": [{"name": "E"}]}]}},
            {"metadata": {"name": "x"}, "spec": {"containers": [{"name": "b", "env": [{"name": "E"}]}]}},
            id="new-list-field-drops-delete-directives",
        ),
        pytest.param(
            {"spec": {"template": "scalar"}},
            {"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "i"}]}}}},
            {"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "i"}]}}}},
            id="type-change-replaces",
        ),
        pytest.param(
            {"spec": {"replicas": 1}},
            {"$patch": "delete"},
            {},
            id="patch-delete-on-root",
        ),
    ],
)
def test_strategic_merge_table(current: dict, patch: dict, expected: dict) -> None:
    assert patches.apply_patch(current, patch, STRATEGIC_MERGE_PATCH) == expected


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        pytest.param({"spec": {"containers": [{"image": "x"}]}}, "merge key 'name'", id="missing-merge-key"),
        pytest.param({"spec": {"containers": ["a"]}}, "must be objects", id="scalar-in-keyed-list"),
        pytest.param({"spec": {"$patch": "explode"}}, "unknown \\$patch directive", id="unknown-directive"),
        pytest.param({"spec": {"$retainKeys": "type"}}, "retainKeys", id="retain-keys-not-list"),
        pytest.param({"spec": {"$setElementOrder/containers": {"name": "a"}}}, "must be a list", id="order-not-list"),
        pytest.param([{"op": "add", "path": "/a", "value": 1}], "JSON object", id="list-body"),
    ],
)
def test_strategic_merge_rejects_bad_patches(patch: dict | list, message: str) -> None:
    with pytest.raises(patches.PatchError, match=message):
        patches.apply_patch(deployment([APP]), patch, STRATEGIC_MERGE_PATCH)


# --- JSON patch and merge patch ---------------------------------------------------------------------


def test_json_patch_operations() -> None:
    current = {"metadata": {"name": "x", "labels": {"a": "1"}}, "data": {"k": "v"}, "list": [1, 2]}
    patch = [
        {"op": "test", "path": "/metadata/name", "value": "x"},
        {"op": "add", "path": "/metadata/labels/b", "value": "2"},
        {"op": "replace", "path": "/data/k", "value": "w"},
        {"op": "remove", "path": "/metadata/labels/a"},
        {"op": "add", "path": "/list/-", "value": 3},
        {"op": "move", "from": "/data", "path": "/moved"},
    ]
    assert patches.apply_patch(current, patch, JSON_PATCH) == {
        "metadata": {"name": "x", "labels": {"b": "2"}},
        "moved": {"k": "w"},
        "list": [1, 2, 3],
    }


@pytest.mark.parametrize(
    "patch",
    [
        pytest.param([{"op": "test", "path": "/metadata/name", "value": "other"}], id="failed-test"),
        pytest.param([{"op": "remove", "path": "/metadata/missing"}], id="remove-missing"),
        pytest.param([{"op": "replace", "path": "/nope/deeper", "value": 1}], id="missing-parent"),
        pytest.param([{"op": "frobnicate", "path": "/a"}], id="unknown-op"),
        pytest.param([{"path": "/a"}], id="no-op"),
        pytest.param([{"op": "add", "path": "no-slash", "value": 1}], id="bad-pointer"),
        pytest.param(["not an operation"], id="operation-not-object"),
        pytest.param({"op": "add", "path": "/a", "value": 1}, id="object-not-list"),
        pytest.param([{"op": "replace", "path": "", "value": [1]}], id="root-becomes-list"),
    ],
)
def test_json_patch_errors(patch: list | dict) -> None:
    with pytest.raises(patches.PatchError):
        patches.apply_patch({"metadata": {"name": "x"}}, patch, JSON_PATCH)


@pytest.mark.parametrize(
    ("current", "patch", "expected"),
    [
        # RFC 7386 appendix A, the cases that apply to an object target.
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
        # Lists are replaced, never merged by key, even for containers.
        (
            {"spec": {"containers": [{"name": "a", "image": "x"}]}},
            {"spec": {"containers": [{"name": "a", "env": []}]}},
            {"spec": {"containers": [{"name": "a", "env": []}]}},
        ),
    ],
)
def test_merge_patch_rfc7386(current: dict, patch: dict, expected: dict) -> None:
    assert patches.apply_patch(current, patch, MERGE_PATCH) == expected


@pytest.mark.parametrize("patch", [["a"], "text", 3])
def test_merge_patch_that_replaces_the_root_with_a_non_object_fails(patch: object) -> None:
    with pytest.raises(patches.PatchError, match="not a JSON object"):
        patches.apply_patch({"a": 1}, patch, MERGE_PATCH)  # type: ignore[arg-type]


# --- apply, content types, purity ---------------------------------------------------------------------


def test_apply_merges_the_applied_object_like_a_strategic_patch() -> None:
    current = deployment([APP, SIDECAR])
    current["metadata"]["resourceVersion"] = "7"
    applied = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "solo", "labels": {"tier": "front"}},
        "spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "a", "image": "x3"}]}}},
    }

    result = patches.apply_patch(current, applied, APPLY_PATCH, kind="Deployment")

    assert result["spec"]["replicas"] == 3
    assert result["metadata"]["resourceVersion"] == "7"
    assert result["metadata"]["labels"] == {"app": "web", "tier": "front"}
    app, sidecar = containers_of(result)
    assert app["image"] == "x3" and app["env"] == APP["env"]
    assert sidecar == SIDECAR


def test_apply_onto_nothing_yields_the_applied_object() -> None:
    applied = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}}
    assert patches.apply_patch({}, applied, APPLY_PATCH) == applied


def test_apply_treats_lists_without_the_merge_key_as_atomic() -> None:
    """A custom resource's `containers` need not have names; apply replaces it where a strategic patch fails."""
    current = {"apiVersion": "example.com/v1", "kind": "Thing", "spec": {"containers": [{"image": "a"}]}}
    applied = {"apiVersion": "example.com/v1", "kind": "Thing", "spec": {"containers": [{"image": "b"}]}}

    assert patches.apply_patch(current, applied, APPLY_PATCH, kind="Thing")["spec"]["containers"] == [{"image": "b"}]
    with pytest.raises(patches.PatchError, match="merge key"):
        patches.apply_patch(current, applied, STRATEGIC_MERGE_PATCH, kind="Thing")


def test_json_patch_result_does_not_share_the_patch_values() -> None:
    value = {"name": "N", "value": "1"}
    patch = [{"op": "add", "path": "/spec/env", "value": value}]

    result = patches.apply_patch({"spec": {}}, patch, JSON_PATCH)
    result["spec"]["env"]["value"] = "changed"

    assert value == {"name": "N", "value": "1"}


@pytest.mark.parametrize(
    "content_type",
    ["application/merge-patch+json; charset=utf-8", "Application/Merge-Patch+JSON"],
)
def test_content_type_parameters_and_case_are_ignored(content_type: str) -> None:
    assert patches.apply_patch({"a": 1}, {"b": 2}, content_type) == {"a": 1, "b": 2}


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", ""])
def test_unknown_patch_type_is_unsupported(content_type: str) -> None:
    with pytest.raises(patches.UnsupportedPatchType):
        patches.apply_patch({"a": 1}, {"b": 2}, content_type)


@pytest.mark.parametrize(
    ("patch_type", "patch"),
    [
        (JSON_PATCH, [{"op": "add", "path": "/spec/template/spec/containers/0/env/-", "value": {"name": "N"}}]),
        (MERGE_PATCH, pod_patch(containers=[{"name": "a"}])),
        (
            STRATEGIC_MERGE_PATCH,
            pod_patch(**{"$setElementOrder/containers": [{"name": "a"}], "containers": [{**APP, "image": "z"}]}),
        ),
        (APPLY_PATCH, pod_patch(containers=[{"name": "a", "env": [{"name": "E", "value": "9"}]}])),
    ],
)
def test_inputs_are_never_mutated_and_result_shares_nothing(patch_type: str, patch: dict | list) -> None:
    current = deployment([APP, SIDECAR])
    current_before, patch_before = copy.deepcopy(current), copy.deepcopy(patch)

    result = patches.apply_patch(current, patch, patch_type)
    assert result != current
    containers_of(result)[0].setdefault("env", []).append({"name": "LATER"})
    result["metadata"]["labels"]["later"] = "1"

    assert current == current_before
    assert patch == patch_before
