"""Cached, checksummed, atomic downloads (``transformer_atlas.common.download``), offline.

A local ``http.server`` on 127.0.0.1 and ``file://`` URLs stand in for the internet: a cached
file is never fetched again, a bad checksum or a cut connection leaves nothing behind, and an
offline machine gets an error that says how to pass a local file instead.
"""

from __future__ import annotations

import hashlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from transformer_atlas.common.download import (
    DownloadError,
    default_cache_dir,
    download,
)

BODY = ("Größe, café — 東京. " * 500).encode()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _leftovers(folder: Path) -> list[str]:
    """Temporary files a download may have left in ``folder``."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``files`` by path; ``/cut`` promises more than it sends."""

    files: dict[str, bytes] = {}
    requests: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.requests.append(self.path)
        if self.path == "/cut":
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"only the start of the file")
            self.wfile.flush()
            self.close_connection = True
            return
        body = self.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:  # keep pytest quiet
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, type[_Handler]]]:
    """A local HTTP server on 127.0.0.1: (base URL, handler class)."""
    handler = type("Handler", (_Handler,), {"files": {}, "requests": []})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", handler
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_default_cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "transformer_atlas"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    home_cache = tmp_path / "home" / ".cache" / "transformer_atlas"
    assert default_cache_dir() == home_cache
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir() == home_cache


def test_download_then_cache(server, tmp_path: Path) -> None:
    base, handler = server
    handler.files["/a.txt"] = BODY
    dest = tmp_path / "cache" / "a.txt"
    assert download(f"{base}/a.txt", _sha(BODY), dest, progress=False) == dest
    assert dest.read_bytes() == BODY
    assert handler.requests == ["/a.txt"]
    # Second call: the file is there with the right checksum, no request.
    download(f"{base}/a.txt", _sha(BODY).upper(), dest, progress=False)
    assert handler.requests == ["/a.txt"]
    assert _leftovers(dest.parent) == []


def test_download_with_progress_bar(
    server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, handler = server
    handler.files["/a.txt"] = BODY
    download(f"{base}/a.txt", _sha(BODY), tmp_path / "a.txt")
    assert "downloading a.txt" in capsys.readouterr().err


def test_download_file_url(tmp_path: Path) -> None:
    source = tmp_path / "source.txt"
    source.write_bytes(BODY)
    dest = tmp_path / "dest.txt"
    download(source.as_uri(), _sha(BODY), dest, progress=False)
    assert dest.read_bytes() == BODY


def test_checksum_mismatch_leaves_nothing(server, tmp_path: Path) -> None:
    base, handler = server
    handler.files["/a.txt"] = BODY
    dest = tmp_path / "a.txt"
    with pytest.raises(DownloadError, match="checksum mismatch") as info:
        download(f"{base}/a.txt", "0" * 64, dest, progress=False)
    assert _sha(BODY) in str(info.value)  # what came
    assert not dest.exists()
    assert _leftovers(tmp_path) == []


def test_cut_connection_leaves_nothing(server, tmp_path: Path) -> None:
    base, _ = server
    dest = tmp_path / "a.txt"
    with pytest.raises(DownloadError, match="closed after 26 of 100000"):
        download(f"{base}/cut", _sha(BODY), dest, progress=False)
    assert not dest.exists()
    assert _leftovers(tmp_path) == []


def test_http_error(server, tmp_path: Path) -> None:
    base, _ = server
    with pytest.raises(DownloadError, match="HTTP Error 404"):
        download(f"{base}/missing", _sha(BODY), tmp_path / "a", progress=False)
    assert list(tmp_path.iterdir()) == []


def test_offline_error_says_how_to_pass_a_local_file(tmp_path: Path) -> None:
    dest = tmp_path / "a.txt"
    with pytest.raises(DownloadError) as info:
        download("http://127.0.0.1:9/a.txt", _sha(BODY), dest, timeout=5, progress=False)
    message = str(info.value)
    assert "could not download http://127.0.0.1:9/a.txt" in message
    assert "offline" in message and "pass its path instead" in message
    assert str(dest) in message
    assert isinstance(info.value, OSError)
    assert list(tmp_path.iterdir()) == []


def test_wrong_cached_file_is_downloaded_again(server, tmp_path: Path) -> None:
    base, handler = server
    handler.files["/a.txt"] = BODY
    dest = tmp_path / "a.txt"
    dest.write_bytes(BODY[:-1])  # a stale, truncated copy
    with pytest.warns(RuntimeWarning, match="downloading it again"):
        download(f"{base}/a.txt", _sha(BODY), dest, progress=False)
    assert dest.read_bytes() == BODY
    assert handler.requests == ["/a.txt"]


def test_wrong_cached_file_offline_is_never_returned(tmp_path: Path) -> None:
    dest = tmp_path / "a.txt"
    dest.write_bytes(b"stale")
    with pytest.warns(RuntimeWarning), pytest.raises(DownloadError):
        download("http://127.0.0.1:9/a.txt", _sha(BODY), dest, timeout=5, progress=False)
    assert dest.read_bytes() == b"stale"  # untouched, and not returned


def test_bad_sha256_argument(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="64 hexadecimal digits, got 'abc'"):
        download("file:///nowhere", "abc", tmp_path / "a")
