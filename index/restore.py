"""Put diacritics back on query syllables typed without them, from the index's own vocabulary.

"Mai Son co bao nhieu san pham OCOP" → "mai sơn có bao nhiêu sản phẩm ocop": every accent-free
syllable may become any indexed syllable that folds to it; a Viterbi pass picks the sequence whose
adjacent pairs occur in most chunks (the bigrams BM25 already indexed), unigram counts breaking ties.
Works for mixed queries too (only the accent-free syllables are open to change).
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Callable

from ingest.textnorm import fold_diacritics, has_diacritics

MAX_CANDIDATES = 8  # most frequent spellings kept per folded syllable ("ma": ma, mà, má, mã, mạ, mả…)
UNIGRAM_WEIGHT = 0.1  # pairs decide; a syllable's own frequency only breaks ties
# Questions are phrased in words news text rarely uses ("bao nhiêu" is not in most articles), so
# the corpus cannot restore them: these pairs count as if in PHRASE_COUNT chunks.
QUESTION_PAIRS = {("bao", "nhiêu"), ("như", "thế"), ("thế", "nào"), ("ở", "đâu"), ("khi", "nào"),
                  ("là", "gì"), ("những", "gì"), ("vì", "sao"), ("tại", "sao"), ("bao", "giờ"),
                  ("có", "không"), ("được", "không"), ("những", "nào"), ("là", "ai"), ("bao", "lâu")}
QUESTION_WORDS = {w for pair in QUESTION_PAIRS for w in pair}
PHRASE_COUNT = 1000
# In a query typed with some diacritics, an accent-free syllable is more likely meant as typed
# ("bao", "mai"): changing it must gain this much (log chunk count) over keeping it.
CHANGE_PENALTY = 2.0


class DiacriticRestorer:
    def __init__(self, vocabulary: dict[str, int], doc_freq: Callable[[str], int]):
        """vocabulary: the accented BM25 field's tokens; doc_freq(token) = chunks containing it."""
        self._vocabulary = vocabulary
        self._doc_freq = doc_freq
        self._spellings: dict[str, list[str]] | None = None

    def _candidates(self, syllable: str) -> list[str]:
        if has_diacritics(syllable) or not syllable.isalpha():
            return [syllable]
        if self._spellings is None:  # built on the first accent-free query, not at start-up
            spellings = defaultdict(list)
            for token in [*self._vocabulary, *QUESTION_WORDS]:
                if "_" not in token and token.isalpha():
                    spellings[fold_diacritics(token)].append(token)
            self._spellings = {folded: sorted(set(forms), key=lambda t: -self._doc_freq(t))[:MAX_CANDIDATES]
                               for folded, forms in spellings.items()}
        return self._spellings.get(syllable) or [syllable]

    def _log_df(self, token: str) -> float:
        return math.log1p(self._doc_freq(token)) if token in self._vocabulary else 0.0

    def _pair(self, left: str, right: str) -> float:
        if (left, right) in QUESTION_PAIRS:
            return math.log1p(PHRASE_COUNT)
        return self._log_df(f"{left}_{right}")

    def restore(self, syllables: list[str], any_accented: bool | None = None) -> list[str]:
        """The most likely accented spelling of lower-cased syllables (accented ones stay as typed)."""
        if not syllables:
            return []
        lattice = [self._candidates(s) for s in syllables]
        if any_accented is None:
            any_accented = any(has_diacritics(s) for s in syllables)
        penalty = CHANGE_PENALTY if any_accented else 0.0

        def own(i: int, c: str) -> float:
            return UNIGRAM_WEIGHT * self._log_df(c) - (penalty if c != syllables[i] else 0.0)

        # best[j] = (score, path) of the best sequence ending in lattice[i][j]
        best = [(own(0, c), [c]) for c in lattice[0]]
        for i, column in enumerate(lattice[1:], 1):
            step = []
            for c in column:
                score, path = max(((s + self._pair(p[-1], c), p) for s, p in best), key=lambda x: x[0])
                step.append((score + own(i, c), path + [c]))
            best = step
        return max(best, key=lambda x: x[0])[1]
