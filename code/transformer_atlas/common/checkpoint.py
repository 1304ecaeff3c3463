"""Checkpoints that load without unpickling: safetensors plus a digest.

Why not ``torch.save``? It writes a *pickle* (inside a zip archive), and
unpickling runs whatever the file tells it to: a pickle can name any
importable function and its arguments, and the loader calls it. Loading a
checkpoint from the internet with ``pickle`` is running a program from
the internet. (``torch.load(weights_only=True)`` restricts what may be
called, which helps, but the file is still a program for an interpreter.)

A safetensors file is data only::

    [8 bytes: N, little-endian]  [N bytes: JSON header]  [raw tensor bytes]

The header maps each tensor name to its dtype, shape and byte range in
the payload, and holds a ``__metadata__`` table of strings. Loading it
reads numbers; nothing is executed.

On top of that format, :func:`save_checkpoint`

* stores the caller's ``metadata`` (any JSON: the model config, the
  tokenizer, the training step) as one JSON string in the header;
* stores a SHA-256 digest over the header's metadata and over every
  tensor's name, dtype, shape and bytes, in sorted name order, so that
  :func:`load_checkpoint` detects a flipped byte anywhere in the file;
* writes to a temporary file next to ``path`` and renames it onto
  ``path`` (``os.replace``, atomic on one file system): an interrupted
  save leaves the previous checkpoint intact, never half a file;
* stores a tensor that appears under several names (tied weights:
  ``lm_head.weight`` is ``tok_emb.weight``) once, records the other names
  as aliases, and on load returns the *same* tensor object under every
  name, so the tie survives the round trip. Other tensors that share
  memory (views of one another) are cloned, and non-contiguous ones made
  contiguous, since the format stores each tensor as its own contiguous
  bytes.

:func:`load_checkpoint` refuses, with a :class:`CheckpointError` that says
which file, what is wrong and what to do: a missing file, a truncated
file, a corrupted header, a payload that does not match its digest, a
safetensors file not written by :func:`save_checkpoint`, and a pickle
(``torch.save``) file, which it never unpickles.

``tests/package/common/test_checkpoint.py`` checks each of these cases, flips
every byte of a small checkpoint one at a time, and shows that a
malicious pickle, which runs code under ``torch.load(weights_only=False)``,
is refused without running it.
"""

from __future__ import annotations

# --8<-- [start:imports]
import hashlib
import hmac
import json
import os
import uuid
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

# --8<-- [end:imports]

__all__ = [
    "FORMAT_KEY",
    "FORMAT_VERSION",
    "METADATA_KEY",
    "ALIASES_KEY",
    "DIGEST_KEY",
    "CheckpointError",
    "save_checkpoint",
    "load_checkpoint",
    "tensor_digest",
]

#: Header entries written by :func:`save_checkpoint` (all strings).
FORMAT_KEY = "transformer_atlas.format"
FORMAT_VERSION = "1"
METADATA_KEY = "transformer_atlas.metadata"
ALIASES_KEY = "transformer_atlas.aliases"
DIGEST_KEY = "transformer_atlas.sha256"

_ZIP_MAGIC = b"PK\x03\x04"  # torch.save's default format: a zip archive
_PICKLE_PROTO = 0x80  # first byte of a pickle of protocol 2 or later


class CheckpointError(ValueError):
    """A checkpoint file cannot be trusted or read."""


# --8<-- [start:digest]
def tensor_digest(
    tensors: Mapping[str, torch.Tensor],
    header: Mapping[str, str] | None = None,
) -> str:
    """SHA-256 (hex) of ``header`` entries, then of every tensor.

    Entries and tensors are taken in sorted name order; each tensor
    contributes its name, dtype, shape and raw bytes, so renaming,
    re-typing, reshaping or changing any byte changes the digest.
    """
    digest = hashlib.sha256()
    for key in sorted(header or {}):
        digest.update(json.dumps(["meta", key, header[key]]).encode())
        digest.update(b"\n")
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        line = ["tensor", name, str(t.dtype), list(t.shape)]
        digest.update(json.dumps(line).encode() + b"\n")
        # The bytes as uint8, without a copy (hashlib reads the buffer).
        digest.update(t.reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


# --8<-- [end:digest]


# --8<-- [start:save]
def save_checkpoint(
    path: str | os.PathLike[str],
    tensors: Mapping[str, torch.Tensor],
    metadata: Mapping[str, Any],
) -> None:
    """Write ``tensors`` and JSON ``metadata`` to ``path`` atomically.

    Args:
        path: the file to write (its folder is created if needed). An
            existing file there is replaced only once the new one is
            complete.
        tensors: name -> tensor, any shapes; e.g. ``model.state_dict()``.
            Tensors may live on any device and be views of one another.
        metadata: a JSON object with string keys (nested dicts, lists,
            numbers, strings, booleans, None). Tuples come back as lists.
    """
    path = Path(path)
    _check_tensors(tensors)
    header = {
        "format": "pt",  # what safetensors.torch itself writes
        FORMAT_KEY: FORMAT_VERSION,
        METADATA_KEY: _metadata_json(metadata),
    }
    stored, aliases = _dedupe(tensors)
    header[ALIASES_KEY] = json.dumps(aliases, sort_keys=True)
    stored = _independent(stored)
    header[DIGEST_KEY] = tensor_digest(stored, header)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        save_file(stored, tmp, metadata=header)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())  # the bytes are on disk before the rename
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # no-op once renamed


def _dedupe(
    tensors: Mapping[str, torch.Tensor],
) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Keep one name per identical view; map the others to it."""
    stored: dict[str, torch.Tensor] = {}
    aliases: dict[str, str] = {}
    first: dict[tuple, str] = {}
    for name in sorted(tensors):
        t = tensors[name]
        view = (
            t.device,
            t.untyped_storage().data_ptr(),
            t.storage_offset(),
            tuple(t.shape),
            t.stride(),
            t.dtype,
        )
        if t.numel() > 0 and view in first:
            aliases[name] = first[view]  # the same tensor under two names
        else:
            first[view] = name
            stored[name] = t
    return stored, aliases


def _independent(
    tensors: Mapping[str, torch.Tensor],
) -> dict[str, torch.Tensor]:
    """Detached, contiguous CPU tensors, no two sharing memory."""

    def storage(t: torch.Tensor) -> tuple:
        return t.device, t.untyped_storage().data_ptr()

    shared = Counter(storage(t) for t in tensors.values())
    out = {}
    for name, t in tensors.items():
        if t.device.type != "cpu":
            out[name] = t.detach().cpu().contiguous()  # a fresh copy
        elif shared[storage(t)] > 1 or not t.is_contiguous():
            out[name] = t.detach().clone(memory_format=torch.contiguous_format)
        else:
            out[name] = t.detach()
    return out


def _check_tensors(tensors: Mapping[str, torch.Tensor]) -> None:
    if not isinstance(tensors, Mapping):
        raise ValueError(
            "tensors must be a dict name -> torch.Tensor, "
            f"got {type(tensors).__name__}"
        )
    for name, t in tensors.items():
        if not isinstance(name, str) or not name or name == "__metadata__":
            raise ValueError(
                "tensor names must be non-empty strings other than "
                f"'__metadata__', got {name!r}"
            )
        if not isinstance(t, torch.Tensor):
            raise ValueError(
                f"tensors[{name!r}] must be a torch.Tensor, "
                f"got {type(t).__name__}"
            )
        if t.layout != torch.strided or t.device.type == "meta":
            raise ValueError(
                f"tensors[{name!r}] must be a dense tensor with data, "
                f"got layout {t.layout} on device {t.device}"
            )


def _metadata_json(metadata: Mapping[str, Any]) -> str:
    if not isinstance(metadata, Mapping):
        raise ValueError(
            "metadata must be a dict (a JSON object), "
            f"got {type(metadata).__name__}"
        )
    _check_string_keys(metadata, "metadata")
    try:
        return json.dumps(metadata, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ValueError(
            "metadata must be JSON (dicts with string keys, lists, "
            f"finite numbers, strings, booleans, None): {error}"
        ) from None


def _check_string_keys(obj: Any, where: str) -> None:
    """JSON would turn a key 1 into "1" silently: refuse it instead."""
    if isinstance(obj, Mapping):
        for key, value in obj.items():
            if not isinstance(key, str):
                raise ValueError(
                    f"{where} keys must be strings (JSON object keys), "
                    f"got {key!r} of type {type(key).__name__}"
                )
            _check_string_keys(value, f"{where}[{key!r}]")
    elif isinstance(obj, (list, tuple)):
        for i, value in enumerate(obj):
            _check_string_keys(value, f"{where}[{i}]")


# --8<-- [end:save]


# --8<-- [start:load]
def load_checkpoint(
    path: str | os.PathLike[str],
    *,
    device: str | torch.device = "cpu",
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Returns ``(tensors, metadata)``: tensors (sorted by name) on
    ``device``, aliased names sharing one tensor object, and the metadata
    as it was saved (through JSON). Nothing in the file is executed.

    Raises:
        CheckpointError: the file is missing, truncated, has a corrupted
            header, fails its digest, is a pickle, or was not written by
            :func:`save_checkpoint`.
    """
    path = Path(path)
    header = _read_header(path)
    meta = header.get("__metadata__")
    if not isinstance(meta, dict) or DIGEST_KEY not in meta:
        raise CheckpointError(
            f"{path}: a safetensors file, but not a transformer_atlas "
            f"checkpoint (no {DIGEST_KEY!r} digest in its metadata), so "
            "its contents cannot be verified. If you trust it, read it "
            "with safetensors.torch.load_file; to make a checkpoint, use "
            "save_checkpoint."
        )
    try:
        stored = load_file(path)
    except Exception as error:  # safetensors' own checks
        raise CheckpointError(
            f"{path}: corrupted header, safetensors refuses it ({error}). "
            "Restore the file from a backup or save it again."
        ) from None
    expected = meta[DIGEST_KEY]
    found = tensor_digest(
        stored, {k: v for k, v in meta.items() if k != DIGEST_KEY}
    )
    if not hmac.compare_digest(found, expected):
        raise CheckpointError(
            f"{path}: its contents do not match the SHA-256 digest saved "
            f"with them (expected {expected[:16]}..., got "
            f"{found[:16]}...): the file was corrupted (disk, copy, "
            "download) or modified after saving. Do not use it; restore "
            "it from a backup or save it again."
        )
    try:
        metadata = json.loads(meta[METADATA_KEY])
        aliases = json.loads(meta.get(ALIASES_KEY, "{}"))
        tensors = {name: stored[name].to(device) for name in sorted(stored)}
        for alias, target in aliases.items():
            tensors[alias] = tensors[target]
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        raise CheckpointError(
            f"{path}: its digest matches but its metadata is malformed "
            f"({error!r}); it was not written by this version of "
            "save_checkpoint."
        ) from None
    return dict(sorted(tensors.items())), metadata


def _read_header(path: Path) -> dict[str, Any]:
    """The safetensors JSON header of ``path``, after sanity checks."""
    if not path.exists():
        raise CheckpointError(
            f"{path}: no such file. Check the path (checkpoints are "
            "written by save_checkpoint, e.g. by `python -m "
            "transformer_atlas train gpt`)."
        )
    if not path.is_file():
        raise CheckpointError(f"{path}: not a file; pass a checkpoint file")
    size = path.stat().st_size
    with open(path, "rb") as f:
        prefix = f.read(8)
        _refuse_pickle(path, prefix)
        if size < 8:
            raise CheckpointError(
                f"{path}: {size} bytes, shorter than the 8-byte header "
                "length of a safetensors file: truncated or not a "
                "checkpoint. Save it again."
            )
        n = int.from_bytes(prefix, "little")
        if n > size - 8:
            first = f.read(1)
            what = (
                "truncated inside its header"
                if first == b"{"
                else "not a safetensors file"
            )
            raise CheckpointError(
                f"{path}: {what} (its first 8 bytes declare a {n}-byte "
                f"header but only {size - 8} bytes follow). Restore it "
                "from a backup or save it again."
            )
        raw = f.read(n)
    try:
        header = json.loads(raw.decode("utf-8"))
        if not isinstance(header, dict):
            raise ValueError(f"a JSON {type(header).__name__}, not object")
        end = max(
            (
                _byte_range(v)[1]
                for k, v in header.items()
                if k != "__metadata__"
            ),
            default=0,
        )
    except (UnicodeDecodeError, ValueError, TypeError) as error:
        raise CheckpointError(
            f"{path}: corrupted header ({error}); expected the JSON "
            "header of a safetensors file. Restore the file from a "
            "backup or save it again."
        ) from None
    if size != 8 + n + end:
        what = "truncated" if size < 8 + n + end else "has extra bytes"
        raise CheckpointError(
            f"{path}: {what}: its header describes {8 + n + end} bytes, "
            f"the file has {size}. Restore it from a backup or save it "
            "again."
        )
    return header


def _byte_range(entry: Any) -> tuple[int, int]:
    """``data_offsets`` of one tensor entry of a safetensors header."""
    offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(type(o) is int and o >= 0 for o in offsets)
    ):
        raise ValueError(f"bad tensor entry {str(entry)[:80]}")
    return offsets[0], offsets[1]


def _refuse_pickle(path: Path, prefix: bytes) -> None:
    if prefix.startswith(_ZIP_MAGIC):
        kind = "a zip archive, as torch.save writes (a pickle inside)"
    elif prefix[:1] == bytes([_PICKLE_PROTO]) and prefix[1:2] in (
        b"\x02",
        b"\x03",
        b"\x04",
        b"\x05",
    ):
        kind = "a pickle (legacy torch.save or pickle.dump)"
    else:
        return
    raise CheckpointError(
        f"{path}: {kind}, not a safetensors checkpoint. Pickled "
        "checkpoints are refused on purpose: unpickling can run arbitrary "
        "code. If you made the file yourself and trust it, convert it "
        "once: tensors = torch.load(path, weights_only=True), then "
        "save_checkpoint(new_path, tensors, metadata)."
    )


# --8<-- [end:load]
