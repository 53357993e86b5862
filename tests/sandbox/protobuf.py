"""Decode Kubernetes protobuf request bodies into the dicts the JSON API carries.

client-go sends ``application/vnd.kubernetes.protobuf`` for typed objects (``kubectl create
namespace|secret|configmap``, helm's release Secrets, leader-election Leases) and does not fall back
to JSON when the server refuses it, so the sandbox has to read it. Responses stay JSON.

A body is the magic ``k8s\\x00`` followed by a ``runtime.Unknown`` message whose ``raw`` field holds
the object message. Field numbers follow k8s.io/apimachinery and k8s.io/api ``generated.proto``.
Only the kinds in :data:`SUPPORTED_KINDS` are decoded; the rest raise :class:`UnsupportedKind`.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, field

MAGIC = b"k8s\x00"
CONTENT_TYPE = "application/vnd.kubernetes.protobuf"

_VARINT, _FIXED64, _LEN, _FIXED32 = 0, 1, 2, 5
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


class ProtobufError(ValueError):
    """The body is not a well-formed Kubernetes protobuf envelope (the server answers 400)."""


class UnsupportedKind(ProtobufError):
    """The envelope is fine but this decoder has no field table for the kind (the server answers 415)."""

    def __init__(self, kind: str, api_version: str = "") -> None:
        self.kind = kind
        self.api_version = api_version
        super().__init__(f"protobuf decoding of {api_version or '?'}/{kind or '?'} is not supported; send JSON")


def is_protobuf(content_type: str | None) -> bool:
    """True for ``application/vnd.kubernetes.protobuf``, with or without parameters."""
    if not content_type:
        return False
    return content_type.split(";", 1)[0].strip().lower() == CONTENT_TYPE


# --- wire format -------------------------------------------------------------------------------


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        if pos >= len(buf):
            raise ProtobufError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise ProtobufError("varint longer than 10 bytes")


def _iter_fields(buf: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """Yield (field number, wire type, value); length-delimited values are bytes, the rest ints."""
    pos = 0
    end = len(buf)
    while pos < end:
        key, pos = _read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ProtobufError("field number 0 is invalid")
        value: int | bytes
        if wire == _VARINT:
            value, pos = _read_varint(buf, pos)
        elif wire == _LEN:
            length, pos = _read_varint(buf, pos)
            if pos + length > end:
                raise ProtobufError(f"field {number}: length {length} runs past the end of the message")
            value = buf[pos : pos + length]
            pos += length
        elif wire in (_FIXED64, _FIXED32):
            size = 8 if wire == _FIXED64 else 4
            if pos + size > end:
                raise ProtobufError(f"field {number}: truncated fixed{size * 8}")
            value = int.from_bytes(buf[pos : pos + size], "little")
            pos += size
        else:
            # Groups (3, 4) never occur in Kubernetes messages; 6 and 7 do not exist.
            raise ProtobufError(f"field {number}: unsupported wire type {wire}")
        yield number, wire, value


def _signed64(value: int) -> int:
    # int32 and int64 are both sent as 64-bit two's complement varints.
    return value - (1 << 64) if value >= 1 << 63 else value


# --- field tables --------------------------------------------------------------------------------

# Field kinds. Scalars: string, int, bool, bytes. Special messages: time (metav1.Time, whole
# seconds), microtime (metav1.MicroTime), intorstr (intstr.IntOrString), fieldsv1 (JSON in bytes).
# Maps: map_string (map<string,string>), map_bytes (map<string,bytes>). Nested: message.


@dataclass(frozen=True)
class _Field:
    name: str
    kind: str
    repeated: bool = False
    # Go pointer fields (*bool, *int32, metadata ...) are on the wire only when set, so their zero
    # value is meaningful; other zero values are what JSON's omitempty would leave out.
    keep_zero: bool = False
    message: dict[int, _Field] = field(default_factory=dict)


_Schema = dict[int, _Field]


def _msg(name: str, schema: _Schema, *, repeated: bool = False, keep_zero: bool = False) -> _Field:
    return _Field(name, "message", repeated=repeated, keep_zero=keep_zero, message=schema)


_OWNER_REFERENCE: _Schema = {
    5: _Field("apiVersion", "string"),
    1: _Field("kind", "string"),
    3: _Field("name", "string"),
    4: _Field("uid", "string"),
    6: _Field("controller", "bool", keep_zero=True),
    7: _Field("blockOwnerDeletion", "bool", keep_zero=True),
}

_MANAGED_FIELDS_ENTRY: _Schema = {
    1: _Field("manager", "string"),
    2: _Field("operation", "string"),
    3: _Field("apiVersion", "string"),
    4: _Field("time", "time"),
    6: _Field("fieldsType", "string"),
    7: _Field("fieldsV1", "fieldsv1"),
    8: _Field("subresource", "string"),
}

_OBJECT_META: _Schema = {
    1: _Field("name", "string"),
    2: _Field("generateName", "string"),
    3: _Field("namespace", "string"),
    4: _Field("selfLink", "string"),
    5: _Field("uid", "string"),
    6: _Field("resourceVersion", "string"),
    7: _Field("generation", "int"),
    8: _Field("creationTimestamp", "time"),
    9: _Field("deletionTimestamp", "time"),
    10: _Field("deletionGracePeriodSeconds", "int", keep_zero=True),
    11: _Field("labels", "map_string"),
    12: _Field("annotations", "map_string"),
    13: _msg("ownerReferences", _OWNER_REFERENCE, repeated=True),
    14: _Field("finalizers", "string", repeated=True),
    17: _msg("managedFields", _MANAGED_FIELDS_ENTRY, repeated=True),
}

_METADATA = _msg("metadata", _OBJECT_META, keep_zero=True)

_CONDITION: _Schema = {  # metav1.Condition
    1: _Field("type", "string"),
    2: _Field("status", "string"),
    3: _Field("observedGeneration", "int"),
    4: _Field("lastTransitionTime", "time"),
    5: _Field("reason", "string"),
    6: _Field("message", "string"),
}

_NAMESPACE: _Schema = {
    1: _METADATA,
    2: _msg("spec", {1: _Field("finalizers", "string", repeated=True)}),
    3: _msg(
        "status",
        {
            1: _Field("phase", "string"),
            2: _msg(
                "conditions",
                {
                    1: _Field("type", "string"),
                    2: _Field("status", "string"),
                    4: _Field("lastTransitionTime", "time"),
                    5: _Field("reason", "string"),
                    6: _Field("message", "string"),
                },
                repeated=True,
            ),
        },
    ),
}

_SECRET: _Schema = {
    1: _METADATA,
    5: _Field("immutable", "bool", keep_zero=True),
    2: _Field("data", "map_bytes"),
    4: _Field("stringData", "map_string"),
    3: _Field("type", "string"),
}

_CONFIG_MAP: _Schema = {
    1: _METADATA,
    4: _Field("immutable", "bool", keep_zero=True),
    2: _Field("data", "map_string"),
    3: _Field("binaryData", "map_bytes"),
}

_OBJECT_REFERENCE: _Schema = {
    1: _Field("kind", "string"),
    2: _Field("namespace", "string"),
    3: _Field("name", "string"),
    4: _Field("uid", "string"),
    5: _Field("apiVersion", "string"),
    6: _Field("resourceVersion", "string"),
    7: _Field("fieldPath", "string"),
}

_SERVICE_ACCOUNT: _Schema = {
    1: _METADATA,
    2: _msg("secrets", _OBJECT_REFERENCE, repeated=True),
    3: _msg("imagePullSecrets", {1: _Field("name", "string")}, repeated=True),
    4: _Field("automountServiceAccountToken", "bool", keep_zero=True),
}

_SERVICE_PORT: _Schema = {
    1: _Field("name", "string"),
    2: _Field("protocol", "string"),
    6: _Field("appProtocol", "string", keep_zero=True),
    3: _Field("port", "int"),
    4: _Field("targetPort", "intorstr"),
    5: _Field("nodePort", "int"),
}

_SERVICE_SPEC: _Schema = {
    1: _msg("ports", _SERVICE_PORT, repeated=True),
    2: _Field("selector", "map_string"),
    3: _Field("clusterIP", "string"),
    18: _Field("clusterIPs", "string", repeated=True),
    4: _Field("type", "string"),
    5: _Field("externalIPs", "string", repeated=True),
    7: _Field("sessionAffinity", "string"),
    8: _Field("loadBalancerIP", "string"),
    9: _Field("loadBalancerSourceRanges", "string", repeated=True),
    10: _Field("externalName", "string"),
    11: _Field("externalTrafficPolicy", "string"),
    12: _Field("healthCheckNodePort", "int"),
    13: _Field("publishNotReadyAddresses", "bool"),
    14: _msg("sessionAffinityConfig", {1: _msg("clientIP", {1: _Field("timeoutSeconds", "int", keep_zero=True)})}),
    19: _Field("ipFamilies", "string", repeated=True),
    17: _Field("ipFamilyPolicy", "string", keep_zero=True),
    20: _Field("allocateLoadBalancerNodePorts", "bool", keep_zero=True),
    21: _Field("loadBalancerClass", "string", keep_zero=True),
    22: _Field("internalTrafficPolicy", "string", keep_zero=True),
    23: _Field("trafficDistribution", "string", keep_zero=True),
}

_LOAD_BALANCER_INGRESS: _Schema = {
    1: _Field("ip", "string"),
    2: _Field("hostname", "string"),
    3: _Field("ipMode", "string", keep_zero=True),
    4: _msg(
        "ports",
        {1: _Field("port", "int"), 2: _Field("protocol", "string"), 3: _Field("error", "string", keep_zero=True)},
        repeated=True,
    ),
}

_SERVICE: _Schema = {
    1: _METADATA,
    2: _msg("spec", _SERVICE_SPEC),
    3: _msg(
        "status",
        {
            1: _msg("loadBalancer", {1: _msg("ingress", _LOAD_BALANCER_INGRESS, repeated=True)}),
            2: _msg("conditions", _CONDITION, repeated=True),
        },
    ),
}

_LEASE: _Schema = {
    1: _METADATA,
    2: _msg(
        "spec",
        {
            1: _Field("holderIdentity", "string", keep_zero=True),
            2: _Field("leaseDurationSeconds", "int", keep_zero=True),
            3: _Field("acquireTime", "microtime"),
            4: _Field("renewTime", "microtime"),
            5: _Field("leaseTransitions", "int", keep_zero=True),
            6: _Field("strategy", "string", keep_zero=True),
            7: _Field("preferredHolder", "string", keep_zero=True),
        },
    ),
}

_KINDS: dict[tuple[str, str], _Schema] = {
    ("v1", "Namespace"): _NAMESPACE,
    ("v1", "Secret"): _SECRET,
    ("v1", "ConfigMap"): _CONFIG_MAP,
    ("v1", "ServiceAccount"): _SERVICE_ACCOUNT,
    ("v1", "Service"): _SERVICE,
    ("coordination.k8s.io/v1", "Lease"): _LEASE,
}

SUPPORTED_KINDS: frozenset[tuple[str, str]] = frozenset(_KINDS)
"""(apiVersion, kind) pairs :func:`decode` understands."""


# --- decoding ----------------------------------------------------------------------------------


def _text(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtobufError(f"{what}: invalid UTF-8") from exc


def _timestamp(raw: bytes, what: str) -> tuple[int, int] | None:
    """Seconds and nanos of a Time/MicroTime message; None for the empty message (Go's zero time)."""
    if not raw:
        return None
    seconds = nanos = 0
    for number, wire, value in _iter_fields(raw):
        if wire != _VARINT:
            continue
        if number == 1:
            seconds = _signed64(value)  # type: ignore[arg-type]
        elif number == 2:
            nanos = _signed64(value)  # type: ignore[arg-type]
    if not 0 <= nanos < 1_000_000_000:
        raise ProtobufError(f"{what}: nanos {nanos} out of range")
    return seconds, nanos


def _utc(seconds: int, micros: int, what: str) -> dt.datetime:
    try:
        return _EPOCH + dt.timedelta(seconds=seconds, microseconds=micros)
    except OverflowError as exc:
        raise ProtobufError(f"{what}: timestamp {seconds} out of range") from exc


def _format_time(raw: bytes, what: str) -> str | None:
    stamp = _timestamp(raw, what)
    if stamp is None:
        return None
    # metav1.Time keeps whole seconds only (its protobuf Unmarshal drops nanos, its JSON is RFC 3339).
    return _utc(stamp[0], 0, what).strftime("%Y-%m-%dT%H:%M:%SZ")


def _format_microtime(raw: bytes, what: str) -> str | None:
    stamp = _timestamp(raw, what)
    if stamp is None:
        return None
    return _utc(stamp[0], stamp[1] // 1000, what).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _int_or_string(raw: bytes, what: str) -> int | str:
    kind = int_val = 0
    str_val = ""
    for number, wire, value in _iter_fields(raw):
        if number == 1 and wire == _VARINT:
            kind = value  # type: ignore[assignment]
        elif number == 2 and wire == _VARINT:
            int_val = _signed64(value)  # type: ignore[arg-type]
        elif number == 3 and wire == _LEN:
            str_val = _text(value, what)  # type: ignore[arg-type]
    return str_val if kind == 1 else int_val


def _map_entry(raw: bytes, as_bytes: bool, what: str) -> tuple[str, str]:
    key = b""
    val = b""
    for number, wire, value in _iter_fields(raw):
        if wire != _LEN:
            raise ProtobufError(f"{what}: map entry field {number} has wire type {wire}")
        if number == 1:
            key = value  # type: ignore[assignment]
        elif number == 2:
            val = value  # type: ignore[assignment]
    text = base64.b64encode(val).decode("ascii") if as_bytes else _text(val, what)
    return _text(key, what), text


def _decode_value(spec: _Field, wire: int, value: int | bytes, what: str) -> object:
    if spec.kind in ("int", "bool"):
        if wire != _VARINT:
            raise ProtobufError(f"{what}: expected a varint, got wire type {wire}")
        return bool(value) if spec.kind == "bool" else _signed64(value)  # type: ignore[arg-type]
    if wire != _LEN:
        raise ProtobufError(f"{what}: expected length-delimited data, got wire type {wire}")
    raw: bytes = value  # type: ignore[assignment]
    if spec.kind == "string":
        return _text(raw, what)
    if spec.kind == "bytes":
        return base64.b64encode(raw).decode("ascii")
    if spec.kind == "time":
        return _format_time(raw, what)
    if spec.kind == "microtime":
        return _format_microtime(raw, what)
    if spec.kind == "intorstr":
        return _int_or_string(raw, what)
    if spec.kind == "fieldsv1":
        for number, wire_type, inner in _iter_fields(raw):
            if number == 1 and wire_type == _LEN:
                try:
                    return json.loads(inner)  # type: ignore[arg-type]
                except ValueError as exc:
                    raise ProtobufError(f"{what}: fieldsV1 is not JSON") from exc
        return None
    if spec.kind == "message":
        return _decode_message(raw, spec.message, what)
    raise AssertionError(f"unknown field kind {spec.kind}")  # a bug in the tables above


def _is_zero(value: object) -> bool:
    return value is None or value in ("", 0, False) or value == {} or value == []


def _decode_message(buf: bytes, schema: _Schema, path: str) -> dict:
    out: dict[str, object] = {}
    for number, wire, value in _iter_fields(buf):
        spec = schema.get(number)
        if spec is None:
            continue  # unknown fields are skipped, as every protobuf reader does (newer clients add fields)
        what = f"{path}.{spec.name}"
        if spec.kind in ("map_string", "map_bytes"):
            if wire != _LEN:
                raise ProtobufError(f"{what}: expected a map entry, got wire type {wire}")
            key, text = _map_entry(value, spec.kind == "map_bytes", what)  # type: ignore[arg-type]
            out.setdefault(spec.name, {})[key] = text  # type: ignore[index]
            continue
        decoded = _decode_value(spec, wire, value, what)
        if spec.repeated:
            out.setdefault(spec.name, []).append(decoded)  # type: ignore[union-attr]
        else:
            out[spec.name] = decoded  # the last occurrence wins, as in protobuf
    by_name = {spec.name: spec for spec in schema.values()}
    return {name: val for name, val in out.items() if by_name[name].keep_zero or not _is_zero(val)}


def decode(body: bytes) -> dict:
    """Decode one ``k8s\\x00`` + runtime.Unknown body into the object's JSON-shaped dict.

    Raises UnsupportedKind for kinds without a field table and ProtobufError for malformed input.
    """
    if not isinstance(body, bytes | bytearray | memoryview):
        raise ProtobufError("body must be bytes")
    body = bytes(body)
    if not body.startswith(MAGIC):
        raise ProtobufError("body does not start with the Kubernetes protobuf magic k8s\\x00")
    api_version = kind = content_encoding = ""
    raw = b""
    for number, wire, value in _iter_fields(body[len(MAGIC) :]):
        if wire != _LEN:
            continue
        if number == 1:
            for inner_number, inner_wire, inner in _iter_fields(value):  # type: ignore[arg-type]
                if inner_wire == _LEN and inner_number == 1:
                    api_version = _text(inner, "typeMeta.apiVersion")  # type: ignore[arg-type]
                elif inner_wire == _LEN and inner_number == 2:
                    kind = _text(inner, "typeMeta.kind")  # type: ignore[arg-type]
        elif number == 2:
            raw = value  # type: ignore[assignment]
        elif number == 3:
            content_encoding = _text(value, "contentEncoding")  # type: ignore[arg-type]
    if not kind:
        raise ProtobufError("the protobuf envelope names no kind")
    if content_encoding:
        raise ProtobufError(f"unsupported contentEncoding {content_encoding!r}")
    schema = _KINDS.get((api_version, kind))
    if schema is None:
        raise UnsupportedKind(kind, api_version)
    obj: dict[str, object] = {"apiVersion": api_version, "kind": kind}
    obj.update(_decode_message(raw, schema, kind))
    return obj
