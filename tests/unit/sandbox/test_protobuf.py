"""Decoding Kubernetes protobuf request bodies (tests/sandbox/protobuf.py)."""

from __future__ import annotations

import base64
import gzip
import json

import pytest

from tests.sandbox import protobuf

# --- a minimal protobuf encoder, independent of the decoder under test ---------------------------------


def varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int32/int64 go out as 64-bit two's complement
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def key(number: int, wire: int) -> bytes:
    return varint(number << 3 | wire)


def ld(number: int, payload: bytes | str) -> bytes:
    data = payload.encode() if isinstance(payload, str) else payload
    return key(number, 2) + varint(len(data)) + data


def vi(number: int, value: int) -> bytes:
    return key(number, 0) + varint(value)


def fixed32(number: int, value: int) -> bytes:
    return key(number, 5) + value.to_bytes(4, "little")


def fixed64(number: int, value: int) -> bytes:
    return key(number, 1) + value.to_bytes(8, "little")


def entries(number: int, mapping: dict[str, bytes | str]) -> bytes:
    return b"".join(ld(number, ld(1, k) + ld(2, v)) for k, v in mapping.items())


def timestamp(seconds: int, nanos: int = 0) -> bytes:
    return vi(1, seconds) + (vi(2, nanos) if nanos else b"")


def envelope(api_version: str, kind: str, raw: bytes, *extra: bytes) -> bytes:
    return protobuf.MAGIC + ld(1, ld(1, api_version) + ld(2, kind)) + ld(2, raw) + b"".join(extra)


# 2024-01-02T03:04:05Z
T0 = 1704164645


# --- real bodies recorded from kubectl 1.32 (`kubectl --server http://127.0.0.1:PORT create ...`) ----------

REAL_SECRET = (  # create secret generic s --from-literal=a=b --from-literal=password='p@ss w0rd' -n default
    b'k8s\x00\n\x0c\n\x02v1\x12\x06Secret\x12;\n\x18\n\x01s\x12\x00\x1a\x07default"\x00*\x002\x008\x00B\x00'
    b'\x12\x06\n\x01a\x12\x01b\x12\x15\n\x08password\x12\tp@ss w0rd\x1a\x00\x1a\x00"\x00'
)
REAL_NAMESPACE = (  # create namespace demo
    b'k8s\x00\n\x0f\n\x02v1\x12\tNamespace\x12\x1c\n\x14\n\x04demo\x12\x00\x1a\x00"\x00*\x002\x008\x00B\x00'
    b'\x12\x00\x1a\x02\n\x00\x1a\x00"\x00'
)
REAL_CONFIGMAP = (  # create configmap cm --from-literal=k=v --from-file=blob=<b"bin\0\xff\1"> -n default
    b'k8s\x00\n\x0f\n\x02v1\x12\tConfigMap\x123\n\x19\n\x02cm\x12\x00\x1a\x07default"\x00*\x002\x008\x00B\x00'
    b'\x12\x06\n\x01k\x12\x01v\x1a\x0e\n\x04blob\x12\x06bin\x00\xff\x01\x1a\x00"\x00'
)
REAL_SERVICE_ACCOUNT = (  # create serviceaccount sa -n default
    b'k8s\x00\n\x14\n\x02v1\x12\x0eServiceAccount\x12\x1b\n\x19\n\x02sa\x12\x00\x1a\x07default"\x00*\x002\x00'
    b'8\x00B\x00\x1a\x00"\x00'
)
REAL_SERVICE = (  # create service clusterip web --tcp=80:8080 -n default
    b'k8s\x00\n\r\n\x02v1\x12\x07Service\x12p\n&\n\x03web\x12\x00\x1a\x07default"\x00*\x002\x008\x00B\x00'
    b'Z\n\n\x03app\x12\x03web\x12B\n\x1b\n\x0780-8080\x12\x03TCP\x18P"\x07\x08\x00\x10\x90?\x1a\x00(\x00'
    b'\x12\n\n\x03app\x12\x03web\x1a\x00"\tClusterIP:\x00B\x00R\x00Z\x00`\x00h\x00\x1a\x02\n\x00\x1a\x00"\x00'
)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            REAL_SECRET,
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "s", "namespace": "default"},
                "data": {"a": "Yg==", "password": "cEBzcyB3MHJk"},
            },
        ),
        (REAL_NAMESPACE, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}}),
        (
            REAL_CONFIGMAP,
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "cm", "namespace": "default"},
                "data": {"k": "v"},
                "binaryData": {"blob": "YmluAP8B"},
            },
        ),
        (
            REAL_SERVICE_ACCOUNT,
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "sa", "namespace": "default"}},
        ),
        (
            REAL_SERVICE,
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
                "spec": {
                    "ports": [{"name": "80-8080", "protocol": "TCP", "port": 80, "targetPort": 8080}],
                    "selector": {"app": "web"},
                    "type": "ClusterIP",
                },
            },
        ),
    ],
    ids=["secret", "namespace", "configmap", "serviceaccount", "service"],
)
def test_decodes_bodies_recorded_from_kubectl(body: bytes, expected: dict) -> None:
    assert protobuf.decode(body) == expected


# helm 3.19.0 `helm install rel ./chart -n default` (an empty chart): the release Secret it POSTs.
REAL_HELM_RELEASE = base64.b64decode(
    "azhzAAoMCgJ2MRIGU2VjcmV0EvUDCocBChlzaC5oZWxtLnJlbGVhc2UudjEucmVsLnYxEgAaACIAKgAyADgAQgBaFwoJY3JlYXRl"
    "ZEF0EgoxNzk2NDE1MTc0WgsKBG5hbWUSA3JlbFoNCgVvd25lchIEaGVsbVoZCgZzdGF0dXMSD3BlbmRpbmctaW5zdGFsbFoMCgd2"
    "ZXJzaW9uEgExEtQCCgdyZWxlYXNlEsgCSDRzSUFBQUFBQUFDLzVSUFFVN0RNQkQ4U2pWbnQ0cXRGbEgvZ0R2aXdBV3Q0ZzIxMkRp"
    "V3ZTbFVWZjZPWEJyRWxkdk83TXpPN0JXSlJvWkhZWUZCVE1NRWY4VVFTOVczd0ZtbUN3ZDR1TTQ5YkszYmR2dG4xM25yL0dHL094"
    "eVB6bG43dUgrRmdkQS9EWUdGOVNhOWdkcVhtRFZPQ1I1UEtXb2syY1JVbFVRMmN3cGNQdWtDZzZxa2M0Vkg1aFJpZXQvZU5WZ00r"
    "aE1WYmUxSFZncWsxT2I3ZXhwVHM1KzUxSitNYm1kM0hRd294NWRmOHV6YUhabjZEL2cwaXhnb2oxbEl1YTdFbVdSdTZJb3ZlTHNZ"
    "MVA3RUk2M3JJY3FxWGY3RVdYTXJValAxclUzZ2dXWlJMTjhCQUFELy96TGsxNkovQVFBQRoSaGVsbS5zaC9yZWxlYXNlLnYxGgAi"
    "AA=="
)


def test_decodes_a_helm_release_secret_recorded_from_helm() -> None:
    secret = protobuf.decode(REAL_HELM_RELEASE)

    assert secret["kind"] == "Secret" and secret["type"] == "helm.sh/release.v1"
    assert secret["metadata"] == {
        "name": "sh.helm.release.v1.rel.v1",
        "labels": {
            "createdAt": "1796415174",
            "name": "rel",
            "owner": "helm",
            "status": "pending-install",
            "version": "1",
        },
    }
    assert set(secret["data"]) == {"release"}
    # helm stores base64(gzip(JSON)) as the Secret's bytes, which JSON carries base64-encoded once more.
    release = json.loads(gzip.decompress(base64.b64decode(base64.b64decode(secret["data"]["release"]))))
    assert (release["name"], release["namespace"], release["version"]) == ("rel", "default", 1)
    assert release["info"]["status"] == "pending-install"


# --- synthetic bodies ------------------------------------------------------------------------------------

FULL_METADATA = b"".join(
    [
        ld(1, "release"),
        ld(2, "release-"),
        ld(3, "solo"),
        ld(5, "0d1f-uid"),
        ld(6, "42"),
        vi(7, 3),
        ld(8, timestamp(T0, 999_999_999)),  # metav1.Time keeps whole seconds
        ld(9, timestamp(T0 + 60)),
        vi(10, 30),
        entries(11, {"owner": "helm", "name": "release"}),
        entries(12, {"note": "ünïcode ✓", "empty": ""}),
        ld(13, ld(5, "apps/v1") + ld(1, "Deployment") + ld(3, "web") + ld(4, "uid-1") + vi(6, 1) + vi(7, 0)),
        ld(14, "kubernetes.io/pvc-protection"),
        ld(14, "example.com/second"),
        ld(
            17,
            ld(1, "helm")
            + ld(2, "Update")
            + ld(3, "v1")
            + ld(4, timestamp(T0))
            + ld(6, "FieldsV1")
            + ld(7, ld(1, b'{"f:data":{".":{}}}')),
        ),
    ]
)

FULL_METADATA_JSON = {
    "name": "release",
    "generateName": "release-",
    "namespace": "solo",
    "uid": "0d1f-uid",
    "resourceVersion": "42",
    "generation": 3,
    "creationTimestamp": "2024-01-02T03:04:05Z",
    "deletionTimestamp": "2024-01-02T03:05:05Z",
    "deletionGracePeriodSeconds": 30,
    "labels": {"owner": "helm", "name": "release"},
    "annotations": {"note": "ünïcode ✓", "empty": ""},
    "ownerReferences": [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": "web",
            "uid": "uid-1",
            "controller": True,
            "blockOwnerDeletion": False,
        }
    ],
    "finalizers": ["kubernetes.io/pvc-protection", "example.com/second"],
    "managedFields": [
        {
            "manager": "helm",
            "operation": "Update",
            "apiVersion": "v1",
            "time": "2024-01-02T03:04:05Z",
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:data": {".": {}}},
        }
    ],
}

# Fields this decoder does not know, one of each wire type: they must be skipped, not fail.
UNKNOWN_FIELDS = vi(90, 7) + fixed32(91, 0xDEADBEEF) + fixed64(92, 1 << 60) + ld(93, b"\x00\xffopaque")

SYNTHETIC = [
    pytest.param(
        envelope(
            "v1",
            "Secret",
            ld(1, FULL_METADATA + UNKNOWN_FIELDS)
            + vi(5, 0)  # immutable: false is a set *bool, so it stays
            + entries(2, {"release": b"\x1f\x8b\x08\x00binary", "empty": b""})
            + entries(4, {"plain": "text"})
            + ld(3, "helm.sh/release.v1")
            + UNKNOWN_FIELDS,
        ),
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": FULL_METADATA_JSON,
            "immutable": False,
            "data": {"release": "H4sIAGJpbmFyeQ==", "empty": ""},
            "stringData": {"plain": "text"},
            "type": "helm.sh/release.v1",
        },
        id="secret-full-metadata-and-unknown-fields",
    ),
    pytest.param(
        envelope(
            "v1",
            "ConfigMap",
            ld(1, ld(1, "cfg") + ld(3, "solo"))
            + entries(2, {"a": "1", "b": ""})
            + entries(3, {"bin": b"\x00\x01"})
            # a repeated map key keeps the last value, as in protobuf
            + entries(2, {"a": "2"})
            + vi(4, 1),
        ),
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "cfg", "namespace": "solo"},
            "data": {"a": "2", "b": ""},
            "binaryData": {"bin": "AAE="},
            "immutable": True,
        },
        id="configmap",
    ),
    pytest.param(
        envelope(
            "v1",
            "Namespace",
            ld(1, ld(1, "solo") + ld(8, b""))  # an empty Time is Go's zero time: omitted
            + ld(2, ld(1, "kubernetes"))
            + ld(3, ld(1, "Terminating") + ld(2, ld(1, "NamespaceDeletionContentFailure") + ld(2, "False"))),
        ),
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "solo"},
            "spec": {"finalizers": ["kubernetes"]},
            "status": {
                "phase": "Terminating",
                "conditions": [{"type": "NamespaceDeletionContentFailure", "status": "False"}],
            },
        },
        id="namespace-spec-status",
    ),
    pytest.param(
        envelope(
            "coordination.k8s.io/v1",
            "Lease",
            ld(1, ld(1, "solo-lease") + ld(3, "solo"))
            + ld(
                2,
                ld(1, "node-a")
                + vi(2, 0)  # *int32 zero is meaningful
                + ld(3, timestamp(T0, 123_456_789))  # MicroTime: six fractional digits, truncated
                + ld(4, timestamp(T0 + 1))
                + vi(5, 2)
                + ld(7, "node-b")
                + UNKNOWN_FIELDS,
            ),
        ),
        {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": "solo-lease", "namespace": "solo"},
            "spec": {
                "holderIdentity": "node-a",
                "leaseDurationSeconds": 0,
                "acquireTime": "2024-01-02T03:04:05.123456Z",
                "renewTime": "2024-01-02T03:04:06.000000Z",
                "leaseTransitions": 2,
                "preferredHolder": "node-b",
            },
        },
        id="lease-microtime",
    ),
    pytest.param(
        envelope(
            "v1",
            "ServiceAccount",
            ld(1, ld(1, "deployer")) + ld(2, ld(1, "Secret") + ld(3, "token")) + ld(3, ld(1, "registry")) + vi(4, 0),
        ),
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "deployer"},
            "secrets": [{"kind": "Secret", "name": "token"}],
            "imagePullSecrets": [{"name": "registry"}],
            "automountServiceAccountToken": False,
        },
        id="serviceaccount",
    ),
    pytest.param(
        envelope(
            "v1",
            "Service",
            ld(1, ld(1, "grpc"))
            + ld(
                2,
                ld(1, ld(1, "grpc") + ld(2, "TCP") + vi(3, 50211) + ld(4, vi(1, 1) + ld(3, "grpc-port")))
                + ld(1, vi(3, 443) + ld(4, vi(2, 8443)) + vi(5, 30443))
                + ld(4, "NodePort")
                + ld(18, "10.0.0.1")
                + ld(19, "IPv4")
                + ld(14, ld(1, vi(1, 10800))),
            )
            + ld(3, ld(1, ld(1, ld(1, "1.2.3.4") + ld(4, vi(1, 443) + ld(2, "TCP"))))),
        ),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "grpc"},
            "spec": {
                "ports": [
                    {"name": "grpc", "protocol": "TCP", "port": 50211, "targetPort": "grpc-port"},
                    {"port": 443, "targetPort": 8443, "nodePort": 30443},
                ],
                "type": "NodePort",
                "clusterIPs": ["10.0.0.1"],
                "ipFamilies": ["IPv4"],
                "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 10800}},
            },
            "status": {"loadBalancer": {"ingress": [{"ip": "1.2.3.4", "ports": [{"port": 443, "protocol": "TCP"}]}]}},
        },
        id="service-intorstring",
    ),
    pytest.param(
        envelope("v1", "ConfigMap", ld(1, ld(1, "neg") + vi(10, -1) + vi(7, 0))),
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "neg", "deletionGracePeriodSeconds": -1}},
        id="negative-varint-and-zero-generation",
    ),
    pytest.param(
        # Unknown envelope fields and a contentType are tolerated; only the kind matters.
        envelope("v1", "ConfigMap", ld(1, ld(1, "x")), ld(4, "application/vnd.kubernetes.protobuf"), vi(15, 1)),
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}},
        id="envelope-extras",
    ),
]


@pytest.mark.parametrize(("body", "expected"), SYNTHETIC)
def test_decodes_synthetic_bodies(body: bytes, expected: dict) -> None:
    decoded = protobuf.decode(body)
    assert decoded == expected
    assert json.loads(json.dumps(decoded)) == decoded  # plain JSON types only


def test_decode_accepts_bytearray_and_memoryview() -> None:
    assert protobuf.decode(bytearray(REAL_NAMESPACE))["metadata"] == {"name": "demo"}
    assert protobuf.decode(memoryview(REAL_NAMESPACE))["metadata"] == {"name": "demo"}


@pytest.mark.parametrize(
    ("api_version", "kind"),
    [("apps/v1", "Deployment"), ("v1", "Pod"), ("v1", "Lease"), ("coordination.k8s.io/v1beta1", "Lease")],
)
def test_kinds_without_a_table_raise_unsupported_kind(api_version: str, kind: str) -> None:
    with pytest.raises(protobuf.UnsupportedKind) as caught:
        protobuf.decode(envelope(api_version, kind, ld(1, ld(1, "x"))))
    assert caught.value.kind == kind
    assert caught.value.api_version == api_version
    assert isinstance(caught.value, protobuf.ProtobufError)  # a generic 400 handler still catches it
    assert kind in str(caught.value)


SECRET_RAW = ld(1, ld(1, "s"))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(b"", "magic", id="empty"),
        pytest.param(b'{"kind":"Secret"}', "magic", id="json-not-protobuf"),
        pytest.param(REAL_SECRET[:-5], "past the end", id="truncated"),
        pytest.param(protobuf.MAGIC + b"\x0a\x80", "truncated varint", id="truncated-varint"),
        pytest.param(protobuf.MAGIC + b"\x0a" + b"\xff" * 11, "longer than 10 bytes", id="runaway-varint"),
        pytest.param(protobuf.MAGIC + key(1, 3), "wire type 3", id="group-wire-type"),
        pytest.param(protobuf.MAGIC + b"\x00\x00", "field number 0", id="field-zero"),
        pytest.param(protobuf.MAGIC + key(7, 1) + b"\x00\x00", "truncated fixed64", id="truncated-fixed64"),
        pytest.param(protobuf.MAGIC + ld(2, SECRET_RAW), "no kind", id="no-typemeta"),
        pytest.param(envelope("v1", "Secret", ld(1, ld(1, b"\xff\xfe"))), "invalid UTF-8", id="bad-utf8"),
        pytest.param(envelope("v1", "Secret", ld(1, vi(1, 5))), "Secret.metadata.name", id="wrong-wire-type"),
        pytest.param(envelope("v1", "Secret", ld(5, b"")), "varint", id="bool-as-bytes"),
        pytest.param(envelope("v1", "Secret", ld(1, vi(11, 1))), "map entry", id="map-as-varint"),
        pytest.param(envelope("v1", "Secret", ld(1, ld(8, vi(1, T0) + vi(2, -1)))), "nanos", id="negative-nanos"),
        pytest.param(envelope("v1", "Secret", ld(1, ld(8, vi(1, 1 << 62)))), "out of range", id="huge-time"),
        pytest.param(envelope("v1", "Secret", SECRET_RAW, ld(3, "gzip")), "contentEncoding", id="content-encoding"),
        pytest.param(
            envelope("v1", "Secret", ld(1, ld(17, ld(7, ld(1, b"{not json"))))), "fieldsV1", id="bad-fieldsv1"
        ),
    ],
)
def test_malformed_bodies_raise_protobuf_error(body: bytes, message: str) -> None:
    with pytest.raises(protobuf.ProtobufError, match=message) as caught:
        protobuf.decode(body)
    assert not isinstance(caught.value, protobuf.UnsupportedKind)


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("application/vnd.kubernetes.protobuf", True),
        ("Application/VND.Kubernetes.Protobuf; charset=binary", True),
        (" application/vnd.kubernetes.protobuf ", True),
        ("application/vnd.kubernetes.protobuf;stream=watch", True),
        ("application/json", False),
        ("application/vnd.kubernetes.protobuf+json", False),
        ("", False),
        (None, False),
    ],
)
def test_is_protobuf(content_type: str | None, expected: bool) -> None:
    assert protobuf.is_protobuf(content_type) is expected


def test_supported_kinds_lists_every_decodable_kind() -> None:
    for api_version, kind in protobuf.SUPPORTED_KINDS:
        assert protobuf.decode(envelope(api_version, kind, b""))["kind"] == kind
