"""Variables that point a one-shot deploy at what the sandbox can serve, through options real users have.

`python -m tests.sandbox.deploy_vars DIR` writes a tiny platform build (for the consensus node version the
collection resolves by default) under DIR in upstream's builds layout and prints, as JSON, the playbook variables
`chart_sources` (the stand-in charts in tests/charts), `platform_build_url` (a local path template into DIR) and
`db_init_script` (a stand-in for the mirror node's DB init script, which upstream fetches from GitHub).
Used by `make demo`, `make bench` and the molecule scenario.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ansible_collections.hiero.solo.plugins.module_utils._config import COMPONENTS
from tests.charts.sources import local_chart_sources
from tests.sandbox.platform_build import write_platform_build


def default_release_tag() -> str:
    return COMPONENTS["consensus_node"].default


def sandbox_deploy_vars(directory: Path, release_tag: str | None = None) -> dict:
    tag = release_tag or default_release_tag()
    write_platform_build(directory, tag, builds_layout=True)
    init_script = directory / "init.sh"
    init_script.write_text(
        "#!/bin/bash\n# stand-in for hiero-mirror-node importer/src/main/resources/db/scripts/init.sh\n"
    )
    return {
        "db_init_script": str(init_script),
        "chart_sources": local_chart_sources(),
        "platform_build_url": str(directory / "node" / "software" / "{release_prefix}" / "build-{release_tag}.zip"),
    }


def main(argv: list[str]) -> int:
    if len(argv) not in (1, 2):
        print("usage: python -m tests.sandbox.deploy_vars DIR [RELEASE_TAG]", file=sys.stderr)
        return 2
    directory = Path(argv[0]).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    print(json.dumps(sandbox_deploy_vars(directory, argv[1] if len(argv) > 1 else None), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
