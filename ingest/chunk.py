"""Cut an article into passages along sentence boundaries, with overlap, within a token budget.

The budget is counted by a function the caller passes (the embedding model's own tokenizer), so no
passage is silently truncated by the model. Leaves out what is prepended to each chunk for
embedding (the article context header): index/ decides that and subtracts it from the budget.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

# A sentence ends at . ! ? … (maybe closing a quote) followed by space; split_sentences then
# re-joins pieces that start in lower case ("TP. hcm"); dots inside numbers never have a space.
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|(?<=[.!?…][\"”’)])\s+")
_CLAUSE_END = re.compile(r"(?<=[;:])\s+")


@dataclass
class Chunk:
    text: str
    index: int  # position in the article
    start_sentence: int  # first sentence index (for highlighting and windows)


def split_sentences(paragraph: str) -> list[str]:
    """Sentences of one paragraph; a paragraph never ends mid-sentence in these articles."""
    sentences: list[str] = []
    for piece in _SENTENCE_END.split(paragraph):
        piece = piece.strip()
        if not piece:
            continue
        first = piece.lstrip("\"“‘(-–• ")[:1]
        if sentences and first and not (first.isupper() or first.isdigit()):
            sentences[-1] += " " + piece
        else:
            sentences.append(piece)
    return sentences


def _split_long(sentence: str, budget: int, count: Callable[[str], int]) -> list[str]:
    """A sentence over budget is cut at clause marks (; :), then between words."""
    pieces = [p for p in _CLAUSE_END.split(sentence) if p]
    out: list[str] = []
    for piece in pieces:
        if count(piece) <= budget:
            out.append(piece)
            continue
        words, current = piece.split(" "), []
        for word in words:
            if current and count(" ".join(current + [word])) > budget:
                out.append(" ".join(current))
                current = []
            current.append(word)
        if current:
            out.append(" ".join(current))
    # Re-merge neighbouring small pieces so clauses stay together when they fit.
    merged: list[str] = []
    for piece in out:
        if merged and count(merged[-1] + " " + piece) <= budget:
            merged[-1] = merged[-1] + " " + piece
        else:
            merged.append(piece)
    return merged


def chunk_paragraphs(
    paragraphs: list[str],
    budget: int,
    count: Callable[[str], int],
    overlap: int = 0,
) -> list[Chunk]:
    """Greedy packing of whole sentences into chunks of at most `budget` tokens.

    `overlap` tokens' worth of trailing sentences from a chunk start the next one, so a fact split
    across a boundary is whole in at least one chunk.
    """
    sentences: list[str] = []
    for paragraph in paragraphs:
        for sentence in split_sentences(paragraph):
            sentences.extend([sentence] if count(sentence) <= budget else _split_long(sentence, budget, count))
    chunks: list[Chunk] = []
    start = 0
    while start < len(sentences):
        end, used = start, 0
        while end < len(sentences):
            cost = count(sentences[end]) + (1 if end > start else 0)
            if end > start and used + cost > budget:
                break
            used += cost
            end += 1
        chunks.append(Chunk(" ".join(sentences[start:end]), len(chunks), start))
        if end >= len(sentences):
            break
        # Step back over trailing sentences that fit in the overlap, but always move forward.
        back, carried = end, 0
        while back - 1 > start and carried + count(sentences[back - 1]) <= overlap:
            back -= 1
            carried += count(sentences[back])
        start = back
    return chunks


def passage_sentences(text: str) -> list[str]:
    """A passage's sentences, paragraph by paragraph: what the answer stage offers as candidates and
    what the index embeds one by one (index/sentences.py), so the two line up row for row."""
    return [s for para in text.split("\n") for s in split_sentences(para)]
