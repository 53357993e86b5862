"""The platform build download: verification, the cache, atomic placement, and what a mismatch says.

Remote sources are served by a real HTTP server on 127.0.0.1, so the production urlopen path runs.
"""

from __future__ import annotations

import hashlib
import http.server
import threading
from pathlib import Path

import pytest

from ansible_collections.hiero.solo.plugins.module_utils._download import (
    ChecksumMismatch,
    fetch_platform_build,
    parse_checksum,
    verify_build,
)
from ansible_collections.hiero.solo.plugins.module_utils._errors import HieroError

ZIP = b"PK\x03\x04 a tiny platform build " * 1000
DIGEST = hashlib.sha384(ZIP).hexdigest()


class Server:
    def __init__(self, files: dict[str, bytes]):
        self.files = files
        self.requests: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append(self.path)
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404, "Not Found")
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    served = Server(
        {
            "/v0.75/build-v0.75.1.zip": ZIP,
            "/v0.75/build-v0.75.1.sha384": f"{DIGEST}  build-v0.75.1.zip\n".encode(),
            "/bad/build-v0.75.1.zip": ZIP + b"corrupted",
            "/bad/build-v0.75.1.sha384": f"{DIGEST}  build-v0.75.1.zip\n".encode(),
        }
    )
    yield served
    served.stop()


def test_a_checksum_file_is_read_as_upstream_reads_it():
    assert parse_checksum(f"{DIGEST.upper()}  build-v0.75.1.zip\n", "f") == DIGEST
    with pytest.raises(HieroError, match="not a SHA-384 checksum file"):
        parse_checksum("deadbeef  x.zip", "f")


def test_a_download_is_verified_and_cached(server, tmp_path):
    cache = tmp_path / "cache"
    build = fetch_platform_build(server.url("/v0.75/build-v0.75.1.zip"), None, str(cache))
    assert build.downloaded and build.source == "url" and build.sha384 == DIGEST
    assert Path(build.build_path) == cache / "build-v0.75.1.zip"
    assert Path(build.build_path).read_bytes() == ZIP
    assert Path(build.checksum_path).read_text().startswith(DIGEST)
    assert sorted(p.name for p in cache.iterdir() if not p.name.startswith(".")) == [
        "build-v0.75.1.sha384",
        "build-v0.75.1.zip",
    ]

    server.requests.clear()
    again = fetch_platform_build(server.url("/v0.75/build-v0.75.1.zip"), None, str(cache))
    assert not again.downloaded and again.sha384 == DIGEST
    assert server.requests == [], "a verified cached build is reused without a request"


def test_a_corrupt_cached_build_is_fetched_again(server, tmp_path):
    build = fetch_platform_build(server.url("/v0.75/build-v0.75.1.zip"), None, str(tmp_path))
    Path(build.build_path).write_bytes(b"half a file")
    again = fetch_platform_build(server.url("/v0.75/build-v0.75.1.zip"), None, str(tmp_path))
    assert again.downloaded and Path(again.build_path).read_bytes() == ZIP


def test_a_corrupt_download_fails_naming_the_file_and_both_checksums_and_leaves_nothing(server, tmp_path):
    url = server.url("/bad/build-v0.75.1.zip")
    with pytest.raises(ChecksumMismatch) as caught:
        fetch_platform_build(url, None, str(tmp_path))
    msg = str(caught.value)
    actual = hashlib.sha384(ZIP + b"corrupted").hexdigest()
    assert url in msg and DIGEST in msg and actual in msg
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")] == []
    assert not any(p.name.startswith(".download-") for p in tmp_path.iterdir()), "temporary files are removed"


def test_a_missing_file_on_the_server_says_which_url_and_status(server, tmp_path):
    with pytest.raises(
        HieroError, match=r"cannot download http://127\.0\.0\.1:\d+/nope/build-v1\.0\.0\.sha384: HTTP 404"
    ):
        fetch_platform_build(server.url("/nope/build-v1.0.0.zip"), None, str(tmp_path))


def test_check_mode_fetches_nothing(server, tmp_path):
    build = fetch_platform_build(server.url("/v0.75/build-v0.75.1.zip"), None, str(tmp_path / "c"), check_mode=True)
    assert build.downloaded and build.sha384 == ""
    assert server.requests == [] and not (tmp_path / "c").exists()


def test_a_local_build_is_verified_in_place(tmp_path):
    local = tmp_path / "build-v0.75.1.zip"
    local.write_bytes(ZIP)
    (tmp_path / "build-v0.75.1.sha384").write_text(f"{DIGEST}  build-v0.75.1.zip\n")
    for source in (str(local), f"file://{local}"):
        build = fetch_platform_build(source, None, str(tmp_path / "unused"))
        assert (build.build_path, build.downloaded, build.source) == (str(local), False, "path")
    assert not (tmp_path / "unused").exists()


def test_a_corrupt_local_build_names_file_and_checksums(tmp_path):
    local = tmp_path / "build-v0.75.1.zip"
    local.write_bytes(ZIP[:-1])
    checksum = tmp_path / "build-v0.75.1.sha384"
    checksum.write_text(f"{DIGEST}  build-v0.75.1.zip\n")
    with pytest.raises(ChecksumMismatch) as caught:
        verify_build(str(local), str(checksum))
    assert str(local) in str(caught.value) and str(checksum) in str(caught.value)
    assert DIGEST in str(caught.value) and hashlib.sha384(ZIP[:-1]).hexdigest() in str(caught.value)
    assert caught.value.result["expected_sha384"] == DIGEST


def test_parallel_fetches_download_once(server, tmp_path):
    results = []

    def fetch():
        results.append(fetch_platform_build(server.url("/v0.75/build-v0.75.1.zip"), None, str(tmp_path)))

    threads = [threading.Thread(target=fetch) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(build.downloaded for build in results) == 1
    assert server.requests.count("/v0.75/build-v0.75.1.zip") == 1
