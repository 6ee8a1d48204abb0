"""BM25 tokens for Vietnamese: syllables plus adjacent-syllable bigrams, with an accent-folded twin.

Why not bm25s/llama-index defaults: their `\\w\\w+` pattern drops one-letter syllables ("ở", "ý")
and one-digit numbers, and the English stemmer/stopwords mangle Vietnamese. Bigrams stand in for
word segmentation ("sản phẩm", "nông thôn"), which pyvi gets wrong on text without diacritics.
The tokenizer's NAME is recorded in the index manifest; change it when the output changes.
"""

from __future__ import annotations

import re

from ingest.textnorm import fold_diacritics, normalize_text
from index import abbreviations

# Tokenizer names as recorded in manifests; the default is the measured best (docs/retrieval.md).
NAME = "syllable-bigram-v1"
SYLLABLE_ONLY = "syllable-v1"
PYVI_WORDS = "pyvi-word-v1"  # pyvi word segmentation ("hợp_tác_xã"); measured, not the default
TOKENIZERS = (NAME, SYLLABLE_ONLY, PYVI_WORDS)

# A number keeps its inner separators ("1.373,7", "06/19", "91,48") so figures match exactly.
_TOKEN = re.compile(r"\d+(?:[.,/]\d+)*|[^\W\d_]+", re.UNICODE)


def _canonical_number(token: str) -> str:
    # "06" and "6" are the same count ("06/19 chỉ tiêu", "6 chỉ tiêu").
    return token.lstrip("0") or "0" if token.isdigit() else token


def syllables(text: str) -> list[str]:
    """Lower-cased syllables and numbers of normalised text, nothing dropped."""
    return [_canonical_number(t) for t in _TOKEN.findall(normalize_text(text).lower())]


def with_bigrams(tokens: list[str]) -> list[str]:
    return tokens + [f"{a}_{b}" for a, b in zip(tokens, tokens[1:])]


def tokenize(text: str, name: str = NAME) -> list[str]:
    """Tokens for the accented BM25 field."""
    if name == PYVI_WORDS:  # segment with punctuation and case, which pyvi's model uses
        return [_canonical_number(w.lower()) for w in _pyvi_words(normalize_text(text))]
    return from_syllables(syllables(text), name)


def tokenize_folded(text: str, name: str = NAME) -> list[str]:
    """Tokens for the accent-folded field that serves queries typed without diacritics."""
    if name == PYVI_WORDS:
        return [fold_diacritics(w) for w in tokenize(text, name)]
    return from_syllables(folded_syllables(text), name)


def folded_syllables(text: str) -> list[str]:
    return [fold_diacritics(t) for t in syllables(text)]


def from_syllables(tokens: list[str], name: str = NAME) -> list[str]:
    if name == PYVI_WORDS:
        return [w.lower() for w in _pyvi_words(" ".join(tokens))]
    return with_bigrams(tokens) if name == NAME else tokens


def _pyvi_words(text: str) -> list[str]:
    from pyvi import ViTokenizer

    words = ViTokenizer.tokenize(text).split()
    return [w for w in words if _TOKEN.match(w)]


def query_tokens(tokens: list[str], name: str = NAME, expand: bool = True, folded: bool = False,
                 text: str | None = None) -> list[str]:
    """A query's syllables as BM25 tokens, plus the other form of each abbreviation (HTX ⇄ hợp tác xã).
    `text`, the question as typed, lets pyvi segment with its case and punctuation."""
    if name == PYVI_WORDS and text is not None:
        out = [w.lower() for w in _pyvi_words(fold_diacritics(text) if folded else normalize_text(text))]
    else:
        out = from_syllables(tokens, name)
    if expand:
        for extra in abbreviations.other_forms(tokens, folded):
            out += from_syllables(extra, name)
    return out
