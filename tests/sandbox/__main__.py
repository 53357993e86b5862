"""``python -m tests.sandbox serve --host 127.0.0.1 --port 0 --kubeconfig PATH``: run the sandbox API server."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

from .runner import serve_forever
from .workloads.model import MODEL_ENV, ModelError, load_model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.sandbox", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the in-memory Kubernetes API server in the foreground")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=0, help="0 picks a free port")
    serve.add_argument("--kubeconfig", help="write a kubeconfig for the server here once it listens")
    serve.add_argument("--log-level", default="INFO")
    serve.add_argument(
        "--model",
        default=os.environ.get(MODEL_ENV),
        help=f"duration model file for the workloads (default: ${MODEL_ENV}, else tests/sandbox/model.yaml)",
    )
    serve.add_argument(
        "--no-workloads",
        action="store_true",
        help="serve the bare API (no controllers, kubelet, exec or port-forward)",
    )
    args = parser.parse_args(argv)
    if not args.no_workloads:
        try:
            load_model(args.model)  # a broken model file is a usage error, reported before anything starts
        except ModelError as exc:
            parser.error(str(exc))
    logging.basicConfig(
        stream=sys.stderr, level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    asyncio.run(serve_forever(args.host, args.port, args.kubeconfig, workloads=not args.no_workloads, model=args.model))
    return 0


if __name__ == "__main__":
    sys.exit(main())
