"""Corpora, the character tokenizer and batches, against oracles.

* Tiny Shakespeare (a local copy; no test touches the internet): its
  SHA-256 and size are the ones written in ``transformer_atlas.common.data``,
  and the tokenizer and split reproduce what nanoGPT's
  ``data/shakespeare_char/prepare.py`` prints (65 characters, 1,003,854
  train and 111,540 validation tokens).
* ``load_corpus``: the standard library, a cached Tiny Shakespeare (never
  fetched again), any UTF-8 file, and clear errors for the rest (the
  download itself is tested in ``test_download.py``).
* ``get_batch`` against nanoGPT's own formulation (a Python loop over
  ``torch.stack``) with the same generator state; the shift property;
  determinism under a seed.
* Every ValueError names what was expected and what came.
"""

from __future__ import annotations

import hashlib
import shutil
import urllib.request
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from transformer_atlas.blocks.tokenization.samples import HELD_OUT
from transformer_atlas.common import data as data_module
from transformer_atlas.common.data import (
    SHAKESPEARE_BYTES,
    SHAKESPEARE_SHA256,
    CharTokenizer,
    get_batch,
    load_corpus,
    split_train_val,
    stdlib_corpus,
)

SHARED_SHAKESPEARE = Path("/work/shared/data/tinyshakespeare.txt")
needs_shakespeare = pytest.mark.skipif(
    not SHARED_SHAKESPEARE.is_file(),
    reason=f"no local copy of Tiny Shakespeare at {SHARED_SHAKESPEARE}",
)
#: What nanoGPT's shakespeare_char/prepare.py prints for this file.
NANOGPT_CHARS = "\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


# ---------------------------------------------------------------- server


# ------------------------------------------------------------- tokenizer


def test_vocabulary_is_the_sorted_set_of_characters() -> None:
    tok = CharTokenizer.from_text("hello, world")
    assert tok.chars == " ,dehlorw"
    assert tok.vocab_size == 9
    assert tok.encode("hello") == [sorted(set("hello, world")).index(c) for c in "hello"]


@settings(max_examples=100, deadline=None)
@given(st.text(min_size=1))
def test_decode_inverts_encode(text: str) -> None:
    tok = CharTokenizer.from_text(text)
    ids = tok.encode(text)
    assert len(ids) == len(text)
    assert all(0 <= i < tok.vocab_size for i in ids)
    assert tok.decode(ids) == text
    assert tok.decode(torch.tensor(ids, dtype=torch.int64)) == text


def test_round_trip_on_many_scripts() -> None:
    tok = CharTokenizer.from_text(HELD_OUT)
    assert tok.decode(tok.encode(HELD_OUT)) == HELD_OUT
    assert tok.vocab_size == len(set(HELD_OUT))


def test_json_round_trip() -> None:
    tok = CharTokenizer.from_text(HELD_OUT)
    again = CharTokenizer.from_json(tok.to_json())
    assert again == tok and again.chars == tok.chars
    assert hash(again) == hash(tok)
    assert again.encode(HELD_OUT) == tok.encode(HELD_OUT)
    assert "vocab_size=" in repr(tok)


def test_unknown_characters_are_named() -> None:
    tok = CharTokenizer.from_text("abc")
    with pytest.raises(ValueError, match=r"2 character\(s\).*\['x', 'z'\]"):
        tok.encode("abzcx")


def test_many_unknown_characters_are_summarised() -> None:
    tok = CharTokenizer.from_text("a")
    with pytest.raises(ValueError, match=r"25 character.*'u'\] and 5 more"):
        tok.encode("bcdefghijklmnopqrstuvwxyz")


def test_decode_rejects_ids_outside_the_vocabulary() -> None:
    tok = CharTokenizer.from_text("abc")
    with pytest.raises(ValueError, match=r"\[0, 3\).*\[3, -1\]"):
        tok.decode([0, 3, -1])
    with pytest.raises(ValueError, match=r"\[n\].*\(1, 2\)"):
        tok.decode(torch.zeros(1, 2, dtype=torch.int64))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: CharTokenizer.from_text(""), "non-empty string"),
        (lambda: CharTokenizer("abca"), r"duplicates \['a'\]"),
        (lambda: CharTokenizer(""), "non-empty string"),
        (lambda: CharTokenizer.from_json("not json"), "to_json"),
        (lambda: CharTokenizer.from_json('{"type": "bpe"}'), '"char"'),
        (lambda: CharTokenizer.from_json("[1, 2]"), '"char"'),
    ],
)
def test_tokenizer_errors(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


@needs_shakespeare
def test_shakespeare_matches_nanogpt() -> None:
    """nanoGPT's prepare.py: 65 characters; 1,003,854 / 111,540 tokens."""
    raw = SHARED_SHAKESPEARE.read_bytes()
    assert len(raw) == SHAKESPEARE_BYTES
    assert hashlib.sha256(raw).hexdigest() == SHAKESPEARE_SHA256
    text = raw.decode("utf-8")
    tok = CharTokenizer.from_text(text)
    assert tok.vocab_size == 65
    assert tok.chars == NANOGPT_CHARS
    ids = torch.tensor(tok.encode(text), dtype=torch.int64)
    train, val = split_train_val(ids)
    assert (len(train), len(val)) == (1_003_854, 111_540)
    assert tok.decode(val[:12]) == text[1_003_854:1_003_866]


# --------------------------------------------------------------- corpora


def test_stdlib_corpus_is_reused() -> None:
    text = load_corpus("stdlib", max_bytes=5_000)
    assert text == stdlib_corpus(5_000)
    assert 0 < len(text.encode()) <= 5_000


@needs_shakespeare
def test_shakespeare_from_cache_needs_no_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(SHARED_SHAKESPEARE, tmp_path / "tinyshakespeare.txt")

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the cache was not used")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    full = load_corpus("shakespeare", max_bytes=SHAKESPEARE_BYTES, cache_dir=tmp_path)
    assert full == SHARED_SHAKESPEARE.read_text(encoding="utf-8")
    assert full.startswith("First Citizen:\n")
    # max_bytes applies to every source (the default keeps 1,000,000).
    head = load_corpus("shakespeare", cache_dir=tmp_path)
    assert head == full[:1_000_000]


@needs_shakespeare
def test_shakespeare_is_downloaded_into_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(data_module, "SHAKESPEARE_URL", SHARED_SHAKESPEARE.as_uri())
    monkeypatch.setattr(data_module, "default_cache_dir", lambda: tmp_path)
    text = load_corpus("shakespeare", max_bytes=100)
    assert text == SHARED_SHAKESPEARE.read_text(encoding="utf-8")[:100]
    cached = tmp_path / "tinyshakespeare.txt"
    assert hashlib.sha256(cached.read_bytes()).hexdigest() == SHAKESPEARE_SHA256


def test_text_file_corpus(tmp_path: Path) -> None:
    path = tmp_path / "corpus.txt"
    path.write_bytes("naïve café\r\n".encode())
    assert load_corpus(str(path)) == "naïve café\r\n"  # bytes kept as is
    assert load_corpus(path) == "naïve café\r\n"
    # Byte 3 is the middle of "ï" (2 bytes): the cut character is dropped.
    assert load_corpus(str(path), max_bytes=3) == "na"
    assert load_corpus(str(path), max_bytes=4) == "naï"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, r"'stdlib', 'shakespeare' or the path.*no such file"),
        (b"", "is empty"),
        (b"ok \xff\xfe latin-1", r"not UTF-8 text: byte 3 is b'\\xff'"),
    ],
)
def test_bad_text_file(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "corpus.txt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        load_corpus(str(path))


def test_bad_corpus_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"no such file"):
        load_corpus("shakspeare")  # a typo is a missing file, not a crash
    with pytest.raises(ValueError, match="a directory"):
        load_corpus(str(tmp_path))
    with pytest.raises(ValueError, match="max_bytes must be an int >= 1"):
        load_corpus("stdlib", max_bytes=0)
    one_char = tmp_path / "one.txt"
    one_char.write_text("é", encoding="utf-8")
    with pytest.raises(ValueError, match="no complete character"):
        load_corpus(str(one_char), max_bytes=1)


# -------------------------------------------------------------- download


# --------------------------------------------------------------- batches


def test_split_is_the_tail() -> None:
    ids = torch.arange(1000)
    train, val = split_train_val(ids)
    assert torch.equal(train, ids[:900]) and torch.equal(val, ids[900:])
    assert train.data_ptr() == ids.data_ptr()  # a view, not a copy
    train, val = split_train_val(ids, val_fraction=0.0)
    assert len(train) == 1000 and len(val) == 0


@settings(max_examples=50, deadline=None)
@given(st.integers(2, 10_000), st.floats(0.01, 0.99))
def test_split_sizes(n: int, fraction: float) -> None:
    n_train = int(n * (1 - fraction))  # nanoGPT's int(n * 0.9)
    if n_train in (0, n):
        with pytest.raises(ValueError, match="need at least one of each"):
            split_train_val(torch.arange(n), fraction)
        return
    train, val = split_train_val(torch.arange(n), fraction)
    assert (len(train), len(val)) == (n_train, n - n_train)


@pytest.mark.parametrize(
    ("ids", "fraction", "message"),
    [
        (torch.zeros(2, 5), 0.1, r"1 dimension \[n\], got shape \(2, 5\)"),
        (torch.arange(10), 1.0, r"\[0, 1\), got 1.0"),
        (torch.arange(10), -0.1, r"\[0, 1\), got -0.1"),
        (torch.arange(1), 0.1, "0 train and 1 validation"),
    ],
)
def test_split_errors(ids: torch.Tensor, fraction: float, message: str):
    with pytest.raises(ValueError, match=message):
        split_train_val(ids, fraction)


def _nanogpt_get_batch(data, batch_size, block_size, generator):
    """nanoGPT's train.py formulation: a Python loop and torch.stack."""
    ix = torch.randint(len(data) - block_size, (batch_size,), generator=generator)
    x = torch.stack([data[i : i + block_size] for i in ix])
    y = torch.stack([data[i + 1 : i + 1 + block_size] for i in ix])
    return x, y


def test_get_batch_matches_nanogpt() -> None:
    data = torch.randint(65, (5_000,), generator=torch.Generator().manual_seed(1))
    x, y = get_batch(data, 8, 32, torch.Generator().manual_seed(0))
    x_ref, y_ref = _nanogpt_get_batch(data, 8, 32, torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (8, 32)
    assert x.dtype == y.dtype == torch.int64
    assert torch.equal(x, x_ref) and torch.equal(y, y_ref)


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 40), st.integers(1, 16), st.integers(0, 50), st.integers(0, 2**31))
def test_y_is_x_shifted_by_one(block: int, batch: int, extra: int, seed: int) -> None:
    data = torch.arange(block + 1 + extra) * 7  # distinct, non-trivial ids
    x, y = get_batch(data, batch, block, torch.Generator().manual_seed(seed))
    assert x.shape == y.shape == (batch, block)
    assert torch.equal(y[:, :-1], x[:, 1:])
    starts = x[:, 0] // 7
    assert bool((starts >= 0).all() and (starts <= extra).all())
    # Every row is the window data[start : start + block + 1].
    window = starts[:, None] + torch.arange(block + 1)
    assert torch.equal(torch.cat([x, y[:, -1:]], dim=1), data[window])


def test_get_batch_is_deterministic_under_a_seed() -> None:
    data = torch.arange(10_000)
    a = get_batch(data, 4, 16, torch.Generator().manual_seed(3))
    b = get_batch(data, 4, 16, torch.Generator().manual_seed(3))
    c = get_batch(data, 4, 16, torch.Generator().manual_seed(4))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])


def test_get_batch_reaches_both_ends() -> None:
    """Starts cover [0, n - block_size) (n - block_size - 1 is the last)."""
    data = torch.arange(20)
    x, _ = get_batch(data, 2_000, 5, torch.Generator().manual_seed(0))
    assert set(x[:, 0].tolist()) == set(range(15))
    x, y = get_batch(torch.arange(6), 3, 5, torch.Generator())
    assert torch.equal(x, torch.arange(5).expand(3, 5))
    assert torch.equal(y, torch.arange(1, 6).expand(3, 5))


@pytest.mark.parametrize(
    ("data", "batch", "block", "message"),
    [
        (torch.arange(10), 2, 10, r"10 tokens.*block_size \+ 1 = 11"),
        (
            torch.zeros(3, 20, dtype=torch.int64),
            2,
            4,
            r"integer token ids \[n\], got shape \(3, 20\)",
        ),
        (torch.zeros(20), 2, 4, "dtype torch.float32"),
        (torch.arange(20), 0, 4, "batch_size=0"),
        (torch.arange(20), 2, 0, "block_size=0"),
    ],
)
def test_get_batch_errors(data, batch: int, block: int, message: str):
    with pytest.raises(ValueError, match=message):
        get_batch(data, batch, block, torch.Generator())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU")
def test_get_batch_on_gpu() -> None:
    data = torch.arange(1_000)
    x, y = get_batch(data.cuda(), 4, 8, torch.Generator().manual_seed(0))
    x_cpu, y_cpu = get_batch(data, 4, 8, torch.Generator().manual_seed(0))
    assert x.is_cuda and y.is_cuda
    assert torch.equal(x.cpu(), x_cpu) and torch.equal(y.cpu(), y_cpu)
