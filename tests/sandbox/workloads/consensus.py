"""The consensus node's root container (solo-container image): platform upload, extract, lifecycle, metrics.

Matches pods labelled ``solo.hedera.com/type=network-node``, container ``root-container``:

- files of the image: ``/home/hedera``, the HAPI tree under ``/opt/hgcapp/services-hedera/HapiApp2.0``
  (``data/apps``, ``data/lib``, ``data/config``, ``data/keys`` ... owned by ``hedera``) and the lifecycle
  helper ``/command/network-node-lifecycle``;
- ``extract-platform.sh <tag>`` (any uploaded executable file of that name): what solo's
  ``resources/extract-platform.sh`` does - needs ``/home/hedera/build-<tag>.zip`` and its ``.sha384``
  (it cannot download them: the sandbox has no builds.hedera.com), checks the checksum with
  ``sha384sum -c``, unzips into ``/tmp/extract`` and copies ``data/lib``, ``data/apps``, ``VERSION``,
  ``immediate.sh`` and ``during-freeze.sh`` into the HAPI directory, logging to ``output/extract-platform.log``;
- ``/command/network-node-lifecycle start-and-enable-autostart | stop-and-disable-autostart |
  enable-autostart | disable-autostart | status``: start needs ``data/apps/*.jar``;
- once started, ``localhost:9999/metrics`` answers Prometheus text with ``platform_PlatformStatus``:
  1 (STARTING_UP), then 2 (ACTIVE) after the duration model's ``platform_active_after`` (never with
  ``platform_never_active``); before the start nothing listens (curl exits 7), and the gRPC port 50211
  is open while the platform runs (``true < /dev/tcp/127.0.0.1/50211``).
"""

from __future__ import annotations

import datetime as dt
import posixpath
from dataclasses import dataclass

from .containers import BehaviourRegistry, Container
from .shell import BufferWriter, BytesReader, Proc, Shell

SELECTOR = "solo.hedera.com/type=network-node"
CONTAINER = "root-container"
HAPI_DIR = "/opt/hgcapp/services-hedera/HapiApp2.0"
HEDERA_HOME = "/home/hedera"
LIFECYCLE = "/command/network-node-lifecycle"
METRICS_PORT = 9999
GRPC_PORT = 50211
BUILDS_URL = "https://builds.hedera.com"
STARTING_UP, ACTIVE = 1, 2
JAVA_COMMAND = (
    "java -XX:+UseZGC -Dlog4j.configurationFile=log4j2.xml -cp 'data/lib/*:data/apps/*' "
    "com.hedera.node.app.ServicesMain -local 0"
)
STATUS_HELP = (
    "0=NO_VALUE 1=STARTING_UP 2=ACTIVE 4=BEHIND 5=FREEZING 6=FREEZE_COMPLETE 7=REPLAYING_EVENTS "
    "8=OBSERVING 9=CHECKING 10=RECONNECT_COMPLETE 11=CATASTROPHIC_FAILURE"
)
_HAPI_SUBDIRS = (
    "data/apps",
    "data/lib",
    "data/config",
    "data/keys",
    "data/onboard",
    "data/stats",
    "data/saved",
    "data/upgrade/current",
    "data/upgrade/next",
    "output",
)


@dataclass
class Platform:
    started_at: float | None = None  # the server loop's clock when the lifecycle helper started it
    autostart: bool = False

    @property
    def running(self) -> bool:
        return self.started_at is not None


def platform(container: Container) -> Platform:
    return container.state.setdefault("platform", Platform())


def platform_status(container: Container) -> int | None:
    """The platform_PlatformStatus value now, or None when the node is not running."""
    node = platform(container)
    if node.started_at is None:
        return None
    timing = container.timing()
    if timing.platform_never_active:
        return STARTING_UP
    elapsed = container.now() - node.started_at
    return ACTIVE if elapsed >= timing.scaled(timing.platform_active_after) else STARTING_UP


def _node_id(container: Container) -> str:
    node_id = container.labels.get("solo.hedera.com/node-id")
    if node_id is not None:
        return node_id
    name = container.labels.get("solo.hedera.com/node-name", "")
    digits = "".join(ch for ch in name if ch.isdigit())
    return str(int(digits) - 1) if digits else "0"


def metrics_text(container: Container) -> str | None:
    status = platform_status(container)
    if status is None:
        return None
    node = _node_id(container)
    uptime = container.now() - (platform(container).started_at or 0.0)
    return (
        f"# HELP platform_PlatformStatus {STATUS_HELP}\n"
        "# TYPE platform_PlatformStatus gauge\n"
        f'platform_PlatformStatus{{node="{node}",}} {float(status)}\n'
        "# HELP platform_secC2C seconds from creating an event to it being received by another node\n"
        "# TYPE platform_secC2C gauge\n"
        f'platform_secC2C{{node="{node}",}} {0.0 if status != ACTIVE else 0.25}\n'
        "# HELP process_uptime_seconds seconds since the node process started\n"
        "# TYPE process_uptime_seconds gauge\n"
        f'process_uptime_seconds{{node="{node}",}} {uptime:.1f}\n'
    )


def serve_metrics(container: Container, method: str, path: str, body: str | None):
    text = metrics_text(container)
    if text is None:
        return None  # the JVM is not running: nothing listens on the port
    if path.split("?", 1)[0] in ("/metrics", "/"):
        return 200, text
    return 404, "Not Found\n"


def setup(container: Container) -> None:
    container.users.add("hedera")
    fs = container.fs
    fs.mkdir(HEDERA_HOME, parents=True, owner="hedera", group="hedera")
    for sub in _HAPI_SUBDIRS:
        fs.mkdir(posixpath.join(HAPI_DIR, sub), parents=True, owner="hedera", group="hedera")
    for path, _ in fs.walk("/opt/hgcapp"):
        fs.chown(path, "hedera", "hedera")
    fs.mkdir("/command", parents=True)
    fs.write(LIFECYCLE, b"#!/command/execlineb -S1\n# solo-container: network node lifecycle helper\n", mode=0o755)
    container.processes[:] = [("root", "/package/admin/s6/command/s6-svscan -d4 -- /run/service")]
    container.tcp_ports[GRPC_PORT] = lambda c: platform(c).running
    platform(container)


# --- the lifecycle helper -----------------------------------------------------------------------------------


def _start(container: Container) -> None:
    node = platform(container)
    if node.started_at is None:
        node.started_at = container.now()
        container.processes.append(("hedera", JAVA_COMMAND))


def _stop(container: Container) -> None:
    node = platform(container)
    node.started_at = None
    container.processes[:] = [entry for entry in container.processes if entry[1] != JAVA_COMMAND]


async def lifecycle(proc: Proc) -> int:
    command = proc.argv[1] if len(proc.argv) > 1 else ""
    container = proc.container
    node = platform(container)
    if command in ("start", "start-and-enable-autostart"):
        jars = proc.fs.glob(f"{HAPI_DIR}/data/apps/*.jar")
        if not jars:
            await proc.err(
                f"network-node-lifecycle: no application jars in {HAPI_DIR}/data/apps; "
                "upload and extract the platform build first\n"
            )
            return 1
        _start(container)
        if command == "start-and-enable-autostart":
            node.autostart = True
        await proc.out("network-node-lifecycle: consensus node started\n")
        return 0
    if command in ("stop", "stop-and-disable-autostart"):
        was_running = node.running
        _stop(container)
        if command == "stop-and-disable-autostart":
            node.autostart = False
        await proc.out(f"network-node-lifecycle: consensus node {'stopped' if was_running else 'not running'}\n")
        return 0
    if command in ("enable-autostart", "disable-autostart"):
        node.autostart = command == "enable-autostart"
        await proc.out(f"network-node-lifecycle: autostart {'enabled' if node.autostart else 'disabled'}\n")
        return 0
    if command == "status":
        await proc.out(f"{'running' if node.running else 'stopped'}; autostart {'on' if node.autostart else 'off'}\n")
        return 0 if node.running else 3
    await proc.err(
        "usage: network-node-lifecycle start-and-enable-autostart|stop-and-disable-autostart|"
        "enable-autostart|disable-autostart|status\n"
    )
    return 2


# --- extract-platform.sh -------------------------------------------------------------------------------------


class _Script:
    """Runs the steps of extract-platform.sh, with its log lines and `> >(tee -a LOG)` output."""

    def __init__(self, proc: Proc) -> None:
        self.proc = proc
        self.log_file = f"{HAPI_DIR}/output/extract-platform.log"
        self.shell = Shell(proc.container, name="bash", env=proc.shell.vars, cwd=proc.cwd)

    def _append(self, data: bytes) -> None:
        fs = self.proc.fs
        if not fs.is_dir(posixpath.dirname(self.log_file)):
            fs.mkdir(posixpath.dirname(self.log_file), parents=True)
        fs.write(self.log_file, data, append=True)

    async def log(self, message: str) -> None:
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        line = f"{stamp} - {message}\n".encode()
        self._append(line)
        await self.proc.out(line)

    async def run(self, command: str) -> int:
        """A command with stdout and stderr teed into the log."""
        out = BufferWriter()
        status = await self.shell.run_script(command, BytesReader(), out, out)
        data = bytes(out.buffer)
        if data:
            self._append(data)
            await self.proc.out(data)
        return status


async def extract_platform(proc: Proc) -> int:
    tag = proc.argv[1] if len(proc.argv) > 1 else ""
    if not tag:
        await proc.out("Release tag is required (e.g. v0.42.5)\n")
        return 1
    release_dir = ".".join(tag.split(".")[:2])
    zip_file = f"{HEDERA_HOME}/build-{tag}.zip"
    checksum_file = f"{HEDERA_HOME}/build-{tag}.sha384"
    script = _Script(proc)
    await script.log("extract-platform.sh: begin................................")
    for path, suffix in ((zip_file, "zip"), (checksum_file, "sha384")):
        await script.log(f"Checking if {path} exists...")
        if not proc.fs.is_file(path):
            url = f"{BUILDS_URL}/node/software/{release_dir}/build-{tag}.{suffix}"
            await script.log(f"Downloading {url}...")
            await script.run("echo 'curl: (6) Could not resolve host: builds.hedera.com' >&2")
            await script.log(f"Failed to download {url}. Error code: 6")
            return 1
    script.shell.cwd = HEDERA_HOME
    await script.log(f"Verifying SHA sum of {zip_file} against {checksum_file}")
    if await script.run(f'sha384sum -c "{checksum_file}"') != 0:
        await script.log(f"SHA384 sum of {zip_file} does not match. Aborting.")
        return 1
    await script.log(f"Deleting previous version under {HAPI_DIR}/data/lib/*.jar and {HAPI_DIR}/data/apps/*.jar")
    await script.run(f"rm -rvf {HAPI_DIR}/data/lib/*.jar")
    await script.run(f"rm -rvf {HAPI_DIR}/data/apps/*.jar")
    if not proc.fs.is_dir(HAPI_DIR):
        await script.log(f"Creating directory {HAPI_DIR}")
        await script.run(f'mkdir -p "{HAPI_DIR}" && chown hedera:hedera "{HAPI_DIR}"')
    await proc.out("Using unzip to extract files\n")
    await script.run("mkdir -p /tmp/extract")
    status = await script.run(f'unzip -o "{zip_file}" -d /tmp/extract')
    if status != 0:
        await script.log(f"Failed to unzip {zip_file}. Error code: {status}")
        return 1
    steps = (
        (
            f'cp -rf /tmp/extract/data/lib/* "{HAPI_DIR}/data/lib/"',
            f"Failed to copy libraries from /tmp/extract/lib to {HAPI_DIR}/data/lib.",
        ),
        (
            f'cp -rf /tmp/extract/data/apps/* "{HAPI_DIR}/data/apps/"',
            f"Failed to copy applications from /tmp/extract/apps to {HAPI_DIR}/data/apps.",
        ),
        (
            f'cp -f /tmp/extract/VERSION "{HAPI_DIR}/VERSION"',
            f"Failed to copy VERSION file from /tmp/extract to {HAPI_DIR}/VERSION.",
        ),
        (
            f'cp -f /tmp/extract/immediate.sh "{HAPI_DIR}/immediate.sh"',
            f"Failed to copy immediate.sh from /tmp/extract to {HAPI_DIR}/immediate.sh.",
        ),
        (
            f'cp -f /tmp/extract/during-freeze.sh "{HAPI_DIR}/during_freeze.sh"',
            f"Failed to copy during-freeze.sh from /tmp/extract to {HAPI_DIR}/during-freeze.sh.",
        ),
    )
    for command, failure in steps:
        status = await script.run(command)
        if status != 0:
            await script.log(f"{failure} Error code: {status}")
            return 1
    await script.log("Removing temporary directory /tmp/extract")
    await script.run("rm -rf /tmp/extract")
    await script.log("................................end: extract-platform.sh")
    return 0


def register(registry: BehaviourRegistry) -> None:
    registry.add_setup(SELECTOR, CONTAINER, setup)
    registry.add_command(SELECTOR, CONTAINER, "network-node-lifecycle", lifecycle, on_path=False)
    registry.add_command(SELECTOR, CONTAINER, "extract-platform.sh", extract_platform, on_path=False)
    registry.add_http(SELECTOR, CONTAINER, METRICS_PORT, serve_metrics)
