"""BM25 tokens for Vietnamese: syllables plus adjacent-syllable bigrams, with an accent-folded twin.

Why not bm25s/llama-index defaults: their `\\w\\w+` pattern drops one-letter syllables ("ở", "ý")
and one-digit numbers, and the English stemmer/stopwords mangle Vietnamese. Bigrams stand in for
word segmentation ("sản phẩm", "nông thôn"), which pyvi gets wrong on text without diacritics.
The tokenizer's NAME is recorded in the index manifest; change it when the output changes.
"""

from __future__ import annotations

import re

from ingest.textnorm import fold_diacritics, normalize_text

# Tokenizer names as recorded in manifests; the default is the measured best (docs/retrieval.md).
NAME = "syllable-bigram-v1"
SYLLABLE_ONLY = "syllable-v1"
TOKENIZERS = (NAME, SYLLABLE_ONLY)

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
    tokens = syllables(text)
    return with_bigrams(tokens) if name == NAME else tokens


def tokenize_folded(text: str, name: str = NAME) -> list[str]:
    """Tokens for the accent-folded field that serves queries typed without diacritics."""
    tokens = [fold_diacritics(t) for t in syllables(text)]
    return with_bigrams(tokens) if name == NAME else tokens
