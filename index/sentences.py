"""Sentence vectors: every sentence of every chunk embedded once at build time.

Fusion reads each candidate chunk's closest sentence to the question (docs/retrieval.md), the answer
model each candidate sentence's cosine (docs/answers.md). Encoding them per question cost 225–285 ms
for 8 sentences on the engine; against vectors stored here it is one small matrix product. Sentences are split as the answer stage splits a passage
(ingest.chunk.passage_sentences), so sentence j of chunk row r is vector offsets[r] + j.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ingest.chunk import passage_sentences

SPLITTER = "ingest.chunk passage_sentences v1"
VECTORS = "sentence_vectors.npy"
OFFSETS = "sentence_offsets.npy"
BATCH = 64  # short texts: the engine packs a batch into one pass (80 sentences/s at 1,000 per call)


def sentence_rows(chunk_texts: list[str]) -> tuple[list[str], np.ndarray]:
    """(every chunk's sentences in order, offsets: chunk r's sentences are rows offsets[r]:offsets[r+1])."""
    texts, offsets = [], [0]
    for text in chunk_texts:
        texts += [s.strip() for s in passage_sentences(text)]
        offsets.append(len(texts))
    return texts, np.asarray(offsets, dtype=np.int64)


def write_sentence_vectors(folder: Path, chunk_texts: list[str], embed) -> dict:
    """Embed the chunks' sentences with `embed(texts) -> (vectors, reused, computed, embedded_with)` (the
    build's cached embedding) and save them as float16; returns the manifest's record of them."""
    texts, offsets = sentence_rows(chunk_texts)
    vectors, reused, computed, embedded_with = embed(texts)
    np.save(folder / VECTORS, np.asarray(vectors, dtype=np.float16))
    np.save(folder / OFFSETS, offsets)
    return {"splitter": SPLITTER, "count": len(texts), "embedded": computed, "reused_vectors": reused,
            "embedded_with": embedded_with}


def open_sentence_vectors(folder: Path, record: dict) -> "SentenceVectors | None":
    """A build's sentence vectors; None when it has none or split its sentences another way (answers
    and fusion then go without them). Unreadable files are a broken index: say how to rebuild."""
    if record.get("splitter") != SPLITTER:
        return None
    try:
        return SentenceVectors(np.load(folder / VECTORS, mmap_mode="r"), np.load(folder / OFFSETS))
    except (OSError, ValueError) as exc:
        from index.manifest import IndexMismatch

        raise IndexMismatch(f"Vectơ câu của chỉ mục ở {folder} không đọc được ({type(exc).__name__}). "
                            "Chạy `hoidap ingest --rebuild` để dựng lại.") from exc


class SentenceVectors:
    """A build's sentence vectors (memory-mapped) and where each chunk's sentences start."""

    def __init__(self, vectors: np.ndarray, offsets: np.ndarray):
        self.vectors = vectors
        self.offsets = offsets

    def best(self, rows: np.ndarray, query_vector) -> np.ndarray:
        """Each chunk row's highest sentence cosine to the query (0 for a chunk without sentences)."""
        rows = np.asarray(rows, dtype=np.int64)
        starts, ends = self.offsets[rows], self.offsets[rows + 1]
        sims = np.asarray(self.vectors[np.concatenate([np.arange(a, b) for a, b in zip(starts, ends)]
                                                      or [np.zeros(0, dtype=np.int64)])], dtype=np.float32)
        sims = sims @ np.asarray(query_vector, dtype=np.float32)
        out = np.zeros(len(rows), dtype=np.float32)
        filled = ends > starts
        if filled.any():
            # the blocks are consecutive in sims, so each chunk's maximum is a reduceat over its start
            firsts = np.concatenate([[0], np.cumsum(ends - starts)[:-1]])[filled]
            out[filled] = np.maximum.reduceat(sims, firsts)
        return out

    def similarities(self, row: int, query_vector) -> list[float]:
        """Cosine of the query to each sentence of chunk `row` (vectors are unit length)."""
        block = np.asarray(self.vectors[self.offsets[row]: self.offsets[row + 1]], dtype=np.float32)
        return [round(float(v), 5) for v in block @ np.asarray(query_vector, dtype=np.float32)]
