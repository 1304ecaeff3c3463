"""Byte-level BPE against oracles we did not write.

* Hugging Face ``tokenizers``: ``models.BPE`` loaded with OUR vocabulary and merges (from our
  saved file), GPT-2's ``ByteLevel`` pre-tokenizer and decoder, gives the same ids on held-out
  text (several scripts, emoji, code, a special token) and on random text; its ``ByteLevel``
  pre-tokenizer cuts the same chunks as our regex and its alphabet is our ``bytes_to_unicode``.
* A naive trainer written here, which recounts every pair after every merge, learns the same
  merges in the same order as ``learn_merges`` (fixed and random texts).
* Properties: ``decode(encode(s)) == s`` for arbitrary Unicode; special tokens stay whole.
* Page claims: every table and number of ``docs/blocks/tokenization.md``.
"""

from __future__ import annotations

import json
import operator
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

from transformer_atlas.blocks.tokenization import (
    GPT2_PATTERN,
    GPT4_PATTERN,
    BPETokenizer,
    Merge,
    bytes_to_unicode,
    count_words,
    encode_chunk,
    learn_merges,
    merge,
    pretokenize,
    split_special,
    train_bpe,
)
from transformer_atlas.blocks.tokenization.samples import HELD_OUT, ZEN
from transformer_atlas.blocks.tokenization.walkthrough import (
    bpe_walkthrough,
    merge_table,
    merge_table_markdown,
    show_token,
    walkthrough_markdown,
)
from transformer_atlas.common.data import stdlib_corpus

PAGE = Path(__file__).resolve().parents[3] / "docs" / "blocks" / "tokenization.md"
EOT = "<|endoftext|>"
BYTES = [bytes([b]) for b in range(256)]

# Training text for the comparison with Hugging Face: code plus several scripts, so that merges
# join multi-byte characters too. HELD_OUT (the text compared on) shares none of these lines.
TRAIN_EXTRA = (
    "Die Straße ist schön, und das Wetter wird größer. Über alles.\n"
    "Η γλώσσα είναι όμορφη. Αυτή είναι η γλώσσα μας.\n"
    "Это пример текста на русском языке. Это пример.\n"
    "これは日本語のテキストです。日本語の文です。\n"
    "이것은 한국어 텍스트입니다. 한국어입니다.\n"
    "Smileys 😀😀 and thumbs 👍👍 and hearts ❤️❤️.\n"
) * 8


@pytest.fixture(scope="module")
def tokenizer() -> BPETokenizer:
    """A 1,024-token BPE with <|endoftext|>, trained on 40 KB of stdlib source + TRAIN_EXTRA."""
    return train_bpe(stdlib_corpus(40_000) + TRAIN_EXTRA, 1024, special_tokens=[EOT])


def _hf_from_saved(path: Path) -> Tokenizer:
    """Hugging Face's BPE loaded with the vocabulary and merges of OUR saved file."""
    saved = json.loads(path.read_text(encoding="utf-8"))
    vocab = {**saved["vocab"], **saved["special_tokens"]}
    merges = [tuple(line.split(" ")) for line in saved["merges"]]
    hf = Tokenizer(models.BPE(vocab, merges))
    hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    hf.decoder = decoders.ByteLevel()
    hf.add_special_tokens([AddedToken(s, special=True) for s in saved["special_tokens"]])
    return hf


@pytest.fixture(scope="module")
def hf(tokenizer: BPETokenizer, tmp_path_factory: pytest.TempPathFactory) -> Tokenizer:
    path = tmp_path_factory.mktemp("bpe") / "bpe.json"
    tokenizer.save(path)
    return _hf_from_saved(path)


# ==================================================================== the naive oracle
def naive_merge(word: tuple[int, ...], pair: tuple[int, int], new_id: int) -> tuple[int, ...]:
    """Replace ``pair`` in ``word``, scanning left to right, without overlaps."""
    out: list[int] = []
    skip = False
    for i, token in enumerate(word):
        if skip:
            skip = False
        elif i + 1 < len(word) and (token, word[i + 1]) == pair:
            out.append(new_id)
            skip = True
        else:
            out.append(token)
    return tuple(out)


def naive_learn_merges(word_counts, vocab, vocab_size, join=operator.add) -> list[Merge]:
    """The slow, obvious trainer: recount every pair of every word after every merge.

    Same rules as the package: the highest count wins, ties go to the smallest (left, right)
    ids; a merge whose content is already a token reuses its id.
    """
    words = Counter({tuple(w): n for w, n in word_counts.items()})
    tokens = list(vocab)
    merges = []
    while len(tokens) < vocab_size:
        counts: Counter[tuple[int, int]] = Counter()
        for word, n in words.items():
            for i in range(len(word) - 1):
                counts[(word[i], word[i + 1])] += n
        if not counts:
            break
        best = min(counts, key=lambda pair: (-counts[pair], pair))
        content = join(tokens[best[0]], tokens[best[1]])
        if content in tokens:
            new_id = tokens.index(content)
        else:
            new_id = len(tokens)
            tokens.append(content)
        merges.append(Merge(best, new_id, counts[best]))
        merged: Counter[tuple[int, ...]] = Counter()
        for word, n in words.items():
            merged[naive_merge(word, best, new_id)] += n
        words = merged
    return merges


@pytest.mark.parametrize(
    ("text", "vocab_size"),
    [(ZEN, 256 + 200), (stdlib_corpus(6_000), 256 + 120), ("aaabdaaabac " * 3, 300)],
)
def test_learn_merges_equals_naive_trainer(text: str, vocab_size: int) -> None:
    words = count_words(text)
    ours = learn_merges(words, BYTES, vocab_size)
    assert ours == naive_learn_merges(words, BYTES, vocab_size)
    assert len(ours) == min(vocab_size - 256, len(ours))  # stopped at the size or ran dry


@settings(max_examples=60, deadline=None)
@given(
    st.one_of(
        st.text(alphabet="ab \n", max_size=80),  # tiny alphabet: many ties, long runs
        st.text(alphabet="aábc .😀", max_size=60),
        st.text(max_size=40),
    ),
    st.integers(min_value=256, max_value=300),
)
def test_learn_merges_equals_naive_trainer_on_random_text(text: str, vocab_size: int) -> None:
    words = count_words(text)
    assert learn_merges(words, BYTES, vocab_size) == naive_learn_merges(words, BYTES, vocab_size)


def test_merge_replaces_left_to_right_without_overlap() -> None:
    assert merge([97, 97, 97, 98], (97, 97), 256) == [256, 97, 98]
    assert merge([97, 97, 97, 97], (97, 97), 256) == [256, 256]
    assert merge([1, 2, 3], (3, 4), 9) == [1, 2, 3]
    assert merge([], (1, 2), 9) == []


def test_a_merge_whose_bytes_exist_reuses_the_token() -> None:
    """When a pair's content is already a token, the merge reuses its id (as Hugging Face's
    trainer does) and the vocabulary does not grow; naive and incremental agree."""
    vocab = [*BYTES, b"ab"]  # token 256 is b"ab" already
    words = {(97, 98, 99): 3, (97, 98): 1}
    merges = learn_merges(words, vocab, 258)
    assert merges[0] == Merge((97, 98), 256, 4)
    assert merges[1] == Merge((256, 99), 257, 3)
    assert merges == naive_learn_merges(words, vocab, 258)
    # the same in the tokenizer: two merges that spell b"abc" give one token
    tok = BPETokenizer([(97, 98), (98, 99), (256, 99), (97, 257)])
    assert tok.vocab[256:] == [b"ab", b"bc", b"abc"]
    assert tok.merges[(97, 257)] == 258 == tok.merges[(256, 99)]
    assert tok.encode("abc") == [258]


def test_learn_merges_joins_with_a_custom_join() -> None:
    """The WordPiece builder's join: the right piece loses its ## prefix."""
    base = ["u", "##n", "##a"]
    merges = learn_merges({(0, 1, 2): 2}, base, 5, join=lambda a, b: a + b.removeprefix("##"))
    assert [m.pair for m in merges] == [(0, 1), (3, 2)]


# ======================================================================= round trips
@settings(max_examples=200, deadline=None)
@given(st.text())
def test_decode_encode_is_identity_on_any_unicode(tokenizer: BPETokenizer, text: str) -> None:
    assert tokenizer.decode(tokenizer.encode(text)) == text
    assert tokenizer.decode(tokenizer.encode(text, allow_special=False)) == text


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=20), st.just(EOT)), max_size=6))
def test_round_trip_with_special_tokens(tokenizer: BPETokenizer, parts: list[str]) -> None:
    text = "".join(parts)
    ids = tokenizer.encode(text)
    assert tokenizer.decode(ids) == text
    assert ids.count(tokenizer.special_tokens[EOT]) == text.count(EOT)


def test_tokenizer_sizes_and_ids(tokenizer: BPETokenizer) -> None:
    assert tokenizer.vocab_size == 1024
    assert len(tokenizer.merges) == 1024 - 256 - 1
    assert tokenizer.special_tokens == {EOT: 1023}
    assert len(set(tokenizer.vocab)) == 1024  # no token twice
    assert list(tokenizer.merges.values()) == list(range(256, 1023))  # k-th merge -> 256 + k


def test_special_token_is_whole_and_never_merged(tokenizer: BPETokenizer) -> None:
    eot = tokenizer.special_tokens[EOT]
    ids = tokenizer.encode(f"a{EOT}{EOT}b")
    assert ids.count(eot) == 2
    assert eot not in {i for pair in tokenizer.merges for i in pair}
    assert eot not in tokenizer.merges.values()
    plain = tokenizer.encode(EOT, allow_special=False)
    assert eot not in plain and tokenizer.decode(plain) == EOT
    # training text full of special tokens: they are cut out, never counted
    words = count_words(f"ab{EOT}ab{EOT}", [EOT])
    assert words == Counter({tuple(b"ab"): 2})


def test_split_special_prefers_the_longest_token() -> None:
    assert split_special("a<|x|>b", ["<|x|>"]) == ["a", "<|x|>", "b"]
    assert split_special("<|x|><|xy|>", ["<|x", "<|xy|>"]) == ["<|x", "|>", "<|xy|>"]
    assert split_special("", ["<|x|>"]) == [] and split_special("ab", []) == ["ab"]
    with pytest.raises(ValueError, match="non-empty strings"):
        split_special("ab", [""])


@settings(max_examples=100, deadline=None)
@given(st.text())
def test_pretokenize_covers_the_text(text: str) -> None:
    assert "".join(pretokenize(text)) == text
    assert "".join(pretokenize(text, GPT4_PATTERN)) == text


# ================================================================= Hugging Face oracle
def test_same_ids_as_hugging_face_on_held_out_text(tokenizer: BPETokenizer, hf: Tokenizer) -> None:
    text = HELD_OUT + EOT + HELD_OUT.upper()
    assert HELD_OUT not in stdlib_corpus(40_000) + TRAIN_EXTRA
    ours = tokenizer.encode(text)
    assert hf.encode(text).ids == ours
    assert any(i >= 256 and not tokenizer.vocab[i].isascii() for i in ours)  # non-ASCII merges
    assert any(i < 256 and i >= 128 for i in ours)  # and bytes of unseen characters
    assert hf.decode(ours, skip_special_tokens=False) == text == tokenizer.decode(ours)


def test_same_tokens_as_hugging_face(tokenizer: BPETokenizer, hf: Tokenizer) -> None:
    table = bytes_to_unicode()
    ids = tokenizer.encode(HELD_OUT)
    ours = ["".join(table[b] for b in tokenizer.vocab[i]) for i in ids]
    assert hf.encode(HELD_OUT).tokens == ours


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(exclude_categories=("Cn", "Cs"))))
def test_same_ids_as_hugging_face_on_random_text(
    tokenizer: BPETokenizer, hf: Tokenizer, text: str
) -> None:
    """Any text of assigned characters (Python's Unicode database); for unassigned code points
    see the next test."""
    assert hf.encode(text).ids == tokenizer.encode(text)


def test_unassigned_code_points_are_where_regex_and_onig_differ() -> None:
    """The one known disagreement: the ``regex`` package treats some unassigned code points
    (here U+3F876, in a plane reserved for CJK ideographs) as letters, Hugging Face's regex
    engine does not, so the chunks differ. Assigned characters agree (test above)."""
    char = "\U0003f876"
    assert unicodedata.category(char) == "Cn"
    ours = pretokenize(char + "a")
    theirs = [
        s for s, _ in pre_tokenizers.ByteLevel(add_prefix_space=False).pre_tokenize_str(char + "a")
    ]
    assert ours == [char + "a"] and len(theirs) == 2


def test_pretokenizer_chunks_equal_hugging_face_byte_level() -> None:
    table = bytes_to_unicode()
    text = HELD_OUT + "I'm   here:\n\n  it's 1234 don't\t\tstop  "
    ours = ["".join(table[b] for b in chunk.encode("utf-8")) for chunk in pretokenize(text)]
    theirs = [s for s, _ in pre_tokenizers.ByteLevel(add_prefix_space=False).pre_tokenize_str(text)]
    assert ours == theirs


def test_bytes_to_unicode_is_hugging_faces_byte_level_alphabet() -> None:
    table = bytes_to_unicode()
    assert sorted(table) == list(range(256))
    assert set(table.values()) == set(pre_tokenizers.ByteLevel.alphabet())
    assert len(set(table.values())) == 256


def test_hugging_face_reproduces_a_tokenizer_with_reused_tokens(tmp_path: Path) -> None:
    """Two merges that spell the same bytes share an id; Hugging Face agrees."""
    tok = BPETokenizer([(97, 98), (98, 99), (256, 99), (97, 257)])
    tok.save(tmp_path / "t.json")
    hf = _hf_from_saved(tmp_path / "t.json")
    for text in ("abc", "xabcabc bc abab", "aabbcc"):
        assert hf.encode(text).ids == tok.encode(text)


# ========================================================================== save / load
def test_save_load_round_trip(tokenizer: BPETokenizer, tmp_path: Path) -> None:
    path = tmp_path / "tok.json"
    tokenizer.save(path)
    loaded = BPETokenizer.load(path)
    assert loaded.vocab == tokenizer.vocab
    assert loaded.merges == tokenizer.merges
    assert loaded.special_tokens == tokenizer.special_tokens
    assert loaded.pattern == tokenizer.pattern == GPT2_PATTERN
    assert loaded.encode(HELD_OUT + EOT) == tokenizer.encode(HELD_OUT + EOT)
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert set(saved) == {"format", "pattern", "vocab", "merges", "special_tokens"}
    assert len(saved["vocab"]) == 1023 and len(saved["merges"]) == 767
    assert all(" " not in token for token in saved["vocab"])  # spaces are Ġ


def test_load_rejects_inconsistent_files(tokenizer: BPETokenizer) -> None:
    good = tokenizer.to_dict()
    bad = json.loads(json.dumps(good))
    bad["merges"][0], bad["merges"][1] = bad["merges"][1], bad["merges"][0]
    with pytest.raises(ValueError, match="disagrees with the merges|does not exist"):
        BPETokenizer.from_dict(bad)
    bad = json.loads(json.dumps(good))
    bad["merges"][3] = "nosuchtoken x"
    with pytest.raises(ValueError, match="two vocabulary tokens"):
        BPETokenizer.from_dict(bad)
    bad = json.loads(json.dumps(good))
    bad["format"] = "gpt2"
    with pytest.raises(ValueError, match="expected format"):
        BPETokenizer.from_dict(bad)
    bad = json.loads(json.dumps(good))
    bad["vocab"]["Ġ"] = 0
    with pytest.raises(ValueError, match="byte token"):
        BPETokenizer.from_dict(bad)
    bad = json.loads(json.dumps(good))
    bad["special_tokens"] = {EOT: 5}
    with pytest.raises(ValueError, match="special token ids"):
        BPETokenizer.from_dict(bad)


# ============================================================================ bad input
def test_bad_input_raises() -> None:
    with pytest.raises(ValueError, match=r"at least 256 \+ len\(special_tokens\) = 257, got 256"):
        train_bpe("abc", 256, special_tokens=[EOT])
    with pytest.raises(ValueError, match="does not exist yet"):
        BPETokenizer([(97, 300)])
    with pytest.raises(ValueError, match="repeats the pair"):
        BPETokenizer([(97, 98), (97, 98)])
    with pytest.raises(ValueError, match="distinct non-empty strings"):
        BPETokenizer([], special_tokens=[EOT, EOT])
    tok = BPETokenizer([])
    with pytest.raises(ValueError, match=r"token ids must lie in \[0, 256\), got 256"):
        tok.decode([256])
    with pytest.raises(ValueError, match="must be ASCII"):
        bpe_walkthrough("aZa")
    with pytest.raises(ValueError, match="n_merges must be >= 0"):
        merge_table("abc", -1)


def test_train_stops_when_no_pair_is_left() -> None:
    tok = train_bpe("ab ab", 1000)  # chunks "ab" and " ab": two merges, then nothing
    assert [tok.vocab[i] for i in tok.merges.values()] == [b"ab", b" ab"]
    assert tok.vocab_size == 258


def test_encode_chunk_applies_merges_by_rank_not_length() -> None:
    # merges: b c (rank 0), a b (rank 1), a bc (rank 2): "abc" -> a, bc -> abc
    tok = BPETokenizer([(98, 99), (97, 98), (97, 256)])
    assert encode_chunk(b"abc", tok.ranks, tok.merges) == [258]
    # with a b learned first, b c never forms inside "abc"
    tok = BPETokenizer([(97, 98), (98, 99)])
    assert encode_chunk(b"abc", tok.ranks, tok.merges) == [256, 99]


# ========================================================================= page claims
def _page() -> str:
    return PAGE.read_text(encoding="utf-8")


def test_page_zen_size_and_first_example() -> None:
    """blocks/tokenization: "trained on the Zen of Python (19 lines, 823 bytes), with a
    vocabulary of 300 tokens" ... "The 30 characters became 11 tokens"."""
    assert ZEN.count("\n") == 19 and len(ZEN.encode("utf-8")) == 823
    tok = train_bpe(ZEN, vocab_size=300)
    sentence = "Simple is better than complex."
    ids = tok.encode(sentence)
    assert ids == [83, 105, 287, 264, 273, 271, 288, 111, 287, 120, 46]
    assert [tok.vocab[i] for i in ids] == [
        b"S",
        b"i",
        b"mple",
        b" is",
        b" better",
        b" than",
        b" c",
        b"o",
        b"mple",
        b"x",
        b".",
    ]
    assert tok.decode(ids) == sentence and len(sentence) == 30 and len(ids) == 11


def test_page_units_table() -> None:
    """blocks/tokenization: the sentence has 7 words, 45 characters, 45 bytes; "about 150,000
    Unicode characters"; GPT-2's 50,257 = 256 bytes + 50,000 merges + 1 special."""
    sentence = "Tokenizers don't see letters; they see bytes."
    assert (len(sentence.split()), len(sentence), len(sentence.encode("utf-8"))) == (7, 45, 45)
    assigned = sum(
        1 for c in range(0x110000) if unicodedata.category(chr(c)) not in ("Cn", "Cs", "Co")
    )
    assert 140_000 <= assigned <= 160_000
    assert 256 + 50_000 + 1 == 50_257


def test_page_walkthrough_table_is_the_trainers() -> None:
    """blocks/tokenization: the aaabdaaabac table is what the trainer prints, and it reproduces
    Wikipedia's merges Z = aa, Y = ab, X = ZY and the result XdXac."""
    assert walkthrough_markdown("aaabdaaabac", 3) in _page()
    steps = bpe_walkthrough("aaabdaaabac", 3)
    assert [(s.token, s.pair) for s in steps] == [("Z", "aa"), ("Y", "ab"), ("X", "ZY")]
    assert steps[-1].sequence == "XdXac"
    assert steps[0].counts[0] == ("aa", 4)  # overlapping occurrences counted
    assert merge(list(b"aaa"), (97, 97), 256) == [256, 97]  # "aaa becomes Za"


def test_page_walkthrough_tie_and_first_seen_rule() -> None:
    """blocks/tokenization: "In step 2, ab and Za both occur twice" ... "(97, 98)" ... "Z ... is
    id 256" ... "A rule that took the pair seen first in the text would have merged Za"."""
    step2 = bpe_walkthrough("aaabdaaabac", 3)[1]
    assert step2.counts[:2] == (("ab", 2), ("Za", 2)) and step2.counts[2][1] == 1
    assert (ord("a"), ord("b")) == (97, 98)
    ids = merge(list(b"aaabdaaabac"), (97, 97), 256)
    counts = Counter(zip(ids, ids[1:]))  # insertion order = order seen in the text
    first_seen = max(counts, key=counts.get)  # minbpe's rule
    assert first_seen == (256, 97)  # Za
    # "After step 3 every pair occurs once"
    final = [{"X": 258, "Y": 257, "Z": 256}.get(c, ord(c)) for c in "XdXac"]
    assert set(Counter(zip(final, final[1:])).values()) == {1}


def test_page_walkthrough_code_block_output() -> None:
    """blocks/tokenization: the printed lines Z = aa -> ZabdZabac, Y = ab -> ZYdZYac, X = ZY ->
    XdXac."""
    lines = [f"{s.token} = {s.pair} -> {s.sequence}" for s in bpe_walkthrough("aaabdaaabac", 3)]
    assert lines == ["Z = aa -> ZabdZabac", "Y = ab -> ZYdZYac", "X = ZY -> XdXac"]
    for line in lines:
        assert f"# {line}" in _page()


def test_page_kth_merge_is_token_256_plus_k_and_vocab_size_counts_all() -> None:
    """blocks/tokenization: "The k-th merge creates token 256 + k" and the vocabulary holds 256
    bytes, V - 256 - s merged tokens and s special tokens."""
    tok = train_bpe(ZEN, 300, special_tokens=[EOT, "<|pad|>"])
    assert list(tok.merges.values()) == list(range(256, 298))
    assert tok.vocab_size == 300 and tok.special_tokens == {EOT: 298, "<|pad|>": 299}


def test_page_a_megabyte_has_about_ten_thousand_distinct_chunks() -> None:
    """blocks/tokenization: "A megabyte of Python source holds about ten thousand distinct
    chunks"."""
    assert 5_000 <= len(count_words(stdlib_corpus(1_000_000))) <= 20_000


def test_page_utf8_lengths_and_cafe_example() -> None:
    """blocks/tokenization: é two bytes, 東 three, 😀 four; the café example's ids, its decode,
    the cut last character and "The Zen contains no é, so its two bytes (195, 169) stay two
    tokens"."""
    assert [len(c.encode("utf-8")) for c in "aé東😀"] == [1, 2, 3, 4]
    tok = train_bpe(ZEN, vocab_size=300, special_tokens=[EOT])
    ids = tok.encode("café 😀")
    assert ids == [99, 97, 102, 195, 169, 32, 240, 159, 152, 128]
    assert tok.decode(ids) == "café 😀"
    assert tok.decode(ids[:-1]) == "café \ufffd"
    assert "é" not in ZEN and list("é".encode("utf-8")) == [195, 169]


def test_page_printable_bytes() -> None:
    """blocks/tokenization: "the 188 printable Latin-1 bytes stand for themselves, the other 68
    are shifted to chr(256), chr(257)" ... space Ġ, newline Ċ, a."""
    table = bytes_to_unicode()
    same = [b for b, c in table.items() if c == chr(b)]
    shifted = [c for b, c in table.items() if c != chr(b)]
    assert len(same) == 188 and len(shifted) == 68
    assert shifted == [chr(256 + k) for k in range(68)]
    assert (table[ord(" ")], table[ord("\n")], table[ord("a")]) == ("Ġ", "Ċ", "a")


def test_page_pretokenizer_examples() -> None:
    """blocks/tokenization: the printed chunks of GPT-2's and GPT-4's patterns."""
    assert pretokenize("Hello world, it's 2024!  OK") == [
        "Hello",
        " world",
        ",",
        " it",
        "'s",
        " 2024",
        "!",
        " ",
        " OK",
    ]
    assert pretokenize("DON'T pay 1234567 now") == ["DON", "'", "T", " pay", " 1234567", " now"]
    assert pretokenize("DON'T pay 1234567 now", GPT4_PATTERN) == [
        "DON",
        "'T",
        " pay",
        " ",
        "123",
        "456",
        "7",
        " now",
    ]


def test_page_special_token_example() -> None:
    """blocks/tokenization: the encoded "Flat.<|endoftext|>Sparse.", "<|endoftext|> is id 299",
    and "the same 13 characters then become 12 ordinary tokens"."""
    tok = train_bpe(ZEN, vocab_size=300, special_tokens=[EOT])
    assert tok.encode("Flat.<|endoftext|>Sparse.") == [
        70,
        108,
        266,
        46,
        299,
        83,
        112,
        97,
        114,
        284,
        46,
    ]
    assert tok.special_tokens[EOT] == 299 and len(EOT) == 13
    plain = tok.encode(EOT, allow_special=False)
    assert len(plain) == 12 and max(plain) < 299


def test_page_and_is_encoded_by_rank_not_by_length() -> None:
    """blocks/tokenization: " and" becomes " ", "an", "d" because "a n" was merged (rank 9)
    before " a" (rank 21); the longest vocabulary entries would give " a", "n", "d"."""
    tok = train_bpe(ZEN, vocab_size=300)
    assert [tok.vocab[i] for i in tok.encode(" and")] == [b" ", b"an", b"d"]
    assert tok.ranks[(97, 110)] == 9 and tok.ranks[(32, 97)] == 21
    vocab = set(tok.vocab)
    pieces, word = [], b" and"
    while word:  # longest match first
        piece = next(word[:j] for j in range(len(word), 0, -1) if word[:j] in vocab)
        pieces.append(piece)
        word = word[len(piece) :]
    assert pieces == [b" a", b"n", b"d"]


def test_page_merge_table_and_observations() -> None:
    """blocks/tokenization: the table of the first 18 merges on the Zen; " better", "which the
    Zen uses eight times, is built in four merges"; "Counts fall as merges go on"."""
    assert merge_table_markdown(ZEN, 18) in _page()
    rows = merge_table(ZEN, 18)
    assert [show_token(r.token) for r in rows if r.token.startswith(b" b")] == [
        "␣b",
        "␣be",
        "␣bett",
        "␣better",
    ]
    assert ZEN.count(" better") == 8
    for text in (ZEN, stdlib_corpus(50_000)):
        counts = [m.count for m in learn_merges(count_words(text), BYTES, 256 + 300)]
        assert counts == sorted(counts, reverse=True)


def test_page_to_dict_example() -> None:
    """blocks/tokenization: the printed keys, vocab entries 255..258, merges and special tokens
    of the saved file."""
    saved = train_bpe(ZEN, vocab_size=300, special_tokens=[EOT]).to_dict()
    assert list(saved) == ["format", "pattern", "vocab", "merges", "special_tokens"]
    assert list(saved["vocab"].items())[255:259] == [
        ("ÿ", 255),
        ("Ġt", 256),
        ("Ġi", 257),
        ("Ġth", 258),
    ]
    assert saved["merges"][:3] == ["Ġ t", "Ġ i", "Ġt h"]
    assert saved["special_tokens"] == {EOT: 299}


def test_page_hugging_face_block(tmp_path: Path) -> None:
    """blocks/tokenization: the Hugging Face block prints True twice."""
    tok = train_bpe(ZEN, vocab_size=300, special_tokens=[EOT])
    tok.save(tmp_path / "zen-bpe.json")
    hf = _hf_from_saved(tmp_path / "zen-bpe.json")
    text = "Sparse is better than dense.<|endoftext|>Ünïcödé 😀"
    assert hf.encode(text).ids == tok.encode(text)
    assert hf.decode(hf.encode(text).ids, skip_special_tokens=False) == text
