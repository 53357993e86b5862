"""Tiny consensus-node platform builds for the sandbox: ``build-<tag>.zip`` and ``build-<tag>.sha384``.

The zip has the layout upstream's ``extract-platform.sh`` expects of a builds.hedera.com build: ``data/apps/*.jar``
(with ``HederaNode.jar``), ``data/lib/*.jar``, and ``VERSION``, ``immediate.sh`` and ``during-freeze.sh`` at the top.
Each jar is a small but valid zip with a manifest. The bytes depend on the tag only (fixed timestamps, stored
entries, fixed order), so a build made twice verifies against the same checksum.

The ``.sha384`` file is what ``sha384sum build-<tag>.zip`` prints: ``"<hex>  build-<tag>.zip\\n"``. The node's
extract script checks it with ``sha384sum -c``; solo reads the digest up to the first space.

Usage: ``python -m tests.sandbox.platform_build v0.75.1 DIR [--builds-layout]``. With ``--builds-layout`` the files
go to ``DIR/node/software/v0.75/`` so that ``DIR`` can be served as a builds URL with upstream's path pattern.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import io
import re
import sys
import zipfile
from pathlib import Path

_TAG = re.compile(r"^v(\d+)\.(\d+)\.(\d+)(?:-[0-9A-Za-z.-]+)?$")
_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry; any fixed value keeps the bytes stable
_FILE_MODE = 0o644 << 16
_SCRIPT_MODE = 0o755 << 16

# Jars of a services build, reduced to a handful; the names carry the version like the real ones do.
_LIB_JARS = ("hedera-node-app", "hapi", "swirlds-common", "swirlds-platform-core", "swirlds-state-impl")


@dataclasses.dataclass(frozen=True)
class PlatformBuild:
    """Files written by ``write_platform_build``."""

    zip_path: Path
    checksum_path: Path
    sha384: str  # hex digest of the zip


def parse_tag(tag: str) -> tuple[int, int, int]:
    """``v0.75.1`` -> ``(0, 75, 1)``; builds.hedera.com tags always start with ``v``."""
    match = _TAG.match(tag)
    if not match:
        raise ValueError(f"expected a release tag such as v0.75.1, got {tag!r}")
    major, minor, patch = (int(part) for part in match.groups()[:3])
    return major, minor, patch


def zip_name(tag: str) -> str:
    return f"build-{tag}.zip"


def checksum_name(tag: str) -> str:
    return f"build-{tag}.sha384"


def release_dir(tag: str) -> str:
    """The release directory of upstream's builds URL: ``v0.75.1`` -> ``v0.75``."""
    major, minor, _ = parse_tag(tag)
    return f"v{major}.{minor}"


def builds_path(tag: str) -> str:
    """The zip's path under a builds base URL, as upstream builds it: ``node/software/v0.75/build-v0.75.1.zip``."""
    return f"node/software/{release_dir(tag)}/{zip_name(tag)}"


def _add(archive: zipfile.ZipFile, name: str, data: bytes, mode: int = _FILE_MODE) -> None:
    info = zipfile.ZipInfo(name, date_time=_EPOCH)
    info.external_attr = mode
    info.create_system = 3  # unix, so the mode above is honoured by unzip
    # stored, not deflated: compressed bytes could differ between zlib versions
    archive.writestr(info, data, compress_type=zipfile.ZIP_STORED)


def _fake_jar(artifact: str, version: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as jar:
        manifest = (
            "Manifest-Version: 1.0\r\n"
            f"Implementation-Title: {artifact}\r\n"
            f"Implementation-Version: {version}\r\n"
            "Created-By: hiero.solo sandbox\r\n\r\n"
        )
        _add(jar, "META-INF/MANIFEST.MF", manifest.encode())
        _add(jar, f"{artifact.replace('-', '/')}/package-info.class", f"{artifact} {version}\n".encode())
    return buffer.getvalue()


def build_zip(tag: str) -> bytes:
    """The bytes of ``build-<tag>.zip``: the same for the same tag, different for different tags."""
    major, minor, patch = parse_tag(tag)
    version = tag[1:]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        _add(archive, "VERSION", f"VERSION={version}\nMAJOR={major}\nMINOR={minor}\nPATCH={patch}\n".encode())
        _add(archive, "immediate.sh", b"#!/usr/bin/env bash\nexit 0\n", _SCRIPT_MODE)
        _add(archive, "during-freeze.sh", b"#!/usr/bin/env bash\nexit 0\n", _SCRIPT_MODE)
        _add(archive, "data/apps/HederaNode.jar", _fake_jar("HederaNode", version))
        for artifact in _LIB_JARS:
            _add(archive, f"data/lib/{artifact}-{version}.jar", _fake_jar(artifact, version))
    return buffer.getvalue()


def checksum_text(data: bytes, filename: str) -> str:
    """``sha384sum``'s line for ``data`` saved as ``filename`` (text mode: two spaces)."""
    return f"{hashlib.sha384(data).hexdigest()}  {filename}\n"


def parse_checksum(text: str) -> tuple[str, str | None]:
    """(hex digest, file name or None) from a ``.sha384`` file; solo uses the text up to the first space."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    digest, _, rest = line.partition(" ")
    name = rest.strip().lstrip("*") or None  # sha384sum marks binary mode with '*'
    return digest.lower(), name


def write_platform_build(directory: str | Path, tag: str, *, builds_layout: bool = False) -> PlatformBuild:
    """Write ``build-<tag>.zip`` and ``build-<tag>.sha384`` into ``directory`` (or its builds-URL subdirectory)."""
    target = Path(directory)
    if builds_layout:
        target = target / "node" / "software" / release_dir(tag)
    target.mkdir(parents=True, exist_ok=True)
    data = build_zip(tag)
    zip_path = target / zip_name(tag)
    checksum_path = target / checksum_name(tag)
    zip_path.write_bytes(data)
    checksum_path.write_text(checksum_text(data, zip_path.name), encoding="ascii")
    return PlatformBuild(zip_path, checksum_path, hashlib.sha384(data).hexdigest())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tag", help="release tag, e.g. v0.75.1")
    parser.add_argument("directory", help="where to write the zip and its .sha384")
    parser.add_argument("--builds-layout", action="store_true", help="write under node/software/vMAJ.MIN/")
    args = parser.parse_args(argv)
    try:
        build = write_platform_build(args.directory, args.tag, builds_layout=args.builds_layout)
    except ValueError as exc:
        parser.error(str(exc))
    print(build.zip_path)
    print(build.checksum_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
