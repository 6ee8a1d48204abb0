"""Abbreviations common in Vietnamese local-government news, matched to their long forms in queries.

A question about "hợp tác xã" must find "181 HTX", and one about "UBND" must find "Ủy ban nhân
dân". The query gets the other form's tokens added (index/tokenize.query_tokens), so the index is
unchanged and the table can grow without a rebuild. OCOP is left out on purpose: its long form
("mỗi xã một sản phẩm") is almost never written out and its syllables are too common to help.
"""

from __future__ import annotations

from functools import lru_cache

from ingest.textnorm import fold_diacritics

ABBREVIATIONS = {
    "htx": "hợp tác xã",
    "ubnd": "ủy ban nhân dân",
    "hđnd": "hội đồng nhân dân",
    "ntm": "nông thôn mới",
    "mttq": "mặt trận tổ quốc",
    "thcs": "trung học cơ sở",
    "thpt": "trung học phổ thông",
    "bhyt": "bảo hiểm y tế",
    "bhxh": "bảo hiểm xã hội",
    "đbqh": "đại biểu quốc hội",
    "gpmb": "giải phóng mặt bằng",
    "atgt": "an toàn giao thông",
    "csgt": "cảnh sát giao thông",
    "ctmtqg": "chương trình mục tiêu quốc gia",
    "lđtbxh": "lao động thương binh và xã hội",
    "ptnt": "phát triển nông thôn",
    "tnhh": "trách nhiệm hữu hạn",
}


@lru_cache(maxsize=2)
def _tables(folded: bool) -> tuple[dict[str, tuple[str, ...]], dict[str, list[tuple[tuple[str, ...], str]]]]:
    """(abbreviation → long form, first syllable of a long form → [(long form, abbreviation)])."""
    norm = fold_diacritics if folded else (lambda s: s)
    short_to_long = {norm(short): tuple(norm(long).split()) for short, long in ABBREVIATIONS.items()}
    by_first: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for short, words in short_to_long.items():
        by_first.setdefault(words[0], []).append((words, short))
    return short_to_long, by_first


def other_forms(syllables: list[str], folded: bool = False) -> list[list[str]]:
    """For each abbreviation in the syllables, its long form; for each long form, its abbreviation."""
    short_to_long, by_first = _tables(folded)
    extra: list[list[str]] = []
    for i, syllable in enumerate(syllables):
        if syllable in short_to_long:
            extra.append(list(short_to_long[syllable]))
        for words, short in by_first.get(syllable, ()):
            if tuple(syllables[i:i + len(words)]) == words:
                extra.append([short])
    return extra
