"""An in-memory CoreV1Api (ConfigMaps and Namespaces) with the API server's concurrency rules, for unit tests.

Every write bumps one global resourceVersion; a replace carrying another resourceVersion gets 409 Conflict, a
create of an existing name 409 AlreadyExists, a create in a missing namespace 404, a replace of a missing object
404. Objects are copied in and out, as over the wire. Watches are served as chunked JSON lines, so production code
runs with the real ``kubernetes.watch.Watch``.

Hooks for interleavings: ``latency`` (real seconds per call, lets threads interleave inside read-modify-write),
``read_barrier`` (the first N reads wait for each other, so N writers start from the same resourceVersion),
``before_write`` (runs before each create/replace: another writer acting in between), ``fail_replace_with``.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from kubernetes.client import ApiClient, V1ConfigMap, V1ConfigMapList, V1ListMeta, V1ObjectMeta
from kubernetes.client.exceptions import ApiException

from ansible_collections.hiero.solo.plugins.module_utils import _remote_config as rc
from ansible_collections.hiero.solo.plugins.module_utils import _run_state as run_state
from ansible_collections.hiero.solo.plugins.module_utils._local_config import yaml_load

NS = "one-shot"
_SERIALIZER = ApiClient()


def status_error(code: int, reason: str, message: str) -> ApiException:
    """An ApiException carrying a Kubernetes Status body, as the client raises it."""
    exc = ApiException(status=code, reason=reason)
    exc.body = json.dumps({"kind": "Status", "status": "Failure", "reason": reason, "message": message, "code": code})
    return exc


class WatchResponse:
    """What urllib3 hands Watch.stream with _preload_content=False: JSON lines, ending at the watch timeout."""

    status = 200

    def __init__(self, api: FakeCoreV1Api, namespace: str, name: str | None, since: int | None, seconds: float):
        self._api, self._namespace, self._name = api, namespace, name
        self._since = since
        self._deadline = time.monotonic() + seconds
        self.closed = False

    def stream(self, amt=None, decode_content=False):
        api = self._api
        if self._since is None:
            with api.cond:
                initial = [o for o in api.objects.values() if self._matches(o)]
                position = len(api.events)
            for obj in initial:
                yield (json.dumps({"type": "ADDED", "object": obj}) + "\n").encode()
        else:
            with api.cond:
                if api.expire_next_watch:
                    api.expire_next_watch = False
                    gone = {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old resource version"}
                    yield (json.dumps({"type": "ERROR", "object": gone}) + "\n").encode()
                    return
                position = next((i for i, (rv, *_rest) in enumerate(api.events) if rv > self._since), len(api.events))
        while not self.closed:
            with api.cond:
                while position >= len(api.events) and not self.closed:
                    left = self._deadline - time.monotonic()
                    if left <= 0:
                        return
                    api.cond.wait(min(left, 0.05))
                batch = api.events[position:]
                position = len(api.events)
            for _rv, kind, obj in batch:
                if self._matches(obj):
                    yield (json.dumps({"type": kind, "object": obj}) + "\n").encode()

    def _matches(self, obj: dict) -> bool:
        meta = obj["metadata"]
        return meta["namespace"] == self._namespace and (self._name is None or meta["name"] == self._name)

    def close(self):
        self.closed = True

    def release_conn(self):
        pass


class FakeCoreV1Api:
    """The ConfigMap and Namespace calls of CoreV1Api, in memory, with one global resourceVersion counter."""

    def __init__(self, namespaces=(NS,), latency: float = 0.0, watch_time_scale: float = 0.05):
        self.namespaces = set(namespaces)
        self.objects: dict[tuple[str, str], dict] = {}
        self.events: list[tuple[int, str, dict]] = []
        self.rv = 100
        self.cond = threading.Condition()
        self.latency = latency
        self.watch_time_scale = watch_time_scale  # a watch's timeoutSeconds last this many real seconds each
        self.calls: dict[str, int] = {}  # API calls by kind: read, create, replace, delete, list, watch
        self.writes: list[str] = []  # "create" / "replace" per successful write through the API
        self.conflicts = 0  # 409s answered (stale resourceVersion or AlreadyExists)
        self.expire_next_watch = False
        self.read_barrier: threading.Barrier | None = None
        self.barrier_reads = 0
        self.before_write: Callable[[], None] | None = None
        self.fail_replace_with: ApiException | None = None

    # -- helpers for tests -------------------------------------------------------------------------------------
    def _count(self, call: str) -> None:
        with self.cond:
            self.calls[call] = self.calls.get(call, 0) + 1
        if self.latency:
            time.sleep(self.latency)

    def _model(self, obj: dict) -> V1ConfigMap:
        meta = obj["metadata"]
        return V1ConfigMap(
            api_version="v1",
            kind="ConfigMap",
            metadata=V1ObjectMeta(
                name=meta["name"],
                namespace=meta["namespace"],
                labels=dict(meta.get("labels") or {}) or None,
                annotations=dict(meta.get("annotations") or {}) or None,
                resource_version=meta["resourceVersion"],
            ),
            data=dict(obj.get("data") or {}),
        )

    def _store(self, kind: str, obj: dict, namespace: str) -> dict:
        """Store a serialized object under a new resourceVersion and emit its watch event (caller holds cond)."""
        self.rv += 1
        obj = copy.deepcopy(obj)
        obj.update(apiVersion="v1", kind="ConfigMap")
        obj["data"] = dict(obj.get("data") or {})
        meta = obj.setdefault("metadata", {})
        meta["namespace"] = namespace
        meta["labels"] = dict(meta.get("labels") or {})
        meta["annotations"] = dict(meta.get("annotations") or {})
        meta["resourceVersion"] = str(self.rv)
        self.objects[(namespace, meta["name"])] = obj
        self.events.append((self.rv, kind, obj))
        self.cond.notify_all()
        return copy.deepcopy(obj)

    def put_configmap(
        self, namespace: str, name: str, data: dict, labels: dict | None = None, annotations: dict | None = None
    ) -> None:
        """Write a ConfigMap directly, as a person with kubectl (or another writer) would."""
        with self.cond:
            kind = "MODIFIED" if (namespace, name) in self.objects else "ADDED"
            metadata = {"name": name, "labels": labels or {}, "annotations": annotations or {}}
            self._store(kind, {"metadata": metadata, "data": data}, namespace)

    def configmap_data(self, namespace: str, name: str) -> dict:
        with self.cond:
            return dict(self.objects[(namespace, name)]["data"])

    # -- CoreV1Api surface -------------------------------------------------------------------------------------
    def read_namespace(self, name, **_kw):
        self._count("read_namespace")
        if name not in self.namespaces:
            raise status_error(404, "NotFound", f'namespaces "{name}" not found')
        return {"metadata": {"name": name}}

    def read_namespaced_config_map(self, name, namespace, **_kw):
        self._count("read")
        barrier = None
        with self.cond:
            if self.read_barrier is not None and self.barrier_reads < self.read_barrier.parties:
                self.barrier_reads += 1
                barrier = self.read_barrier
            obj = copy.deepcopy(self.objects.get((namespace, name)))
        if barrier is not None:
            barrier.wait()  # everyone has read the same resourceVersion before anyone writes
        if obj is None:
            raise status_error(404, "NotFound", f'configmaps "{name}" not found')
        return self._model(obj)

    def _before_write(self) -> None:
        if self.before_write is not None:
            self.before_write()

    def create_namespaced_config_map(self, namespace, body, **_kw):
        self._count("create")
        self._before_write()
        obj = _SERIALIZER.sanitize_for_serialization(body)
        name = obj["metadata"]["name"]
        with self.cond:
            if namespace not in self.namespaces:
                raise status_error(404, "NotFound", f'namespaces "{namespace}" not found')
            if (namespace, name) in self.objects:
                self.conflicts += 1
                raise status_error(409, "AlreadyExists", f'configmaps "{name}" already exists')
            self.writes.append("create")
            return self._model(self._store("ADDED", obj, namespace))

    def replace_namespaced_config_map(self, name, namespace, body, **_kw):
        self._count("replace")
        self._before_write()
        if self.fail_replace_with is not None:
            raise self.fail_replace_with
        obj = _SERIALIZER.sanitize_for_serialization(body)
        with self.cond:
            current = self.objects.get((namespace, name))
            if current is None:
                raise status_error(404, "NotFound", f'configmaps "{name}" not found')
            sent = (obj.get("metadata") or {}).get("resourceVersion")
            # As the API server: no resourceVersion means an unconditional replace.
            if sent is not None and sent != current["metadata"]["resourceVersion"]:
                self.conflicts += 1
                raise status_error(
                    409,
                    "Conflict",
                    f'Operation cannot be fulfilled on configmaps "{name}": the object has been modified; '
                    "please apply your changes to the latest version and try again",
                )
            self.writes.append("replace")
            return self._model(self._store("MODIFIED", obj, namespace))

    def delete_namespaced_config_map(self, name, namespace, **_kw):
        self._count("delete")
        with self.cond:
            obj = self.objects.pop((namespace, name), None)
            if obj is None:
                raise status_error(404, "NotFound", f'configmaps "{name}" not found')
            self.rv += 1
            gone = copy.deepcopy(obj)
            gone["metadata"]["resourceVersion"] = str(self.rv)
            self.events.append((self.rv, "DELETED", gone))
            self.cond.notify_all()

    def list_namespaced_config_map(
        self,
        namespace,
        field_selector=None,
        resource_version=None,
        timeout_seconds=None,
        watch=False,
        _preload_content=True,
        _request_timeout=None,
        **_kw,
    ):
        """List or watch ConfigMaps (only ``metadata.name=`` field selectors).

        :rtype: V1ConfigMapList
        """
        name = None
        if field_selector:
            assert field_selector.startswith("metadata.name="), field_selector
            name = field_selector.split("=", 1)[1]
        if watch:
            self._count("watch")
            assert timeout_seconds is not None and timeout_seconds >= 1, "a watch must be bounded"
            assert isinstance(timeout_seconds, int)
            since = int(resource_version) if resource_version else None
            return WatchResponse(self, namespace, name, since, timeout_seconds * self.watch_time_scale)
        self._count("list")
        with self.cond:
            items = [
                self._model(o)
                for (ns, n), o in sorted(self.objects.items())
                if ns == namespace and (name is None or n == name)
            ]
            return V1ConfigMapList(items=items, metadata=V1ListMeta(resource_version=str(self.rv)))


class RunStateApi(FakeCoreV1Api):
    """The fake with helpers for the run-state ConfigMap."""

    def put(self, namespace: str, data: dict, labels: dict | None = None) -> None:
        """Write the run-state ConfigMap directly, as a person with kubectl would."""
        self.put_configmap(namespace, run_state.CONFIGMAP_NAME, data, labels)

    def data(self, namespace: str = NS) -> dict:
        return self.configmap_data(namespace, run_state.CONFIGMAP_NAME)

    def step(self, step: str, namespace: str = NS) -> dict:
        return json.loads(self.data(namespace)[step])


class RemoteConfigApi(FakeCoreV1Api):
    """The fake with helpers for solo's remote config ConfigMap."""

    def seed(self, namespace: str, text: str, labels: dict[str, str] | None = None) -> None:
        """Store the remote config text directly (solo, or a person, wrote it)."""
        labels = dict(labels if labels is not None else rc.LABELS)
        self.put_configmap(namespace, rc.CONFIGMAP_NAME, {rc.DATA_KEY: text}, labels)

    def stored_text(self, namespace: str = NS) -> str:
        return self.configmap_data(namespace, rc.CONFIGMAP_NAME)[rc.DATA_KEY]

    def stored_doc(self, namespace: str = NS) -> dict[str, Any]:
        return yaml_load(self.stored_text(namespace), "test")

    def concurrent_change(self, change: Callable[[dict[str, Any]], None]) -> None:
        """Another writer changes the stored document (bumping the resourceVersion)."""
        doc = self.stored_doc()
        change(doc)
        with self.cond:
            obj = self.objects[(NS, rc.CONFIGMAP_NAME)]
            self._store("MODIFIED", {**obj, "data": {**obj["data"], rc.DATA_KEY: rc.dumps(doc)}}, NS)
