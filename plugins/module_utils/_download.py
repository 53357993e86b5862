# Private to the hiero.solo collection: internal API, may change at any time; do not import from other collections.
"""The consensus node platform build: fetch ``build-<tag>.zip`` and its ``.sha384``, verify, cache.

Upstream (solo-spec §3.8, ``package-downloader.ts``) downloads ``https://builds.hedera.com/node/software/<vMAJ.MIN>/
build-<tag>.zip`` and ``build-<tag>.sha384`` into ``~/.solo/cache/<vMAJ.MIN>/staging/<tag>/build/`` and reuses a
cached zip whose checksum matches. The checksum file holds ``<hex digest>  <file name>`` (sha384sum's format); only
the first word counts.

Here a source is an http(s) URL, a ``file://`` URL or a local path. Remote files are downloaded into the cache
directory under a lock (parallel runs download once), hashed while they arrive, and renamed into place only once
verified, so the cache never holds a partial or corrupt build. Local files are verified where they are (the cache
exists to avoid the network). A mismatch names the file and both checksums.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO
from urllib.parse import unquote, urlparse

from ansible_collections.hiero.solo.plugins.module_utils._errors import HieroError, InputError

ALGORITHM = "sha384"
DIGEST_HEX_LENGTH = 96
CHUNK = 1024 * 1024
DEFAULT_TIMEOUT_S = 60
_DIGEST_RE = re.compile(rf"^[0-9a-fA-F]{{{DIGEST_HEX_LENGTH}}}$")

Opener = Callable[..., Any]  # urllib.request.urlopen's signature: (url, timeout=...) -> response


class ChecksumMismatch(HieroError):
    """A build file's SHA-384 differs from its checksum file."""


@dataclass(frozen=True)
class PlatformBuild:
    """A verified build: where the zip and its checksum file are, the digest, and whether this call fetched it."""

    build_path: str
    checksum_path: str
    sha384: str
    downloaded: bool
    source: str  # "url" (fetched into the cache) or "path" (a local file verified in place)

    def to_dict(self) -> dict[str, Any]:
        return {
            "build_path": self.build_path,
            "checksum_path": self.checksum_path,
            "sha384": self.sha384,
            "downloaded": self.downloaded,
            "source": self.source,
        }


# ---------------------------------------------------------------------------------------------------------------
# Sources


def is_remote(source: str) -> bool:
    return urlparse(source).scheme.lower() in ("http", "https")


def local_path(source: str) -> str:
    """The file a ``file://`` URL or a path names (``~`` expanded, absolute)."""
    if source.startswith("file://"):
        parsed = urlparse(source)
        if parsed.netloc not in ("", "localhost"):
            raise InputError("build_url", f"a file:// URL must name a local file, got {source!r}")
        source = unquote(parsed.path)
    return os.path.abspath(os.path.expanduser(source))


def checksum_source_for(build_source: str) -> str:
    """``…/build-v0.75.1.zip`` → ``…/build-v0.75.1.sha384`` (upstream's naming)."""
    if not build_source.endswith(".zip"):
        raise InputError("build_url", f"expected the build zip (ending in .zip), got {build_source!r}")
    return build_source[: -len(".zip")] + ".sha384"


def _file_name(source: str) -> str:
    name = os.path.basename(urlparse(source).path if is_remote(source) else local_path(source))
    if not name:
        raise InputError("build_url", f"cannot tell the file name from {source!r}")
    return name


# ---------------------------------------------------------------------------------------------------------------
# Checksums


def parse_checksum(text: str, where: str) -> str:
    """The digest in a checksum file (first word, as upstream reads it), lower case."""
    words = (text or "").split()
    digest = words[0] if words else ""
    if not _DIGEST_RE.match(digest):
        shown = digest[:40] + ("..." if len(digest) > 40 else "")
        raise HieroError(
            f"{where} is not a SHA-384 checksum file: expected {DIGEST_HEX_LENGTH} hex digits first, got {shown!r}"
        )
    return digest.lower()


def read_checksum(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return parse_checksum(handle.read(4096), f"checksum file {path}")
    except FileNotFoundError:
        raise HieroError(f"checksum file {path} does not exist") from None
    except OSError as exc:
        raise HieroError(f"cannot read checksum file {path}: {exc}") from exc


def file_sha384(path: str) -> str:
    digest = hashlib.sha384()
    try:
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(CHUNK), b""):
                digest.update(chunk)
    except FileNotFoundError:
        raise HieroError(f"platform build {path} does not exist") from None
    except OSError as exc:
        raise HieroError(f"cannot read platform build {path}: {exc}") from exc
    return digest.hexdigest()


def mismatch(path: str, checksum_path: str, expected: str, actual: str) -> ChecksumMismatch:
    return ChecksumMismatch(
        f"platform build {path} is corrupt: its SHA-384 is {actual}, but {checksum_path} expects {expected}",
        build_path=path,
        checksum_path=checksum_path,
        expected_sha384=expected,
        actual_sha384=actual,
    )


def verify_build(build_path: str, checksum_path: str) -> str:
    """Return the build's digest when it matches its checksum file; raise ChecksumMismatch otherwise."""
    expected = read_checksum(checksum_path)
    actual = file_sha384(build_path)
    if actual != expected:
        raise mismatch(build_path, checksum_path, expected, actual)
    return actual


def _cached(build_path: str, checksum_path: str) -> str | None:
    """The digest of a cached build that verifies, else None (absent, partial or corrupt: fetch again)."""
    if not (os.path.isfile(build_path) and os.path.isfile(checksum_path)):
        return None
    try:
        return verify_build(build_path, checksum_path)
    except HieroError:
        return None


# ---------------------------------------------------------------------------------------------------------------
# Fetching


@contextlib.contextmanager
def _lock(directory: str, name: str) -> Iterator[None]:
    """An exclusive lock per file, so parallel runs download a build once and never see each other's temp files."""
    path = os.path.join(directory, f".{name}.lock")
    with open(path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _open(source: str, opener: Opener, timeout_s: float) -> BinaryIO:
    try:
        return opener(source, timeout=timeout_s)
    except urllib.error.HTTPError as exc:
        raise HieroError(f"cannot download {source}: HTTP {exc.code} {exc.reason}") from exc
    except urllib.error.URLError as exc:
        raise HieroError(f"cannot download {source}: {exc.reason}") from exc
    except (OSError, ValueError) as exc:
        raise HieroError(f"cannot download {source}: {exc}") from exc


def _download(source: str, directory: str, opener: Opener, timeout_s: float) -> tuple[str, str]:
    """Fetch ``source`` into a new temporary file in ``directory``; return (temp path, sha384 of the content)."""
    digest = hashlib.sha384()
    fd, temp = tempfile.mkstemp(prefix=".download-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as out, contextlib.closing(_open(source, opener, timeout_s)) as response:
            while True:
                try:
                    chunk = response.read(CHUNK)
                except (OSError, ValueError) as exc:
                    raise HieroError(f"cannot download {source}: {exc}") from exc
                if not chunk:
                    break
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    return temp, digest.hexdigest()


def _fsync_dir(directory: str) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def fetch_platform_build(
    build_url: str,
    checksum_url: str | None,
    download_dir: str,
    *,
    opener: Opener = urllib.request.urlopen,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    check_mode: bool = False,
) -> PlatformBuild:
    """Make a verified copy of the build available and say where.

    Local sources (path or ``file://``) are verified in place. Remote ones land in ``download_dir`` as
    ``<name>.zip`` and ``<name>.sha384``; a cached pair that verifies is reused (``downloaded`` False). In check
    mode nothing is fetched or written: the result says where the build would be (``sha384`` empty when unknown).
    """
    checksum_url = checksum_url or checksum_source_for(build_url)
    if not is_remote(build_url):
        build_path, checksum_path = local_path(build_url), local_path(checksum_url)
        if is_remote(checksum_url):
            raise InputError("checksum_url", "must be local too when the build is a local file")
        return PlatformBuild(build_path, checksum_path, verify_build(build_path, checksum_path), False, "path")

    directory = os.path.abspath(os.path.expanduser(download_dir))
    build_path = os.path.join(directory, _file_name(build_url))
    checksum_path = os.path.join(directory, _file_name(checksum_url))
    if build_path == checksum_path:
        raise InputError("checksum_url", f"names the same file as build_url ({build_path})")
    cached = _cached(build_path, checksum_path)
    if cached is not None:
        return PlatformBuild(build_path, checksum_path, cached, False, "url")
    if check_mode:
        return PlatformBuild(build_path, checksum_path, "", True, "url")

    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as exc:
        raise HieroError(f"cannot create the download directory {directory}: {exc}") from exc
    with _lock(directory, os.path.basename(build_path)):
        cached = _cached(build_path, checksum_path)  # another run may have fetched it while we waited
        if cached is not None:
            return PlatformBuild(build_path, checksum_path, cached, False, "url")
        checksum_temp, _ = _download(checksum_url, directory, opener, timeout_s)
        try:
            with open(checksum_temp, encoding="utf-8", errors="replace") as handle:
                expected = parse_checksum(handle.read(4096), f"checksum file {checksum_url}")
            build_temp, actual = _download(build_url, directory, opener, timeout_s)
            try:
                if actual != expected:
                    raise mismatch(build_url, checksum_url, expected, actual)
                # The zip first: a checksum file without its zip is never taken for a verified cache entry.
                os.replace(build_temp, build_path)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(build_temp)
                raise
            os.replace(checksum_temp, checksum_path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(checksum_temp)
            raise
        _fsync_dir(directory)
    return PlatformBuild(build_path, checksum_path, actual, True, "url")
