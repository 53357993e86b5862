"""Scripted behaviour of the shared postgres container (solo-shared-resources): ``psql`` and the mirror DB init.

The sandbox runs no database. This gives the ``postgresql`` container of pods labelled
``app.kubernetes.io/name=postgres,app.kubernetes.io/instance=solo-shared-resources`` what the mirror node step
meets in a real one:

- ``psql -h 127.0.0.1 ... -U postgres -tAc <SQL>`` with the password from ``PGPASSFILE`` (a ``.pgpass`` line): it
  answers the queries solo's init wrapper and our read-only check make (does a database or role exist, the
  database's comment) and runs ``COMMENT ON DATABASE``; a wrong superuser password is refused as postgres refuses it.
- ``/tmp/run-init.sh`` executed by path (the wrapper the module uploads): it reads the uploaded env file and init
  script as the real wrapper does, creates the database and its owner once, writes the sentinel comment
  ``solo-initialized``, and removes the uploaded files. A second run only re-applies passwords (nothing to do here).

State lives in the container (``container.state["postgres"]``), so a recreated pod starts empty like a new data
directory would. The superuser password is the one the first init presented (the sandbox cannot read the
Secret behind the container's ``POSTGRES_PASSWORD``); afterwards any other password fails authentication.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from typing import Any

from .containers import BehaviourRegistry
from .shell import Proc
from .vfs import FsError

POSTGRES_SELECTOR = "app.kubernetes.io/name=postgres,app.kubernetes.io/instance=solo-shared-resources"
CONTAINER = "postgresql"
INIT_FILES = ("/tmp/.pgpass", "/tmp/hiero-solo-mirror-init.env", "/tmp/init-postgres.sh", "/tmp/run-init.sh")
ENV_FILE = "/tmp/hiero-solo-mirror-init.env"
INIT_SCRIPT = "/tmp/init-postgres.sh"
SENTINEL = "solo-initialized"

_COMMENT_QUERY = re.compile(
    r"^SELECT shobj_description\(oid, 'pg_database'\) FROM pg_database WHERE datname = '([^']*)'$", re.I
)
_DATABASE_QUERY = re.compile(r"^SELECT 1 FROM pg_database WHERE datname = '([^']*)'$", re.I)
_ROLE_QUERY = re.compile(r"^SELECT 1 FROM pg_roles WHERE rolname = '([^']*)'$", re.I)
_COMMENT_ON = re.compile(r"^COMMENT ON DATABASE (\w+) IS '([^']*)';?$", re.I)


def _state(proc: Proc) -> dict[str, Any]:
    return proc.container.state.setdefault("postgres", {"databases": {}, "roles": set(), "superuser_password": None})


def _pgpass_password(text: str, user: str) -> str | None:
    """The password of ``user`` in a .pgpass text (fields separated by unescaped ``:``)."""
    for line in text.splitlines():
        fields, current, escaped = [], "", False
        for char in line:
            if escaped:
                current += char
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == ":":
                fields.append(current)
                current = ""
            else:
                current += char
        fields.append(current)
        if len(fields) == 5 and fields[3] in (user, "*"):
            return fields[4]
    return None


def _authenticate(proc: Proc, state: dict[str, Any], user: str, password: str | None) -> str | None:
    """An error text when the login fails (as psql prints it), else None."""
    if not password:
        return 'psql: error: connection to server at "127.0.0.1", port 5432 failed: fe_sendauth: no password supplied'
    known = state["superuser_password"] if user == "postgres" else None
    if known is not None and password != known:
        return (
            'psql: error: connection to server at "127.0.0.1", port 5432 failed: FATAL:  password authentication '
            f'failed for user "{user}"'
        )
    return None


async def psql(proc: Proc) -> int:
    args = proc.argv[1:]
    user, command = "postgres", None
    while args:
        arg = args.pop(0)
        if arg in ("-h", "-p", "-d") and args:
            args.pop(0)
        elif arg == "-U" and args:
            user = args.pop(0)
        elif arg in ("-c", "-tAc", "-Atc", "-tc") and args:
            command = args.pop(0)
        elif arg in ("-t", "-A", "-q"):
            continue
        else:
            return await proc.fail(f"sandbox psql does not know the argument {arg!r}", 2)
    if command is None:
        return await proc.fail("sandbox psql needs -c <SQL>", 2)
    state = _state(proc)
    password = None
    pgpass = proc.shell.vars.get("PGPASSFILE")
    if pgpass:
        try:
            password = _pgpass_password(proc.fs.read(pgpass, proc.cwd).decode(), user)
        except FsError:
            password = None
    error = _authenticate(proc, state, user, password)
    if error:
        await proc.err(error + "\n")
        return 2
    sql = " ".join(command.split())
    databases = state["databases"]
    if match := _COMMENT_QUERY.match(sql):
        database = databases.get(match.group(1))
        await proc.out(f"{(database or {}).get('comment') or ''}\n" if database else "")
        return 0
    if match := _DATABASE_QUERY.match(sql):
        await proc.out("1\n" if match.group(1) in databases else "")
        return 0
    if match := _ROLE_QUERY.match(sql):
        await proc.out("1\n" if match.group(1) in state["roles"] else "")
        return 0
    if match := _COMMENT_ON.match(sql):
        if match.group(1) not in databases:
            await proc.err(f'ERROR:  database "{match.group(1)}" does not exist\n')
            return 1
        databases[match.group(1)]["comment"] = match.group(2)
        await proc.out("COMMENT\n")
        return 0
    return await proc.fail(f"sandbox psql cannot run {sql!r}", 1)


def _read_env_file(text: str) -> dict[str, str]:
    """``KEY='value'`` lines as the module writes them (POSIX shell quoting)."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, _, quoted = line.partition("=")
        parts = shlex.split(quoted)
        values[key.strip()] = parts[0] if parts else ""
    return values


async def run_init(proc: Proc) -> int:
    """The mirror node DB init wrapper, run as ``/tmp/run-init.sh``."""
    fs = proc.fs
    try:
        env = _read_env_file(fs.read(ENV_FILE).decode())
    except FsError:
        await proc.err(f"{proc.argv[0]}: line 7: {ENV_FILE}: No such file or directory\n")
        return 1
    try:
        try:
            init_script = fs.read(INIT_SCRIPT)
        except FsError:
            await proc.err(f"/bin/bash: {INIT_SCRIPT}: No such file or directory\n")
            return 127
        state = _state(proc)
        missing = [
            key for key in ("DB_NAME", "OWNER_USERNAME", "OWNER_PASSWORD", "SUPERUSER_PASSWORD") if not env.get(key)
        ]
        if missing:
            await proc.err(f"{proc.argv[0]}: line 12: {missing[0]}: unbound variable\n")
            return 1
        error = _authenticate(proc, state, "postgres", env["SUPERUSER_PASSWORD"])
        if error:
            await proc.err(error + "\n")
            return 2
        if not init_script.strip():
            await proc.err(f"/bin/bash: {INIT_SCRIPT}: empty init script\n")
            return 1
        name = env["DB_NAME"]
        database = state["databases"].get(name)
        if database and database.get("comment") == SENTINEL:
            return 0  # the real wrapper re-applies the role passwords here
        state["superuser_password"] = env["SUPERUSER_PASSWORD"]
        roles = {env["OWNER_USERNAME"], "mirror_importer", env.get("REST_USERNAME") or "mirror_rest"}
        roles |= {"mirror_rest_java", "mirror_web3", "mirror_grpc"}
        state["roles"] |= roles
        state["databases"][name] = {"owner": env["OWNER_USERNAME"], "comment": SENTINEL}
        await proc.out("mirror node database initialized\n")
        return 0
    finally:
        # the wrapper's EXIT trap
        for path in INIT_FILES:
            if fs.exists(path):
                fs.remove(path)


def register(registry: BehaviourRegistry) -> None:
    registry.add_command(POSTGRES_SELECTOR, CONTAINER, "psql", psql)
    registry.add_command(POSTGRES_SELECTOR, CONTAINER, posixpath.basename(INIT_FILES[3]), run_init, on_path=False)
