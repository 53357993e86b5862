"""Running containers: their files, processes and local endpoints, and the table of scripted behaviour.

A :class:`Container` exists from the moment the kubelet starts a pod's containers until the pod is
gone (a recreated pod starts from fresh files, as a new container does). Commands run in it through
:mod:`shell`; what they find is decided here:

1. shell builtins (``cd``, ``exit``, ``echo``, ``test`` ...);
2. scripted behaviour from the :class:`BehaviourRegistry`, matched by the pod's labels (a label
   selector), the container name and image: ``(selector, container, command name) -> async handler``.
   A handler named ``curl`` replaces curl in that container; a handler for a program that is not
   on PATH (``extract-platform.sh``) runs when a file of that name is executed by path;
3. the standard programs in ``commands.PROGRAMS``;
4. executable text files in the container, run as shell scripts.

Behaviour can also set up files (``add_setup``) and serve local HTTP ports (``add_http``), which
the built-in ``curl`` and ``/dev/tcp`` redirections reach on localhost.
"""

from __future__ import annotations

import base64
import fnmatch
import logging
import posixpath
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..selectors import SelectorError, matches
from .commands import BUILTINS, PROGRAM_DIRS, PROGRAMS, run_script_file
from .shell import CommandFn, Proc, Shell
from .vfs import VFS, FsError

if TYPE_CHECKING:
    from .model import PodTiming

log = logging.getLogger(__name__)

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
BASE_DIRS = (
    "/bin",
    "/dev",
    "/etc",
    "/home",
    "/opt",
    "/proc",
    "/root",
    "/run",
    "/tmp",
    "/usr/bin",
    "/usr/local/bin",
    "/usr/sbin",
    "/sbin",
    "/var/log",
    "/var/tmp",
)
BASE_USERS = ("root", "daemon", "bin", "sys", "nobody")

# An HTTP answer: (status, body), or None when nothing listens on the port now.
HttpAnswer = tuple[int, bytes | str] | None
HttpHandler = Callable[["Container", str, str, "str | None"], HttpAnswer]
Setup = Callable[["Container"], None]


@dataclass(frozen=True)
class Match:
    """Which containers a behaviour applies to: pod label selector, container name and image globs."""

    selector: str | None = None
    container: str | None = None
    image: str | None = None

    def __call__(self, labels: dict[str, str], container: str, image: str) -> bool:
        if self.container is not None and not fnmatch.fnmatchcase(container, self.container):
            return False
        if self.image is not None and not fnmatch.fnmatchcase(image, self.image):
            return False
        if self.selector:
            try:
                return matches({"metadata": {"labels": labels}}, self.selector, None)
            except SelectorError:
                log.warning("behaviour selector %r is malformed; it matches nothing", self.selector)
                return False
        return True


@dataclass(frozen=True)
class CommandEntry:
    match: Match
    name: str
    handler: CommandFn
    on_path: bool  # found by bare name (like a program in /usr/bin); else only when its file is run by path


class BehaviourRegistry:
    """Scripted behaviour by (label selector, container, image): commands, files set up at start, HTTP ports.

    Earlier registrations win when several match the same command name or port.
    """

    def __init__(self) -> None:
        self.commands: list[CommandEntry] = []
        self.setups: list[tuple[Match, Setup]] = []
        self.http: list[tuple[Match, int, HttpHandler]] = []

    def add_command(
        self,
        selector: str | None,
        container: str | None,
        name: str,
        handler: CommandFn,
        *,
        image: str | None = None,
        on_path: bool = True,
    ) -> None:
        """``handler(proc) -> exit status`` runs ``name`` in matching containers."""
        self.commands.append(CommandEntry(Match(selector, container, image), name, handler, on_path))

    def command(
        self, selector: str | None, container: str | None, name: str, *, image: str | None = None, on_path: bool = True
    ) -> Callable[[CommandFn], CommandFn]:
        def register(handler: CommandFn) -> CommandFn:
            self.add_command(selector, container, name, handler, image=image, on_path=on_path)
            return handler

        return register

    def add_setup(self, selector: str | None, container: str | None, setup: Setup, *, image: str | None = None) -> None:
        """``setup(container)`` runs once when a matching container starts (files, users, state)."""
        self.setups.append((Match(selector, container, image), setup))

    def add_http(
        self, selector: str | None, container: str | None, port: int, handler: HttpHandler, *, image: str | None = None
    ) -> None:
        """``handler(container, method, path, body) -> (status, body) | None`` answers HTTP on localhost:port."""
        self.http.append((Match(selector, container, image), port, handler))


@dataclass
class Container:
    """One started container of a pod."""

    namespace: str
    pod_name: str
    pod_uid: str
    name: str
    image: str
    labels: dict[str, str]
    pod_ip: str
    hostname: str
    timing: Callable[[], PodTiming]  # the pod's current duration-model rule
    now: Callable[[], float]  # the server loop's clock (seconds)
    env: dict[str, str] = field(default_factory=dict)
    workdir: str = "/"
    fs: VFS = field(default_factory=VFS)
    users: set[str] = field(default_factory=lambda: set(BASE_USERS))
    processes: list[tuple[str, str]] = field(default_factory=list)  # (user, command line)
    state: dict[str, Any] = field(default_factory=dict)  # behaviour state, e.g. the consensus platform
    commands: dict[str, CommandEntry] = field(default_factory=dict)
    http: dict[int, HttpHandler] = field(default_factory=dict)
    tcp_ports: dict[int, Callable[[Container], bool]] = field(default_factory=dict)

    # --- what commands see ---------------------------------------------------------------------------

    def resolve(self, name: str, shell: Shell) -> CommandFn | int:
        """The command ``name`` runs, or 127 (not found) / 126 (not executable)."""
        if "/" not in name:
            if name in BUILTINS:
                return BUILTINS[name]
            entry = self.commands.get(name)
            if entry is not None and entry.on_path:
                return entry.handler
            if name in PROGRAMS:
                return PROGRAMS[name]
            for directory in shell.vars.get("PATH", DEFAULT_PATH).split(":"):
                candidate = posixpath.join(directory or ".", name)
                node = self.fs.lookup(candidate, shell.cwd)
                if node is not None and node.is_file and node.executable:
                    return self._program_file(VFS.absolute(candidate, shell.cwd))
            return 127
        path = VFS.absolute(name, shell.cwd)
        node = self.fs.lookup(path)
        if node is None:
            return 127
        if node.is_dir or not node.executable:
            return 126
        return self._program_file(path)

    def _program_file(self, path: str) -> CommandFn:
        base = posixpath.basename(path)
        entry = self.commands.get(base)
        if entry is not None:
            return entry.handler
        if posixpath.dirname(path) in PROGRAM_DIRS and base in PROGRAMS:
            return PROGRAMS[base]

        async def run_file(proc: Proc) -> int:
            return await run_script_file(proc, path)

        return run_file

    def locate(self, name: str, shell: Shell) -> str | None:
        """``command -v``: where ``name`` is found."""
        if name in BUILTINS:
            return name
        if "/" in name:
            return name if self.fs.exists(name, shell.cwd) else None
        entry = self.commands.get(name)
        if (entry is not None and entry.on_path) or name in PROGRAMS:
            return f"/usr/bin/{name}"
        for directory in shell.vars.get("PATH", DEFAULT_PATH).split(":"):
            candidate = posixpath.join(directory, name)
            node = self.fs.lookup(candidate)
            if node is not None and node.is_file and node.executable:
                return candidate
        return None

    def is_local_host(self, host: str) -> bool:
        return host in ("localhost", "127.0.0.1", "::1", "[::1]", "0.0.0.0", self.pod_ip, self.hostname)

    def http_request(self, port: int, method: str, path: str, body: str | None) -> HttpAnswer:
        handler = self.http.get(port)
        return None if handler is None else handler(self, method, path, body)

    def tcp_open(self, host: str, port: int) -> bool:
        if not self.is_local_host(host):
            return False
        check = self.tcp_ports.get(port)
        if check is not None:
            return check(self)
        return port in self.http and self.http[port](self, "GET", "/", None) is not None

    def process_table(self) -> list[tuple[str, str]]:
        return list(self.processes)

    def new_shell(self, name: str = "sh") -> Shell:
        return Shell(self, name=name)


def _container_env(pod: dict, spec: dict) -> dict[str, str]:
    env = {"PATH": DEFAULT_PATH, "HOME": "/root", "HOSTNAME": pod["metadata"]["name"]}
    for item in spec.get("env") or []:
        if isinstance(item, dict) and item.get("name") and "value" in item:
            env[item["name"]] = str(item["value"])
    return env


def start_container(
    pod: dict,
    spec: dict,
    registry: BehaviourRegistry,
    *,
    timing: Callable[[], PodTiming],
    now: Callable[[], float],
    volumes: Callable[[dict, str], dict[str, bytes] | None],
) -> Container:
    """A freshly started container of ``pod``: base files, mounted volumes, then the behaviour's setup.

    ``volumes(volume, namespace)`` returns the files of a configMap/secret volume (None when missing).
    """
    meta, status = pod["metadata"], pod.get("status") or {}
    labels = dict(meta.get("labels") or {})
    container = Container(
        namespace=meta.get("namespace", ""),
        pod_name=meta["name"],
        pod_uid=meta.get("uid", ""),
        name=spec["name"],
        image=spec.get("image", ""),
        labels=labels,
        pod_ip=status.get("podIP", ""),
        hostname=(pod.get("spec") or {}).get("hostname") or meta["name"],
        timing=timing,
        now=now,
        env=_container_env(pod, spec),
        workdir=spec.get("workingDir") or "/",
    )
    for directory in BASE_DIRS:
        container.fs.mkdir(directory, parents=True)
    container.fs.chmod("/tmp", 0o1777)
    container.fs.write("/etc/hostname", (container.hostname + "\n").encode())
    command = " ".join([*(spec.get("command") or []), *(spec.get("args") or [])]) or f"/entrypoint ({container.image})"
    container.processes.append(("root", command))
    _mount_volumes(container, pod, spec, volumes)
    if not container.fs.is_dir(container.workdir):
        container.fs.mkdir(container.workdir, parents=True)
    for entry in registry.commands:
        if entry.match(labels, container.name, container.image):
            container.commands.setdefault(entry.name, entry)
    for match, port, handler in registry.http:
        if match(labels, container.name, container.image):
            container.http.setdefault(port, handler)
    for match, setup in registry.setups:
        if match(labels, container.name, container.image):
            setup(container)
    return container


def _mount_volumes(
    container: Container, pod: dict, spec: dict, volumes: Callable[[dict, str], dict[str, bytes] | None]
) -> None:
    """configMap and secret volumes become files (a snapshot at start); others become empty directories."""
    by_name = {volume.get("name"): volume for volume in (pod.get("spec") or {}).get("volumes") or []}
    for mount in spec.get("volumeMounts") or []:
        volume = by_name.get(mount.get("name"))
        path = mount.get("mountPath")
        if not volume or not path:
            continue
        try:
            files = volumes(volume, container.namespace)
            sub_path = mount.get("subPath")
            if files is None:
                container.fs.mkdir(path, parents=True)
                continue
            if sub_path:
                if sub_path in files:
                    container.fs.mkdir(posixpath.dirname(path), parents=True)
                    container.fs.write(path, files[sub_path])
                continue
            container.fs.mkdir(path, parents=True)
            for key, data in files.items():
                container.fs.mkdir(posixpath.dirname(posixpath.join(path, key)), parents=True)
                container.fs.write(posixpath.join(path, key), data, mode=0o644)
        except FsError:
            log.warning(
                "could not mount %s at %s in %s/%s", mount.get("name"), path, container.pod_name, container.name
            )


def volume_files(volume: dict, data_of: Callable[[str, str], dict | None]) -> dict[str, bytes] | None:
    """Files of a configMap or secret volume; ``data_of(kind, name)`` reads the object (None when missing)."""
    if "configMap" in volume:
        source, kind = volume["configMap"] or {}, "ConfigMap"
    elif "secret" in volume:
        source, kind = volume["secret"] or {}, "Secret"
    else:
        return None
    obj = data_of(kind, source.get("name") or source.get("secretName") or "")
    if obj is None:
        return {}
    files: dict[str, bytes] = {}
    if kind == "Secret":
        for key, value in (obj.get("data") or {}).items():
            files[key] = base64.b64decode(value or "")
    else:
        for key, value in (obj.get("data") or {}).items():
            files[key] = str(value).encode()
        for key, value in (obj.get("binaryData") or {}).items():
            files[key] = base64.b64decode(value or "")
    items = source.get("items")
    if items:
        files = {item["path"]: files[item["key"]] for item in items if item.get("key") in files and item.get("path")}
    return files


Runner = Callable[[Proc], Awaitable[int]]
