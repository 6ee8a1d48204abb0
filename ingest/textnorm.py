"""The one Vietnamese text normaliser, used on documents, queries and gold answers alike.

Covers: Unicode NFC, one tone-mark convention (the traditional one used by most news sites:
"hòa", "thủy", "khỏe"), whitespace, and accent folding for text typed without diacritics.
Leaves out: word segmentation and tokenisation (see index/tokenize.py). Bump VERSION whenever the
output for some input changes, because indexes record it and refuse to load under another version.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

VERSION = "1"

# Combining tone marks (grave, acute, hook, tilde, dot below); the vowel-shape marks (circumflex,
# breve, horn) stay with their letter.
_TONES = {"\u0300", "\u0301", "\u0309", "\u0303", "\u0323"}
_VOWELS = set("aăâeêioôơuưy")
_SHAPED = set("ăâêôơư")
_WORD = re.compile(r"[^\W\d_]+")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]+")


def _place_tone(letters: str) -> int | None:
    """Index of the vowel that carries the tone in a toneless, lowercase syllable."""
    start = 0
    if letters.startswith("qu"):
        start = 2
    elif letters.startswith("gi") and len(letters) > 2 and letters[2] in _VOWELS:
        start = 2
    while start < len(letters) and letters[start] not in _VOWELS:
        start += 1
    end = start
    while end < len(letters) and letters[end] in _VOWELS:
        end += 1
    if start == end:
        # "gì", "gìn": the i of gi is the only vowel
        return 1 if letters.startswith("gi") else None
    cluster = range(start, end)
    shaped = [i for i in cluster if letters[i] in _SHAPED]
    if shaped:
        return shaped[-1]  # ươ → ơ, iê → ê, uô → ô
    if end < len(letters):  # closed syllable: hoàng, tuyết
        return end - 1
    if end - start == 3:  # khuỷu, ngoài
        return start + 1
    return start  # open syllable: hòa, thủy, mía, tài


def _fix_syllable(match: re.Match) -> str:
    return _fix_word(match.group(0))


@lru_cache(maxsize=1 << 16)  # a corpus has few distinct syllables; tokenising meets each one often
def _fix_word(word: str) -> str:
    decomposed = unicodedata.normalize("NFD", word)
    tones = [c for c in decomposed if c in _TONES]
    if len(tones) != 1 or len(word) > 7:
        return word
    base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONES))
    pos = _place_tone(base.lower())
    if pos is None:
        return word
    marked = unicodedata.normalize("NFD", base[pos]) + tones[0]
    return unicodedata.normalize("NFC", base[:pos] + marked + base[pos + 1 :])


def normalize_text(text: str) -> str:
    """NFC, one tone-mark convention, unified spaces; keeps line breaks and case."""
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")
    text = _WORD.sub(_fix_syllable, text)
    return _SPACES.sub(" ", text)


def fold_diacritics(text: str) -> str:
    """Text as typed without diacritics: "Mai Sơn" → "Mai Son", "Đảng" → "Dang"."""
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return stripped.replace("đ", "d").replace("Đ", "D")


@lru_cache(maxsize=1 << 16)
def fold_word(word: str) -> str:
    """fold_diacritics of one word, cached: answering folds the same syllables over and over."""
    return fold_diacritics(word)


def has_diacritics(text: str) -> bool:
    """True when any letter carries a Vietnamese mark (or is đ)."""
    return fold_diacritics(text) != unicodedata.normalize("NFC", text)
