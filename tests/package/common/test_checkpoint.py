"""Checkpoints: round trips, and every way a file can be refused.

* Round trip of float32, bfloat16, float16, int64, uint8 and bool tensors
  (0-d, empty, non-contiguous, views of one another) and nested JSON
  metadata; the file is read back independently with ``safetensors``'
  own ``safe_open`` (the oracle) and its digest recomputed here with
  ``hashlib`` from the raw bytes.
* Tied weights (one tensor under two names) are stored once and come
  back as one tensor object; a model reloads with ``strict=True``.
* Atomic saves: a save interrupted half-way leaves the old checkpoint.
* Refusals, each a ``CheckpointError`` naming the file: missing,
  truncated (at every length), corrupted header, any single flipped byte
  anywhere in the file, appended bytes, a plain safetensors file, and
  pickles (``torch.save`` zip and legacy formats, ``pickle.dump``).
* A malicious pickle whose unpickling creates a marker folder: refused,
  and the marker does not exist; the control shows ``torch.load`` with
  ``weights_only=False`` does run it.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

from transformer_atlas.common import checkpoint as checkpoint_module
from transformer_atlas.common.checkpoint import (
    ALIASES_KEY,
    DIGEST_KEY,
    METADATA_KEY,
    CheckpointError,
    load_checkpoint,
    save_checkpoint,
    tensor_digest,
)

METADATA = {
    "config": {
        "vocab_size": 65,
        "d_model": 64,
        "norm": "rms",
        "dropout": 0.1,
        "bias": False,
        "rope_base": None,
    },
    "tokenizer": '{"type": "char", "chars": "ab"}',
    "history": [{"step": 0, "loss": 4.17}, {"step": 100, "loss": 2.5}],
    "note": "Größe 東京 😀",
    "big": 2**62,
}


def _tensors() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {
        "f32": torch.randn(3, 4, generator=g),
        "bf16": torch.randn(5, generator=g).to(torch.bfloat16),
        "f16": torch.randn(2, 2, generator=g).to(torch.float16),
        "i64": torch.arange(-5, 7).reshape(3, 4) * 2**40,
        "u8": torch.arange(256, dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
        "scalar": torch.tensor(3.5),
        "empty": torch.zeros(0, 7),
    }


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    path = tmp_path / "model.safetensors"
    save_checkpoint(path, _tensors(), METADATA)
    return path


def _expect_error(path: Path, *fragments: str) -> str:
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")  # names the file
    for fragment in fragments:
        assert fragment in message, message
    return message


# ------------------------------------------------------------ round trip


def test_round_trip(saved: Path) -> None:
    tensors, metadata = load_checkpoint(saved)
    expected = _tensors()
    assert list(tensors) == sorted(expected)
    for name, t in expected.items():
        assert _same(tensors[name], t), name
    assert metadata == METADATA
    assert list(metadata) == list(METADATA)  # key order kept


def test_file_is_plain_safetensors(saved: Path) -> None:
    """Oracle: safetensors' own reader, and the digest recomputed here."""
    with safe_open(str(saved), framework="pt") as f:
        header = f.metadata()
        read = {name: f.get_tensor(name) for name in f.keys()}
    for name, t in _tensors().items():
        assert _same(read[name], t), name
    assert json.loads(header[METADATA_KEY]) == METADATA
    assert header["format"] == "pt"
    digest = hashlib.sha256()
    for key in sorted(k for k in header if k != DIGEST_KEY):
        digest.update(json.dumps(["meta", key, header[key]]).encode())
        digest.update(b"\n")
    for name in sorted(read):
        t = read[name]
        digest.update(json.dumps(["tensor", name, str(t.dtype), list(t.shape)]).encode() + b"\n")
        digest.update(bytes(t.reshape(-1).view(torch.uint8).tolist()))
    assert header[DIGEST_KEY] == digest.hexdigest()


def test_digest_sees_names_dtypes_shapes_and_bytes() -> None:
    t = {"w": torch.arange(6, dtype=torch.int32)}
    base = tensor_digest(t)
    assert tensor_digest(dict(reversed(list(t.items())))) == base
    changed = [
        {"v": t["w"]},
        {"w": t["w"].view(torch.float32)},  # same bytes, other dtype
        {"w": t["w"].reshape(2, 3)},  # same bytes, other shape
        {"w": t["w"] + torch.tensor([0, 0, 0, 0, 0, 1], dtype=torch.int32)},
    ]
    digests = {tensor_digest(c) for c in changed}
    assert len(digests) == 4 and base not in digests
    assert tensor_digest(t, {"a": "1"}) != tensor_digest(t, {"a": "2"})


def test_views_and_non_contiguous_tensors(tmp_path: Path) -> None:
    """Shared storage is cloned, non-contiguous tensors made contiguous."""
    base = torch.arange(24.0).reshape(4, 6)
    tensors = {
        "base": base,
        "transposed": base.T,  # non-contiguous view
        "row": base[1],  # a contiguous view into base's storage
        "column": base[:, 2],  # a strided view
    }
    path = tmp_path / "views.safetensors"
    save_checkpoint(path, tensors, {})
    loaded, metadata = load_checkpoint(path)
    assert metadata == {}
    for name, t in tensors.items():
        assert _same(loaded[name], t), name
    loaded["base"].zero_()  # the loaded tensors are independent
    assert loaded["row"].sum() == base[1].sum() != 0
    assert torch.equal(base, torch.arange(24.0).reshape(4, 6))


class _Tied(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.tok_emb = nn.Embedding(11, 4)
        self.lm_head = nn.Linear(4, 11, bias=False)
        self.lm_head.weight = self.tok_emb.weight  # tied


def test_tied_weights_are_stored_once_and_stay_tied(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = _Tied()
    state = model.state_dict()
    assert state["tok_emb.weight"] is not state["lm_head.weight"]
    assert state["tok_emb.weight"].data_ptr() == (state["lm_head.weight"].data_ptr())
    path = tmp_path / "tied.safetensors"
    save_checkpoint(path, state, {"tied": True})
    with safe_open(str(path), framework="pt") as f:
        assert list(f.keys()) == ["lm_head.weight"]  # first in sorted order
        assert json.loads(f.metadata()[ALIASES_KEY]) == {"tok_emb.weight": "lm_head.weight"}
    loaded, _ = load_checkpoint(path)
    assert loaded["tok_emb.weight"] is loaded["lm_head.weight"]
    fresh = _Tied()
    fresh.load_state_dict(loaded, strict=True)
    assert fresh.lm_head.weight is fresh.tok_emb.weight
    assert torch.equal(fresh.tok_emb.weight, model.tok_emb.weight)


def test_parameters_with_grad_and_a_new_folder(tmp_path: Path) -> None:
    p = nn.Parameter(torch.ones(3))
    path = tmp_path / "new" / "folder" / "p.safetensors"
    save_checkpoint(path, {"p": p}, {"step": 1})
    loaded, _ = load_checkpoint(path)
    assert not loaded["p"].requires_grad and torch.equal(loaded["p"], p)
    assert sorted(os.listdir(path.parent)) == ["p.safetensors"]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU")
def test_gpu_tensors(tmp_path: Path) -> None:
    w = torch.randn(3, 3, device="cuda")
    path = tmp_path / "gpu.safetensors"
    save_checkpoint(path, {"w": w, "w_tied": w}, {})
    loaded, _ = load_checkpoint(path, device="cuda")
    assert loaded["w"].is_cuda and torch.equal(loaded["w"], w)
    assert loaded["w_tied"] is loaded["w"]


# ---------------------------------------------------------- atomic save


def test_interrupted_save_keeps_the_old_checkpoint(
    saved: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = saved.read_bytes()

    def half_save(tensors, filename, metadata=None):
        save_file(tensors, filename, metadata=metadata)
        data = Path(filename).read_bytes()
        Path(filename).write_bytes(data[: len(data) // 2])
        raise KeyboardInterrupt  # e.g. Ctrl-C during the write

    monkeypatch.setattr(checkpoint_module, "save_file", half_save)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(saved, {"new": torch.zeros(100)}, {"step": 2})
    assert saved.read_bytes() == before
    assert os.listdir(saved.parent) == [saved.name]  # no temp file left
    assert load_checkpoint(saved)[1] == METADATA


def test_overwrite(saved: Path) -> None:
    save_checkpoint(saved, {"x": torch.ones(2)}, {"step": 2})
    tensors, metadata = load_checkpoint(saved)
    assert list(tensors) == ["x"] and metadata == {"step": 2}
    assert os.listdir(saved.parent) == [saved.name]


@pytest.mark.parametrize(
    ("tensors", "metadata", "message"),
    [
        (
            {"w": torch.ones(1)},
            {"a": {1: "x"}},
            r"metadata\['a'\] keys must "
            r"be strings.*got 1 of type int",
        ),
        ({"w": torch.ones(1)}, {"loss": float("nan")}, "finite numbers"),
        ({"w": torch.ones(1)}, {"s": {1, 2}}, "metadata must be JSON"),
        ({"w": torch.ones(1)}, [1, 2], "must be a dict.*got list"),
        ([torch.ones(1)], {}, "dict name -> torch.Tensor, got list"),
        ({"w": [1.0]}, {}, r"tensors\['w'\] must be a torch.Tensor, got list"),
        ({"__metadata__": torch.ones(1)}, {}, "other than '__metadata__'"),
        ({"w": torch.ones(2).to_sparse()}, {}, "dense tensor"),
    ],
)
def test_save_errors(tmp_path: Path, tensors, metadata, message: str) -> None:
    path = tmp_path / "x.safetensors"
    with pytest.raises(ValueError, match=message):
        save_checkpoint(path, tensors, metadata)
    assert not path.exists()


# ------------------------------------------------------------- refusals


def test_missing_file(tmp_path: Path) -> None:
    _expect_error(tmp_path / "nope.safetensors", "no such file")
    assert issubclass(CheckpointError, ValueError)


def test_directory(tmp_path: Path) -> None:
    _expect_error(tmp_path, "not a file")


def test_truncated_at_every_length(saved: Path, tmp_path: Path) -> None:
    data = saved.read_bytes()
    cut = tmp_path / "cut.safetensors"
    for length in range(len(data)):
        cut.write_bytes(data[:length])
        message = _expect_error(cut)
        assert "truncated" in message or "corrupted header" in message, (
            length,
            message,
        )
    cut.write_bytes(data[:-1])
    _expect_error(cut, "truncated", f"describes {len(data)} bytes", f"the file has {len(data) - 1}")


def test_corrupted_header(saved: Path) -> None:
    data = bytearray(saved.read_bytes())
    data[8] = ord("[")  # the header's opening brace
    saved.write_bytes(data)
    _expect_error(saved, "corrupted header", "save it again")


def test_appended_bytes(saved: Path) -> None:
    saved.write_bytes(saved.read_bytes() + b"\0")
    _expect_error(saved, "has extra bytes")


def test_tampered_payload(saved: Path) -> None:
    """Flip each bit-pattern of each payload byte: the digest catches it."""
    data = saved.read_bytes()
    payload_start = 8 + int.from_bytes(data[:8], "little")
    for i in range(payload_start, len(data), 7):
        for mask in (0x01, 0x80, 0xFF):
            tampered = bytearray(data)
            tampered[i] ^= mask
            saved.write_bytes(tampered)
            _expect_error(saved, "do not match the SHA-256 digest")


def test_every_flipped_byte_is_detected(tmp_path: Path) -> None:
    """Header and payload: no single flipped byte loads silently."""
    path = tmp_path / "small.safetensors"
    save_checkpoint(
        path,
        {"a": torch.ones(2, 3), "b": torch.arange(4, dtype=torch.uint8)},
        {"step": 7, "name": "tiny"},
    )
    data = path.read_bytes()
    for i in range(len(data)):
        flipped = bytearray(data)
        flipped[i] ^= 0x01
        path.write_bytes(flipped)
        with pytest.raises(CheckpointError):
            load_checkpoint(path)


def test_plain_safetensors_file_is_not_a_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "plain.safetensors"
    save_file({"w": torch.ones(2)}, str(path), metadata={"format": "pt"})
    _expect_error(path, "not a transformer_atlas checkpoint", "safetensors.torch.load_file")


@pytest.mark.parametrize("kind", ["zip", "legacy", "pickle"])
def test_pickles_are_refused(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "model.pt"
    state = {"w": torch.ones(2)}
    if kind == "zip":
        torch.save(state, path)
    elif kind == "legacy":
        torch.save(state, path, _use_new_zipfile_serialization=False)
    else:
        path.write_bytes(pickle.dumps({"w": [1.0, 2.0]}))
    _expect_error(
        path, "refused on purpose", "unpickling can run arbitrary code", "weights_only=True"
    )


class _Malicious:
    """Unpickling this calls os.mkdir(marker): code run by a data file."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return os.mkdir, (self.marker,)


@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_malicious_pickle_is_never_executed(tmp_path: Path, suffix: str) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / f"model{suffix}"
    torch.save({"w": torch.ones(2), "evil": _Malicious(marker)}, path)
    _expect_error(path, "refused on purpose")
    assert not marker.exists()
    # Control: the file really is an attack. weights_only=True blocks it,
    # weights_only=False runs it. (A file object, since torch.load hands
    # a *path* ending in .safetensors to safetensors instead.)
    with open(path, "rb") as f, pytest.raises(pickle.UnpicklingError):
        torch.load(f, weights_only=True)
    assert not marker.exists()
    with open(path, "rb") as f:
        torch.load(f, weights_only=False)
    assert marker.is_dir()
