"""Critical paths of the one-shot deploy DAGs under one set of step durations (used by `make bench`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

# Upstream solo 0.87.1 one-shot deploy (solo-spec §1.4): phase 8 runs connect → create/attach → setup → keys in
# sequence; phase 10 then starts block, consensus chain, mirror, explorer, relay and pinger together, each waiting
# on its events. The platform build is downloaded inside `consensus node setup`, so download and upload are serial.
UPSTREAM_EDGES: tuple[tuple[str, str], ...] = (
    ("cluster_ref", "deployment"),
    ("deployment", "cluster_setup"),
    ("cluster_setup", "keys"),
    ("keys", "block_node"),
    ("keys", "consensus_network"),
    ("keys", "mirror_node"),
    ("block_node", "consensus_network"),
    ("consensus_network", "platform_download"),
    ("platform_download", "consensus_node_configured"),
    ("consensus_node_configured", "consensus_node_started"),
    ("consensus_node_started", "accounts"),
    ("mirror_node", "explorer"),
    ("mirror_node", "relay"),
    ("consensus_node_started", "relay"),
    ("mirror_node", "pinger"),
    ("consensus_node_started", "pinger"),
)


def critical_path(durations: Mapping[str, float], edges: Iterable[tuple[str, str]]) -> tuple[float, list[str]]:
    """Longest path through the DAG, weighting each step by its duration (steps not in `durations` weigh 0).

    Returns (seconds, steps on the path in order). Raises ValueError on a cycle.
    """
    edges = [tuple(e) for e in edges]
    steps = set(durations) | {s for e in edges for s in e}
    preds: dict[str, list[str]] = {s: [] for s in steps}
    for before, after in edges:
        preds[after].append(before)
    finish: dict[str, float] = {}
    via: dict[str, str | None] = {}
    visiting: set[str] = set()

    def visit(step: str) -> float:
        if step in finish:
            return finish[step]
        if step in visiting:
            raise ValueError(f"cycle through {step}")
        visiting.add(step)
        best, best_pred = 0.0, None
        for pred in sorted(preds[step]):
            end = visit(pred)
            if end > best:
                best, best_pred = end, pred
        visiting.discard(step)
        finish[step] = best + float(durations.get(step, 0.0))
        via[step] = best_pred
        return finish[step]

    for step in sorted(steps):
        visit(step)
    if not finish:
        return 0.0, []
    last = max(sorted(finish), key=lambda s: finish[s])
    path = [last]
    while via[path[-1]] is not None:
        path.append(via[path[-1]])  # type: ignore[arg-type]
    return finish[last], list(reversed(path))
