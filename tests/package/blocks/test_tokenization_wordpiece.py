"""WordPiece against Hugging Face's ``tokenizers.models.WordPiece`` with the same vocabulary.

The oracle is ``Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))`` with
``pre_tokenizers.BertPreTokenizer()``: the same ids on held-out text and on random text, for a
vocabulary built by our ``wordpiece_vocab`` and for one built by Hugging Face's own
``WordPieceTrainer``. Plus the page's examples.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer, models, pre_tokenizers, trainers

from transformer_atlas.blocks.tokenization.samples import HELD_OUT
from transformer_atlas.blocks.tokenization.wordpiece import (
    BERT_SPECIAL_TOKENS,
    WordPiece,
    bert_pretokenize,
    wordpiece_vocab,
)
from transformer_atlas.common.data import stdlib_corpus

TRAIN = stdlib_corpus(30_000) + " Größe café naïve Straße. Ελληνικά γλώσσα. 東京 タワー. 😀 👍" * 5
HAND_VOCAB = [
    "[UNK]",
    "un",
    "##aff",
    "##able",
    "play",
    "##ing",
    "##ed",
    "token",
    "##s",
    ",",
    "!",
]


def _hf(vocab: list[str]) -> Tokenizer:
    hf = Tokenizer(models.WordPiece({t: i for i, t in enumerate(vocab)}, unk_token="[UNK]"))
    hf.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    return hf


@pytest.fixture(scope="module")
def our_vocab() -> list[str]:
    return wordpiece_vocab(TRAIN, 800)


@pytest.fixture(scope="module")
def hf_trained_vocab() -> list[str]:
    """A vocabulary learned by Hugging Face's WordPieceTrainer on the same text."""
    hf = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    hf.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(
        vocab_size=800, special_tokens=list(BERT_SPECIAL_TOKENS), show_progress=False
    )
    hf.train_from_iterator([TRAIN], trainer)
    vocab = hf.get_vocab()
    return sorted(vocab, key=vocab.get)


def test_our_vocab_shape(our_vocab: list[str]) -> None:
    assert our_vocab[:5] == list(BERT_SPECIAL_TOKENS)
    assert len(our_vocab) == len(set(our_vocab)) <= 800
    assert len(our_vocab) > 700
    assert "##s" in our_vocab and "self" in our_vocab


@pytest.mark.parametrize("which", ["ours", "hugging_face"])
def test_same_ids_as_hugging_face_on_held_out_text(
    which: str, our_vocab: list[str], hf_trained_vocab: list[str]
) -> None:
    vocab = our_vocab if which == "ours" else hf_trained_vocab
    ours, hf = WordPiece(vocab), _hf(vocab)
    text = HELD_OUT + " unaffable Zürich [SEP] tokenization, ¿qué? «quotes» 3.14"
    assert text not in TRAIN
    encoding = hf.encode(text)
    assert ours.encode(text) == encoding.ids
    assert ours.tokenize(text) == encoding.tokens
    assert "[UNK]" in encoding.tokens and any(t.startswith("##") for t in encoding.tokens)


@pytest.fixture(scope="module")
def pair(our_vocab: list[str]) -> tuple[WordPiece, Tokenizer]:
    return WordPiece(our_vocab), _hf(our_vocab)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_same_ids_as_hugging_face_on_random_text(
    pair: tuple[WordPiece, Tokenizer], text: str
) -> None:
    ours, hf = pair
    assert ours.encode(text) == hf.encode(text).ids


HAND = (WordPiece(HAND_VOCAB), _hf(HAND_VOCAB))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="unaffableplayingtokens ,!x", max_size=60))
def test_same_pieces_as_hugging_face_with_the_hand_vocab(text: str) -> None:
    assert HAND[0].tokenize(text) == HAND[1].encode(text).tokens


def test_pretokenizer_equals_bert_pre_tokenizer() -> None:
    text = HELD_OUT + "Hi, you! (really?) a\u3000b\u00a0c\u2028d--e... $5 + 3 = 8 ^_^"
    theirs = [w for w, _ in pre_tokenizers.BertPreTokenizer().pre_tokenize_str(text)]
    assert bert_pretokenize(text) == theirs


def test_long_words_are_unknown() -> None:
    wordpiece = WordPiece(["[UNK]", "a", "##a"], max_word_chars=5)
    assert wordpiece.tokenize("aaaaa aaaaaa") == ["a", "##a", "##a", "##a", "##a", "[UNK]"]


def test_bad_input_raises() -> None:
    with pytest.raises(ValueError, match="unk_token '\\[UNK\\]' must be in the vocabulary"):
        WordPiece(["a"])
    with pytest.raises(ValueError, match="must not repeat"):
        WordPiece(["[UNK]", "a", "a"])
    with pytest.raises(ValueError, match="max_word_chars must be >= 1"):
        WordPiece(["[UNK]"], max_word_chars=0)
    with pytest.raises(ValueError, match="not in the vocabulary"):
        WordPiece(["[UNK]"]).decode([3])
    with pytest.raises(ValueError, match="vocab_size must be at least"):
        wordpiece_vocab("abc def", 3)


# ========================================================================= page claims
def test_page_hand_vocab_examples() -> None:
    """blocks/tokenization: the printed pieces of "unaffable playing, tokens!" and "unplayable
    tokens", and the lossy decode "unaffable playing , tokens !"."""
    wordpiece = WordPiece(HAND_VOCAB)
    assert wordpiece.tokenize("unaffable playing, tokens!") == [
        "un",
        "##aff",
        "##able",
        "play",
        "##ing",
        ",",
        "token",
        "##s",
        "!",
    ]
    assert wordpiece.tokenize("unplayable tokens") == ["[UNK]", "token", "##s"]
    ids = wordpiece.encode("unaffable playing, tokens!")
    assert wordpiece.decode(ids) == "unaffable playing , tokens !"
    assert _hf(HAND_VOCAB).encode("unplayable tokens").tokens == ["[UNK]", "token", "##s"]


def test_page_pretokenizer_docstring_example() -> None:
    """blocks/tokenization (code): bert_pretokenize("Hi, you!") is ["Hi", ",", "you", "!"]."""
    assert bert_pretokenize("Hi, you!") == ["Hi", ",", "you", "!"]


def test_page_wordpiece_cannot_encode_unknown_characters(our_vocab: list[str]) -> None:
    """blocks/tokenization: "a word with an unknown character becomes [UNK]" (the whole word)."""
    assert "##ü" not in our_vocab and "ü" not in our_vocab
    assert WordPiece(our_vocab).tokenize("Zürich self") == ["[UNK]", "self"]
