"""Cached, checksummed, atomic downloads.

:func:`download` fetches a URL once into a cache folder
(:func:`default_cache_dir`), checks the bytes against a SHA-256 written in
the code that asks for them, and only then renames them into place: a
truncated or tampered download is deleted, never used, and a cached file
with the wrong checksum is fetched again. :class:`DownloadError` says what
to do when the machine is offline.

``tests/package/common/test_download.py`` checks all of this without the
internet: it serves files from a local ``http.server`` and ``file://``
URLs.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request
import uuid
import warnings
from pathlib import Path
from typing import BinaryIO

from tqdm import tqdm

__all__ = ["DownloadError", "default_cache_dir", "download"]

_CHUNK = 1 << 16  # bytes read at a time when downloading and hashing


class DownloadError(OSError):
    """A download failed: no connection, an HTTP error or a bad checksum."""


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/transformer_atlas``, else ``~/.cache/...``.

    A relative ``XDG_CACHE_HOME`` is ignored, as the XDG spec asks.
    """
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = (
        Path(xdg)
        if xdg and Path(xdg).is_absolute()
        else (Path.home() / ".cache")
    )
    return base / "transformer_atlas"


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def download(
    url: str,
    sha256: str,
    dest: Path,
    *,
    timeout: float = 30.0,
    progress: bool = True,
) -> Path:
    """Download ``url`` to ``dest`` unless it is there already; return it.

    * Cached: if ``dest`` exists with the right SHA-256, nothing is fetched.
      If it exists with a wrong one (a stale or edited copy), a warning is
      issued and the file is downloaded again; the old copy is replaced
      only once the new one checks out.
    * Atomic: bytes go to a temporary file next to ``dest``, which is
      renamed onto ``dest`` (``os.replace``) only after its checksum
      matched, so ``dest`` is never a partial file.
    * On a checksum mismatch or a failed connection the temporary file is
      deleted and :class:`DownloadError` says what to do.
    """
    sha256 = sha256.lower()
    if len(sha256) != 64 or set(sha256) - set("0123456789abcdef"):
        raise ValueError(
            f"sha256 must be 64 hexadecimal digits, got {sha256!r}"
        )
    dest = Path(dest)
    if dest.is_file():
        found = _sha256_of(dest)
        if found == sha256:
            return dest
        warnings.warn(
            f"cached {dest} has sha256 {found}, expected {sha256}; "
            f"downloading it again from {url}",
            RuntimeWarning,
            stacklevel=2,
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.part")
    try:
        with open(tmp, "xb") as out:
            found = _fetch(url, out, dest, timeout, progress)
        if found != sha256:
            raise DownloadError(
                f"checksum mismatch for {url}: expected sha256 {sha256}, "
                f"got {found}. The download was deleted and {dest} left "
                "as it was. The server may have sent an error page or a "
                "changed file: retry, or download it yourself and pass "
                "its path instead."
            )
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)  # no-op once renamed
    return dest


_NETWORK_ERRORS = (urllib.error.URLError, http.client.HTTPException, OSError)


def _fetch(
    url: str, out: BinaryIO, dest: Path, timeout: float, progress: bool
) -> str:
    """Stream ``url`` into the open file ``out``; return the bytes' SHA-256."""
    digest = hashlib.sha256()
    try:
        response = urllib.request.urlopen(url, timeout=timeout)
    except _NETWORK_ERRORS as error:
        raise _offline_error(url, dest, error) from error
    length = response.headers.get("Content-Length")
    received = 0
    with (
        response,
        tqdm(
            total=int(length) if length else None,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=f"downloading {dest.name}",
            disable=not progress,
        ) as bar,
    ):
        while True:
            try:
                chunk = response.read(_CHUNK)
            except _NETWORK_ERRORS as error:
                raise _offline_error(url, dest, error) from error
            if not chunk:
                break
            digest.update(chunk)
            out.write(chunk)  # a full disk raises its own OSError
            received += len(chunk)
            bar.update(len(chunk))
    if length and received != int(length):
        raise DownloadError(
            f"the connection to {url} closed after {received} of "
            f"{length} bytes. The partial file was deleted; retry."
        )
    return digest.hexdigest()


def _offline_error(url: str, dest: Path, error: Exception) -> DownloadError:
    if isinstance(error, urllib.error.HTTPError):
        reason: object = error  # "HTTP Error 404: Not Found"
    else:
        reason = getattr(error, "reason", None) or error
    return DownloadError(
        f"could not download {url}: {reason}. If this machine is offline, "
        "get the file elsewhere and pass its path instead (for example "
        "load_corpus('path/to/file.txt'), or that path as the corpus on "
        f"the command line), or copy it to {dest}."
    )
