"""Commands and uploads in pods: the exit code from the error channel, the tar stream, and what errors name."""

from __future__ import annotations

import io
import json
import tarfile

import pytest

from ansible_collections.hiero.solo.plugins.module_utils import _pod
from ansible_collections.hiero.solo.plugins.module_utils._errors import HieroError
from ansible_collections.hiero.solo.plugins.module_utils._pod import (
    PodCommandError,
    UploadFile,
    exec_in_pod,
    parse_status,
    tar_stream,
    upload_files,
)

SUCCESS = json.dumps({"metadata": {}, "status": "Success"})


def exit_status(code: int) -> str:
    return json.dumps(
        {
            "metadata": {},
            "status": "Failure",
            "message": f"command terminated with non-zero exit code: exit status {code}",
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
        }
    )


class FakeStream:
    """The WSClient surface exec_in_pod uses; ``program(stdin bytes) -> (stdout, stderr, status)`` runs at close."""

    def __init__(self, program, close_after_bytes: int | None = None):
        self.program = program
        self.stdin = b""
        self.stdin_closed = False
        self.open = True
        self.channels: dict[int, bytes] = {}
        self.close_after_bytes = close_after_bytes
        self.updates = 0

    def is_open(self):
        return self.open

    def write_stdin(self, data: bytes):
        assert isinstance(data, bytes)
        self.stdin += data
        if self.close_after_bytes is not None and len(self.stdin) >= self.close_after_bytes:
            self._finish()

    def close_channel(self, channel):
        assert channel == 0
        self.stdin_closed = True

    def update(self, timeout=0):
        self.updates += 1
        if self.open and (self.stdin_closed or self.program_needs_no_stdin):
            self._finish()

    program_needs_no_stdin = True

    def run_forever(self, timeout=None):
        self._finish()

    def _finish(self):
        if not self.open:
            return
        out, err, status = self.program(self.stdin)
        self.channels = {1: out.encode(), 2: err.encode(), 3: status.encode()}
        self.open = False

    def read_channel(self, channel, timeout=0):
        return self.channels.pop(channel, b"")

    def close(self, **kwargs):
        self.open = False


@pytest.fixture
def connect(monkeypatch):
    calls = []

    def install(stream: FakeStream, *, needs_stdin: bool = False):
        stream.program_needs_no_stdin = not needs_stdin

        def fake_connect(core, namespace, pod, container, command, stdin):
            calls.append(
                {"namespace": namespace, "pod": pod, "container": container, "command": command, "stdin": stdin}
            )
            return stream

        monkeypatch.setattr(_pod, "_connect", fake_connect)
        return calls

    return install


def test_status_documents_give_the_exit_code():
    assert parse_status(SUCCESS) == (0, "")
    assert parse_status(exit_status(3))[0] == 3
    rc, message = parse_status(json.dumps({"status": "Failure", "message": 'exec: "nope": executable file not found'}))
    assert rc is None and "executable file not found" in message
    assert parse_status("")[0] is None


def test_a_command_returns_its_output_and_exit_code(connect):
    calls = connect(FakeStream(lambda _in: ("hello\n", "", SUCCESS)))
    result = exec_in_pod(None, "ns", "network-node1-0", ["echo", "hello"], container="root-container")
    assert (result.rc, result.stdout) == (0, "hello\n")
    assert calls == [
        {
            "namespace": "ns",
            "pod": "network-node1-0",
            "container": "root-container",
            "command": ("echo", "hello"),
            "stdin": False,
        }
    ]


def test_a_failing_command_names_pod_container_command_and_the_end_of_stderr(connect):
    connect(
        FakeStream(lambda _in: ("", "line 1\nsha384sum: WARNING: 1 computed checksum did NOT match\n", exit_status(1)))
    )
    with pytest.raises(PodCommandError) as caught:
        exec_in_pod(None, "one-shot", "network-node1-0", ["sha384sum", "-c", "x.sha384"], container="root-container")
    msg = str(caught.value)
    assert "pod one-shot/network-node1-0 (container root-container)" in msg
    assert "'sha384sum -c x.sha384'" in msg
    assert "exit 1" in msg and "did NOT match" in msg
    assert caught.value.result["rc"] == 1


def test_check_false_returns_the_failure_instead(connect):
    connect(FakeStream(lambda _in: ("", "", exit_status(7))))
    result = exec_in_pod(None, "ns", "p", ["curl", "-s", "http://localhost:9999/metrics"], check=False)
    assert result.rc == 7 and not result.ok


def test_a_command_that_cannot_start_reports_the_servers_message(connect):
    status = json.dumps({"status": "Failure", "message": 'exec: "frobnicate": executable file not found in $PATH'})
    connect(FakeStream(lambda _in: ("", "", status)))
    with pytest.raises(PodCommandError, match="executable file not found"):
        exec_in_pod(None, "ns", "p", ["frobnicate"])


def test_a_refused_connection_names_the_pod(monkeypatch):
    from kubernetes.client.exceptions import ApiException

    def refuse(*args):
        raise ApiException(status=0, reason="Handshake status 404 Not Found")

    monkeypatch.setattr(_pod, "_connect", refuse)
    with pytest.raises(PodCommandError, match=r"cannot run command 'ls' in pod ns/gone.*Handshake status 404"):
        exec_in_pod(None, "ns", "gone", ["ls"])


def test_stdin_is_sent_then_closed(connect):
    stream = FakeStream(lambda data: (str(len(data)), "", SUCCESS))
    calls = connect(stream, needs_stdin=True)
    result = exec_in_pod(None, "ns", "p", ["wc", "-c"], stdin=b"x" * 200_000)
    assert result.stdout == "200000"
    assert stream.stdin_closed and calls[0]["stdin"] is True


def test_a_command_that_exits_while_reading_stdin_reports_its_own_failure(connect):
    stream = FakeStream(
        lambda _data: ("", "tar: This does not look like a tar archive", exit_status(2)), close_after_bytes=1
    )
    connect(stream, needs_stdin=True)
    with pytest.raises(PodCommandError, match="exit 2: tar: This does not look like a tar archive"):
        exec_in_pod(None, "ns", "p", ["tar", "xf", "-", "-C", "/x"], stdin=b"not a tar" * 100_000)


def _members(archive: bytes) -> dict[str, tuple[tarfile.TarInfo, bytes]]:
    found = {}
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for info in tar.getmembers():
            found[info.name] = (info, tar.extractfile(info).read())
    return found


def test_the_tar_stream_carries_names_contents_modes_and_owners(tmp_path):
    local = tmp_path / "build-v0.75.1.zip"
    local.write_bytes(b"PK\x03\x04" + b"z" * 100_000)
    chunks: list[bytes] = []
    tar_stream(
        [
            UploadFile("build-v0.75.1.zip", path=str(local)),
            UploadFile("extract-platform.sh", content=b"#!/bin/bash\n", mode=0o755),
            UploadFile(
                ".archive/genesis-network.json",
                content=b"{}",
                mode=0o640,
                owner="hedera",
                group="hedera",
                uid=2000,
                gid=2000,
            ),
        ],
        chunks.append,
    )
    members = _members(b"".join(chunks))
    assert members["build-v0.75.1.zip"][1] == local.read_bytes()
    script = members["extract-platform.sh"][0]
    assert (script.mode, script.uname) == (0o755, "root")
    genesis = members[".archive/genesis-network.json"][0]
    assert (genesis.mode, genesis.uname, genesis.gname, genesis.uid) == (0o640, "hedera", "hedera", 2000)


def test_upload_streams_a_tar_to_tar_x_in_the_target_directory(connect, tmp_path):
    received: dict = {}

    def tar_x(data: bytes):
        received.update(_members(data))
        return "", "", SUCCESS

    calls = connect(FakeStream(tar_x), needs_stdin=True)
    upload_files(
        None,
        "ns",
        "network-node1-0",
        "/home/hedera",
        [UploadFile("a.txt", content=b"hello")],
        container="root-container",
    )
    assert calls[0]["command"] == ("tar", "xf", "-", "-C", "/home/hedera")
    assert received["a.txt"][1] == b"hello"


@pytest.mark.parametrize("name", ["/etc/passwd", "../up", "a/../../b", ""])
def test_upload_refuses_names_outside_the_target_directory(name):
    with pytest.raises(HieroError, match="relative to the target directory"):
        _pod.check_upload([UploadFile(name, content=b"x")])


def test_upload_refuses_a_missing_local_file_before_connecting(tmp_path):
    with pytest.raises(HieroError, match="does not exist"):
        upload_files(None, "ns", "p", "/x", [UploadFile("f", path=str(tmp_path / "missing"))])
