"""`make bench`: the one-shot deploy against the sandbox, parallel and sequential, under one duration model.

One run prints one table and writes the same figures to bench/results.json:
- wall time of the parallel deploy, the sequential deploy (`parallel: false`) and a re-run on the converged deployment;
- the critical path of our DAG and of upstream solo's DAG, both computed from the step durations measured in the
  sequential run (each step alone, nothing overlapping), so the two DAGs are compared under the same model;
- Ansible overhead = parallel wall time - our critical path;
- Kubernetes API requests and Lease writes per deploy, counted by the sandbox.
The sandbox's pod delays come from bench/model.yaml (nominal seconds, scaled by its time_scale).
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "collections")]

from ansible_collections.hiero.solo.plugins.module_utils._config import dag_edges  # noqa: E402
from bench.dag import UPSTREAM_EDGES, critical_path  # noqa: E402
from tests.sandbox.deploy_vars import sandbox_deploy_vars  # noqa: E402

VENV_BIN = ROOT / ".venv" / "bin"
RUN_STATE = "hiero-solo-run-state"
SERVE = [str(VENV_BIN / "python"), "-m", "tests.sandbox", "serve", "--port", "0"]


class Sandbox:
    """The sandbox API server as its own process, as `scripts/sandbox up` runs it."""

    def __init__(self, workdir: Path, model: Path):
        self.kubeconfig = workdir / "kubeconfig"
        self.log = open(workdir / "sandbox.log", "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [*SERVE, "--kubeconfig", str(self.kubeconfig), "--model", str(model)],
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=dict(os.environ, PYTHONPATH=f"{ROOT}:{ROOT / 'collections'}"),
        )
        deadline = time.monotonic() + 30
        while not self.kubeconfig.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"sandbox did not start; see {self.log.name}")
            time.sleep(0.1)
        import yaml

        self.url = yaml.safe_load(self.kubeconfig.read_text())["clusters"][0]["cluster"]["server"]

    def stats(self) -> dict:
        with urllib.request.urlopen(f"{self.url}/_sandbox/stats") as answer:
            return json.load(answer)

    def reset_stats(self) -> None:
        urllib.request.urlopen(urllib.request.Request(f"{self.url}/_sandbox/stats/reset", method="POST")).close()

    def run_state(self, namespace: str) -> dict[str, dict]:
        url = f"{self.url}/api/v1/namespaces/{namespace}/configmaps/{RUN_STATE}"
        with urllib.request.urlopen(url) as answer:
            data = json.load(answer).get("data") or {}
        return {step: json.loads(value) for step, value in data.items() if step != "run"}

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()


class ThrottledBuilds:
    """Serves the platform builds over loopback HTTP, stretched to the model's download time.

    In the sandbox the build is a few kilobytes; a real one is hundreds of megabytes from builds.hedera.com. The
    download's nominal duration comes from the model (`bench.platform_download`), so the step the two DAGs place
    differently (ours starts it at once, upstream's inside `consensus node setup`) costs the same in both.
    """

    def __init__(self, directory: Path, seconds: float):
        handler = functools.partial(_SlowHandler, seconds, directory=str(directory))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _SlowHandler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, seconds: float, *args, **kwargs):
        self.seconds = seconds
        super().__init__(*args, **kwargs)

    def copyfile(self, source, outputfile) -> None:
        if not self.path.endswith(".zip"):
            return super().copyfile(source, outputfile)
        data = source.read()
        pieces = 20
        for i in range(pieces):
            outputfile.write(data[i * len(data) // pieces : (i + 1) * len(data) // pieces])
            time.sleep(self.seconds / pieces)

    def log_message(self, *args) -> None:
        pass


def playbook(name: str, sandbox: Sandbox, extra: dict, workdir: Path, label: str, home: str = "solo-home") -> float:
    """Run a playbook of the collection; returns its wall time. Output goes to workdir/<label>.log."""
    env = dict(
        os.environ,
        PATH=f"{VENV_BIN}:{os.environ.get('PATH', '')}",
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=str(ROOT / "collections"),
        K8S_AUTH_KUBECONFIG=str(sandbox.kubeconfig),
        SOLO_HOME=str(workdir / home),
        HELM_CACHE_HOME=str(workdir / "helm" / "cache"),
        HELM_CONFIG_HOME=str(workdir / "helm" / "config"),
        HELM_DATA_HOME=str(workdir / "helm" / "data"),
    )
    vars_file = workdir / f"{label}.vars.json"
    vars_file.write_text(json.dumps(extra))
    start = time.monotonic()
    with open(workdir / f"{label}.log", "w") as log:
        done = subprocess.run(
            [str(VENV_BIN / "ansible-playbook"), f"hiero.solo.{name}", "-e", f"@{vars_file}"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    elapsed = time.monotonic() - start
    if done.returncode != 0:
        tail = "".join(Path(log.name).read_text().splitlines(keepends=True)[-40:])
        raise SystemExit(f"{tail}\n{label}: ansible-playbook {name} failed (rc {done.returncode})")
    return elapsed


def step_durations(run_state: dict[str, dict]) -> dict[str, float]:
    durations = {}
    for step, record in run_state.items():
        if record.get("status") == "done" and record.get("started") and record.get("finished"):
            started = datetime.fromisoformat(record["started"].replace("Z", "+00:00"))
            finished = datetime.fromisoformat(record["finished"].replace("Z", "+00:00"))
            durations[step] = (finished - started).total_seconds()
    return durations


def measure(args: argparse.Namespace, workdir: Path) -> dict:
    import yaml

    model = yaml.safe_load(args.model.read_text())
    download_s = float(model.get("bench", {}).get("platform_download", 0)) * float(model.get("time_scale", 1))
    sandbox = Sandbox(workdir, args.model)
    builds = ThrottledBuilds(workdir / "builds", download_s)
    try:
        # No persistent port-forwards: they would take solo's fixed local ports, which a developer's own
        # deployment (or `make demo`) may hold; they are not part of what the DAGs compare.
        base = {"deployment": args.deployment, "num_consensus_nodes": args.nodes, "port_forwards": False}
        base.update(sandbox_deploy_vars(workdir / "builds"))
        base["platform_build_url"] = f"{builds.url}/node/software/{{release_prefix}}/build-{{release_tag}}.zip"

        sandbox.reset_stats()
        parallel_wall = playbook("one_shot_deploy", sandbox, {**base, "parallel": True}, workdir, "deploy-parallel")
        stats = sandbox.stats()
        parallel_state = sandbox.run_state(args.deployment)

        sandbox.reset_stats()
        rerun_wall = playbook("one_shot_deploy", sandbox, {**base, "parallel": True}, workdir, "rerun")
        rerun_stats = sandbox.stats()

        playbook("one_shot_destroy", sandbox, base, workdir, "destroy-1")
        # A fresh SOLO_HOME, so the sequential run pays for the download and the keys as the first run did
        # (the cache of the first run would make both look free and hide what the two DAGs place differently).
        sequential_wall = playbook(
            "one_shot_deploy", sandbox, {**base, "parallel": False}, workdir, "deploy-sequential", "solo-home-2"
        )
        durations = step_durations(sandbox.run_state(args.deployment))
        playbook("one_shot_destroy", sandbox, base, workdir, "destroy-2", "solo-home-2")
    finally:
        builds.stop()
        sandbox.stop()

    ours, our_path = critical_path(durations, dag_edges())
    upstream, upstream_path = critical_path(durations, UPSTREAM_EDGES)
    return {
        "model": str(args.model.relative_to(ROOT)) if args.model.is_relative_to(ROOT) else str(args.model),
        "consensus_nodes": args.nodes,
        "sequential_wall_s": round(sequential_wall, 1),
        "parallel_wall_s": round(parallel_wall, 1),
        "critical_path_ours_s": round(ours, 1),
        "critical_path_ours": our_path,
        "critical_path_upstream_s": round(upstream, 1),
        "critical_path_upstream": upstream_path,
        "ansible_overhead_s": round(parallel_wall - ours, 1),
        "rerun_wall_s": round(rerun_wall, 1),
        "api_requests_per_deploy": stats["total_requests"],
        "lease_writes_per_deploy": stats["lease_writes"],
        "api_requests_rerun": rerun_stats["total_requests"],
        "lease_writes_rerun": rerun_stats["lease_writes"],
        "step_seconds_sequential": {k: round(v, 1) for k, v in sorted(durations.items())},
        "step_status_parallel": {k: v.get("status") for k, v in sorted(parallel_state.items())},
    }


def table(results: dict) -> str:
    rows = [
        ("sequential deploy (parallel: false)", f"{results['sequential_wall_s']:.1f} s"),
        ("parallel deploy", f"{results['parallel_wall_s']:.1f} s"),
        ("critical path, our DAG", f"{results['critical_path_ours_s']:.1f} s"),
        ("critical path, upstream solo's DAG", f"{results['critical_path_upstream_s']:.1f} s"),
        ("Ansible overhead (parallel - our critical path)", f"{results['ansible_overhead_s']:.1f} s"),
        ("re-run on the converged deployment", f"{results['rerun_wall_s']:.1f} s"),
        ("Kubernetes API requests per deploy", str(results["api_requests_per_deploy"])),
        ("Lease writes per deploy", str(results["lease_writes_per_deploy"])),
        (
            "API requests / Lease writes of the re-run",
            f"{results['api_requests_rerun']} / {results['lease_writes_rerun']}",
        ),
    ]
    width = max(len(name) for name, _ in rows)
    lines = [f"hiero.solo one-shot benchmark (sandbox, model {results['model']}, {results['consensus_nodes']} node(s))"]
    lines += [f"  {name.ljust(width)}  {value}" for name, value in rows]
    lines.append(f"  our critical path:      {' -> '.join(results['critical_path_ours'])}")
    lines.append(f"  upstream critical path: {' -> '.join(results['critical_path_upstream'])}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "bench" / "model.yaml")
    parser.add_argument("--nodes", type=int, default=1)
    parser.add_argument("--deployment", default="bench")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results.json")
    args = parser.parse_args()
    args.model = args.model.resolve()
    with tempfile.TemporaryDirectory(prefix="hiero-bench-") as tmp:
        results = measure(args, Path(tmp))
    print(table(results))
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"(written to {args.output})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
