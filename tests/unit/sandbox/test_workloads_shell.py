"""The scripted containers' shell and commands (tests/sandbox/workloads/shell.py, commands.py), without a server."""

from __future__ import annotations

import asyncio
import hashlib
import io
import tarfile
import zipfile

import pytest

from tests.sandbox.workloads.consensus import HAPI_DIR
from tests.sandbox.workloads.containers import BehaviourRegistry, Container, start_container
from tests.sandbox.workloads.model import PodTiming
from tests.sandbox.workloads.shell import BufferWriter, BytesReader, ShellSyntaxError, Word, parse, tokenize


class ChunkedStdin:
    """stdin that arrives in pieces and never ends (a client that keeps the stream open)."""

    def __init__(self, data: bytes, chunk: int) -> None:
        self.pieces = [data[i : i + chunk] for i in range(0, len(data), chunk)]

    async def read(self, n: int = -1) -> bytes:
        if self.pieces:
            return self.pieces.pop(0)
        await asyncio.sleep(3600)  # a real tar would block here; it must not need EOF
        return b""


def make_container(
    labels: dict[str, str] | None = None, registry: BehaviourRegistry | None = None, name: str = "c"
) -> Container:
    pod = {
        "metadata": {"name": "p-0", "namespace": "ns", "uid": "u1", "labels": labels or {}},
        "spec": {"containers": [{"name": name, "image": "debian:12", "env": [{"name": "GREETING", "value": "hi"}]}]},
        "status": {"podIP": "10.244.0.9"},
    }
    return start_container(
        pod,
        pod["spec"]["containers"][0],
        registry or BehaviourRegistry(),
        timing=lambda: PodTiming(),
        now=lambda: 0.0,
        volumes=lambda volume, namespace: None,
    )


def sh(container: Container, script: str, stdin: bytes = b"", name: str = "sh") -> tuple[int, str, str]:
    out, err = BufferWriter(), BufferWriter()
    status = asyncio.run(container.new_shell(name).run_script(script, BytesReader(stdin), out, err))
    return status, out.buffer.decode(), err.buffer.decode()


# --- parsing ------------------------------------------------------------------------------------------------


def test_tokenize_keeps_quoting_and_redirections() -> None:
    tokens = tokenize("""echo 'a b' "c $HOME" d\\ e 2>&1 >out # comment""")
    words = [t for t in tokens if isinstance(t, Word)]
    assert [w.literal() for w in words] == ["echo", "a b", "c $HOME", "d e", "out"]
    assert words[1].parts[0].quoted and words[2].parts[1].var
    redirections = [(t.op, t.fd, t.dup) for t in tokens if not isinstance(t, Word) and hasattr(t, "fd")]
    assert redirections == [(">&", 2, 1), (">", 1, None)]


@pytest.mark.parametrize(
    "script",
    ["echo $(date)", "echo `date`", "case x in y) ;; esac", "cat <<EOF", "if true; then echo", "echo 'open", "; ls"],
)
def test_unsupported_or_broken_syntax_is_a_syntax_error(script: str) -> None:
    with pytest.raises(ShellSyntaxError):
        parse(script)
    assert sh(make_container(), script)[0] == 2


def test_parse_compound_commands() -> None:
    program = parse("if a; then b; elif c; then d; else e; fi\nfor x in 1 2; do f; done && { g; } || ( h )")
    assert len(program.items) == 2


# --- running ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("echo one; echo two", (0, "one\ntwo\n", "")),
        ("false && echo no || echo yes", (0, "yes\n", "")),
        ("true || echo no; echo $?", (0, "0\n", "")),
        ("nosuch arg; echo $?", (0, "127\n", "sh: nosuch: not found\n")),
        ("echo err >&2; echo out", (0, "out\n", "err\n")),
        ("X=1; echo ${X}$GREETING", (0, "1hi\n", "")),
        ("for n in a b; do echo -n $n; done; echo", (0, "ab\n", "")),
        ("if [ 1 -eq 2 ]; then echo a; elif test -d /tmp; then echo b; else echo c; fi", (0, "b\n", "")),
        ("! false && echo negated", (0, "negated\n", "")),
        ("{ echo a; exit 4; echo b; }", (4, "a\n", "")),
        ("( exit 5 ); echo after $?", (0, "after 5\n", "")),
        ("printf '%s-%d\\n' x 7 y 8", (0, "x-7\ny-8\n", "")),
        ("set -e; false; echo never", (1, "", "")),
        ("echo a b | grep -c a", (0, "1\n", "")),
        ("cd /tmp && pwd", (0, "/tmp\n", "")),
    ],
)
def test_shell_semantics(script: str, expected: tuple[int, str, str]) -> None:
    assert sh(make_container(), script) == expected


def test_bash_reports_missing_commands_its_own_way() -> None:
    assert sh(make_container(), "nosuch", name="bash") == (127, "", "bash: line 1: nosuch: command not found\n")


def test_files_globs_and_redirections() -> None:
    container = make_container()
    script = (
        "mkdir -p /data/a /data/b && echo x > /data/a/one.jar && echo y > /data/a/two.jar && echo z >> /data/a/two.jar;"
        "ls /data/a/*.jar; cat /data/a/two.jar; cp -r /data/a/* /data/b/; ls /data/b; rm -rf /data/a; test -e /data/a;"
        "echo gone=$?; cat /nope 2>/dev/null || echo missing"
    )
    status, out, err = sh(container, script)
    assert (status, err) == (0, "")
    assert out.split("\n") == [
        "/data/a/one.jar",
        "/data/a/two.jar",
        "y",
        "z",
        "one.jar",
        "two.jar",
        "gone=1",
        "missing",
        "",
    ]
    assert sh(container, "mkdir /data") == (1, "", "mkdir: cannot create directory '/data': File exists\n")
    assert sh(container, "rm /data") == (1, "", "rm: cannot remove '/data': Is a directory\n")


def test_chmod_chown_and_running_files() -> None:
    container = make_container()
    container.fs.write("/opt/run.sh", b"#!/bin/sh\necho ran $1\nexit 6\n")
    assert sh(container, "/opt/run.sh")[0] == 126  # not executable yet
    assert sh(container, "chmod +x /opt/run.sh && /opt/run.sh now") == (6, "ran now\n", "")
    assert sh(container, "chown nobody:nobody /opt/run.sh && ls -l /opt/run.sh")[1].split()[2:4] == ["nobody", "nobody"]
    assert sh(container, "chown ghost /opt/run.sh") == (1, "", "chown: invalid user: 'ghost'\n")
    assert sh(container, "chmod 640 /opt/run.sh && ls -l /opt/run.sh")[1].startswith("-rw-r----- ")
    assert sh(container, "/opt/none.sh") == (127, "", "sh: /opt/none.sh: not found\n")


def test_tar_extracts_at_the_end_of_the_archive_without_eof() -> None:
    container = make_container()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in (("dir/a.txt", b"alpha"), ("b.bin", bytes(range(256)) * 20)):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.uname = len(data), 0o600, "nobody"
            archive.addfile(info, io.BytesIO(data))
    out, err = BufferWriter(), BufferWriter()
    shell = container.new_shell()
    run = shell.run_script("tar xf - -C /tmp", ChunkedStdin(buffer.getvalue(), 700), out, err)
    assert asyncio.run(asyncio.wait_for(run, 5)) == 0, err.buffer
    assert container.fs.read("/tmp/dir/a.txt") == b"alpha"
    assert container.fs.read("/tmp/b.bin") == bytes(range(256)) * 20
    node = container.fs.stat("/tmp/b.bin")
    assert (node.mode, node.owner) == (0o600, "nobody")
    assert sh(container, "tar xf - -C /nowhere", buffer.getvalue())[0] == 2


def test_tar_create_round_trips() -> None:
    container = make_container()
    sh(container, "mkdir -p /src/d && echo hi > /src/d/f")
    out = BufferWriter()
    status = asyncio.run(container.new_shell().run_script("tar cf - /src", BytesReader(), out, BufferWriter()))
    assert status == 0
    with tarfile.open(fileobj=io.BytesIO(bytes(out.buffer))) as archive:
        assert sorted(archive.getnames()) == ["src", "src/d", "src/d/f"]


def test_checksums_and_unzip() -> None:
    container = make_container()
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data/apps/x.jar", b"jar")
        archive.writestr("VERSION", b"1")
    data = zipped.getvalue()
    container.fs.write("/home/b.zip", data)
    container.fs.write("/home/b.sha384", f"{hashlib.sha384(data).hexdigest()}  b.zip\n".encode())
    assert sh(container, "cd /home && sha384sum -c b.sha384") == (0, "b.zip: OK\n", "")
    assert sh(container, "sha384sum /home/b.zip")[1] == f"{hashlib.sha384(data).hexdigest()}  /home/b.zip\n"
    status, out, _ = sh(container, "unzip -o /home/b.zip -d /out")
    assert status == 0 and "inflating: /out/data/apps/x.jar" in out
    assert container.fs.read("/out/data/apps/x.jar") == b"jar"
    container.fs.write("/home/b.zip", data[:-3])
    status, out, err = sh(container, "cd /home && sha384sum -c b.sha384")
    assert (status, out) == (1, "b.zip: FAILED\n")
    assert err == "sha384sum: WARNING: 1 computed checksum did NOT match\n"
    assert sh(container, "unzip -o /home/missing.zip")[0] == 9


def test_grep_basic_regular_expressions() -> None:
    text = b'platform_PlatformStatus{node="0",} 2.0\n# HELP x\nplatform_PlatformStatus 1.0\n'
    container = make_container()
    assert sh(container, r"grep platform_PlatformStatus | grep -v \#", text)[1].count("\n") == 2
    assert sh(container, "grep -q ' 2[.]0$'", text)[0] == 0
    assert sh(container, "grep -c 'Status{node'", text)[1] == "1\n"
    assert sh(container, "grep -E 'a|b' ", b"a\nc\n")[1] == "a\n"
    assert sh(container, "grep 'a|b'", b"a|b\na\n")[1] == "a|b\n"  # | is literal in a basic expression
    assert sh(container, "grep nomatch", text)[0] == 1


def test_behaviour_registry_commands_and_local_http() -> None:
    registry = BehaviourRegistry()

    async def hello(proc) -> int:
        await proc.out(f"hello from {proc.container.name}\n")
        return 0

    registry.add_command("role=web", "c", "hello", hello)
    registry.add_command("role=web", None, "secret-tool", hello, on_path=False)
    registry.add_http("role=web", None, 8080, lambda container, method, path, body: (200, f"{method} {path}"))
    web = make_container({"role": "web"}, registry)
    assert sh(web, "hello") == (0, "hello from c\n", "")
    assert sh(web, "secret-tool")[0] == 127  # only where its file is
    web.fs.write("/usr/local/bin/secret-tool", b"", mode=0o755)
    assert sh(web, "secret-tool") == (0, "hello from c\n", "")
    assert sh(web, "curl -s http://localhost:8080/x?y=1") == (0, "GET /x?y=1", "")
    assert sh(web, "curl -sS http://10.244.0.9:9/") == (
        7,
        "",
        "curl: (7) Failed to connect to 10.244.0.9 port 9 after 0 ms: Couldn't connect to server\n",
    )
    assert sh(web, "curl -s http://elsewhere:80/")[0] == 6
    other = make_container({"role": "db"}, registry)
    assert sh(other, "hello")[0] == 127


def test_consensus_root_container_layout() -> None:
    from tests.sandbox.workloads import default_behaviours

    labels = {"solo.hedera.com/type": "network-node"}
    node = make_container(labels, default_behaviours(), name="root-container")
    plain = make_container(labels, default_behaviours(), name="record-stream-uploader")
    assert not plain.fs.exists("/command/network-node-lifecycle")  # only the root container has it
    assert node.fs.stat(f"{HAPI_DIR}/data/apps").owner == "hedera"
    assert sh(node, "test -x /command/network-node-lifecycle && echo ok") == (0, "ok\n", "")
    assert sh(node, "curl -s localhost:9999/metrics")[0] == 7
    assert sh(node, "true < /dev/tcp/127.0.0.1/50211")[0] == 1
