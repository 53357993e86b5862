"""Running real playbooks against the sandbox the way a user on this machine would (shared by integration tests).

``run_playbook`` starts ``ansible-playbook`` on localhost with a local connection, this checkout as the collection
(``ANSIBLE_COLLECTIONS_PATH``), the sandbox's kubeconfig in ``K8S_AUTH_KUBECONFIG``, and every tool's state (Ansible
temp dirs, helm caches, HOME) inside a per-run work directory, so runs never see each other's or the user's files.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOKS = Path(__file__).resolve().parent / "playbooks"
BIN = Path(sys.executable).parent

_RECAP_RE = re.compile(r"^(\S+)\s+:\s+((?:\w+=\d+\s*)+)$", re.MULTILINE)


@dataclass
class PlaybookRun:
    rc: int
    output: str
    seconds: float
    result_file: Path

    def result(self) -> dict[str, Any]:
        """What the playbook recorded in ``result_file`` (JSON)."""
        return json.loads(self.result_file.read_text())

    def recap(self, host: str = "localhost") -> dict[str, int]:
        """The PLAY RECAP counters of ``host``: ok, changed, unreachable, failed, skipped, rescued, ignored."""
        tail = self.output.rsplit("PLAY RECAP", 1)[-1]
        for match in _RECAP_RE.finditer(tail):
            if match.group(1) == host:
                return {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", match.group(2))}
        raise AssertionError(f"no PLAY RECAP line for {host} in:\n{self.output[-3000:]}")


def ansible_env(kubeconfig: Path | str, work: Path, **extra: str) -> dict[str, str]:
    """Environment of a playbook run: the collection from this checkout, the sandbox, private tool state."""
    env = dict(os.environ)
    for name in list(env):
        # A developer's own settings must not leak into the run under test.
        if name.startswith(("K8S_AUTH_", "SOLO_", "HELM_")) or name in ("KUBECONFIG", "ANSIBLE_CONFIG"):
            del env[name]
    env.update(
        ANSIBLE_COLLECTIONS_PATH=str(ROOT / "collections"),
        K8S_AUTH_KUBECONFIG=str(kubeconfig),
        HOME=str(work / "home"),
        ANSIBLE_LOCAL_TEMP=str(work / "ansible-local"),
        ANSIBLE_REMOTE_TEMP=str(work / "ansible-remote"),
        ANSIBLE_ASYNC_DIR=str(work / "ansible-async"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_RETRY_FILES_ENABLED="0",
        ANSIBLE_STDOUT_CALLBACK="default",
        HELM_CACHE_HOME=str(work / "helm" / "cache"),
        HELM_CONFIG_HOME=str(work / "helm" / "config"),
        HELM_DATA_HOME=str(work / "helm" / "data"),
    )
    env.update(extra)
    return env


def playbook_command(
    kubeconfig: Path | str,
    work: Path,
    playbook: str,
    extra_vars: dict[str, Any] | None = None,
    *,
    env: dict[str, str] | None = None,
) -> tuple[list[str], dict[str, str], Path]:
    """argv, environment and result file of a run of ``tests/integration/playbooks/<playbook>`` in ``work``."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "home").mkdir(exist_ok=True)
    result_file = work / f"result-{uuid.uuid4().hex[:8]}.json"
    variables = {"result_file": str(result_file), "ansible_python_interpreter": sys.executable, **(extra_vars or {})}
    argv = [
        str(BIN / "ansible-playbook"),
        "-i",
        "localhost,",
        "-c",
        "local",
        "-e",
        json.dumps(variables),
        str(PLAYBOOKS / playbook),
    ]
    return argv, env if env is not None else ansible_env(kubeconfig, work), result_file


def run_playbook(
    kubeconfig: Path | str,
    work: Path,
    playbook: str,
    extra_vars: dict[str, Any] | None = None,
    *,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> PlaybookRun:
    """Run ``tests/integration/playbooks/<playbook>`` to completion; ``result_file`` is passed as an extra var."""
    argv, run_env, result_file = playbook_command(kubeconfig, work, playbook, extra_vars, env=env)
    started = time.monotonic()
    proc = subprocess.run(
        argv,
        cwd=work,
        env=run_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )
    return PlaybookRun(proc.returncode, proc.stdout, time.monotonic() - started, result_file)


def start_playbook(
    kubeconfig: Path | str,
    work: Path,
    playbook: str,
    extra_vars: dict[str, Any] | None = None,
    *,
    env: dict[str, str] | None = None,
) -> subprocess.Popen:
    """Start the run in the background, in a process group of its own (so a test can kill it as a terminal would);
    its output goes to ``work/output.log``."""
    argv, env, _result_file = playbook_command(kubeconfig, work, playbook, extra_vars, env=env)
    log = (work / "output.log").open("w")
    try:
        return subprocess.Popen(argv, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    finally:
        log.close()
