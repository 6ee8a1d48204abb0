"""Synthetic corpora too large for the build path (1M chunks): FAISS and bm25s built directly, then queried.

Documents are generated as token ids (runs of the sample articles' syllables, with numbers and
places), both BM25 fields are built by index/bm25index.py, the FAISS index of the configured type by
index/vectors.py from random unit vectors. A second process opens them like a build (FaissVectorStore,
bm25s memory-mapped) and queries through LoadedIndex's own ranking and fusion code (ScaleIndex).
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from eval.bench_common import (
    SYNTHETIC_DENSE_WEIGHT,
    SYNTHETIC_MODEL,
    folder_bytes,
    own_peak_rss_mb,
    unmeasured_row,
)
from index.retrieve import LoadedIndex, Passage

TITLE_TOKENS = 8
RUN = 16  # syllables copied in one run from the sample text (keeps its bigrams plausible)
RECALL_K = 10
UNITS = ("xã", "huyện", "bản", "thị trấn", "tỉnh")
MEASURES = ("ha", "hộ", "tấn", "tỷ đồng", "người", "sản phẩm")


def query_vector(text: str, dimension: int):
    """The stand-in query embedding: a unit vector fixed by the question text (so recall can be checked)."""
    import numpy as np

    seed = int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:16], 16)
    vector = np.random.default_rng(seed).standard_normal(dimension).astype("float32")
    return vector / np.linalg.norm(vector)


def random_unit_vectors(n: int, dimension: int, seed: int):
    import numpy as np

    rng = np.random.default_rng(seed)
    out = np.empty((n, dimension), dtype="float32")
    for start in range(0, n, 100_000):
        block = rng.standard_normal((min(100_000, n - start), dimension), dtype=np.float32)
        out[start:start + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


# ---------------------------------------------------------------- documents as token ids


def syllable_documents(n_docs: int, vocab: dict, body_words: int, seed: int):
    """(matrix n_docs × length of syllable ids, syllable strings) shaped like synthetic_articles' chunks."""
    import numpy as np

    from index.tokenize import syllables

    words = syllables(" ".join(vocab["words"]))
    titles = syllables(" ".join(vocab["title_words"]))
    names = [s for name in (vocab["names"] or ["Mai", "Sơn"]) for s in syllables(name)]
    numbers = [f"{n:,}".replace(",", ".") for n in range(1, 100_000)]
    strings = sorted(set(words) | set(titles) | set(names) | set(syllables(" ".join(UNITS + MEASURES))) |
                     {syllables(n)[0] for n in numbers})
    sid = {s: i for i, s in enumerate(strings)}
    seq, title_seq = np.array([sid[s] for s in words]), np.array([sid[s] for s in titles])
    number_ids = np.array([sid[syllables(n)[0]] for n in numbers])
    unit_ids = np.array([sid[syllables(u)[0]] for u in UNITS])  # "thị trấn" → "thị": close enough here
    measure_ids = np.array([sid[syllables(m)[0]] for m in MEASURES])
    name_ids = np.array([sid[s] for s in names])
    rng = np.random.default_rng(seed)
    runs = max(1, round(body_words / RUN))
    starts = rng.integers(0, max(1, len(seq) - RUN), size=(n_docs, runs))
    body = seq[(starts[..., None] + np.arange(RUN)) % len(seq)].astype(np.int32)  # n_docs × runs × RUN
    # As synthetic_articles: a number with its measure in 60% of sentences, a place in half of them.
    at = rng.integers(0, RUN - 3, size=(n_docs, runs))
    rows, cols = np.nonzero(rng.random((n_docs, runs)) < 0.6)
    body[rows, cols, at[rows, cols]] = number_ids[rng.integers(0, len(number_ids), len(rows))]
    body[rows, cols, at[rows, cols] + 1] = measure_ids[rng.integers(0, len(measure_ids), len(rows))]
    rows, cols = np.nonzero(rng.random((n_docs, runs)) < 0.5)
    place = at[rows, cols] + 2 - RUN // 2  # the other half of the run
    body[rows, cols, place] = unit_ids[rng.integers(0, len(unit_ids), len(rows))]
    body[rows, cols, place + 1] = name_ids[rng.integers(0, len(name_ids), len(rows))]
    body[rows, cols, place + 2] = name_ids[rng.integers(0, len(name_ids), len(rows))]
    t_starts = rng.integers(0, max(1, len(title_seq) - TITLE_TOKENS), size=n_docs)
    title = title_seq[(t_starts[:, None] + np.arange(TITLE_TOKENS)) % len(title_seq)].astype(np.int32)
    return np.hstack([title, body.reshape(n_docs, runs * RUN)]), strings


def field_ids(matrix, strings: list[str], fold: bool, bigrams: bool):
    """Token ids, offsets and vocabulary of one BM25 field, as index.tokenize would tokenize the text."""
    import numpy as np

    from ingest.textnorm import fold_diacritics

    if fold:
        folded = [fold_diacritics(s) for s in strings]
        names = sorted(set(folded))
        position = {s: i for i, s in enumerate(names)}
        mapping = np.array([position[f] for f in folded], dtype=np.int32)
        matrix, strings = mapping[matrix], names
    n_docs, length = matrix.shape
    vocab = {s: i for i, s in enumerate(strings)}
    if not bigrams:
        return matrix.ravel(), np.arange(n_docs + 1, dtype=np.int64) * length, vocab
    keys = matrix[:, :-1].astype(np.int64) * len(strings) + matrix[:, 1:]
    unique, inverse = np.unique(keys, return_inverse=True)
    del keys
    for key in unique.tolist():
        vocab[f"{strings[key // len(strings)]}_{strings[key % len(strings)]}"] = len(vocab)
    tokens = np.hstack([matrix, (len(strings) + inverse.reshape(n_docs, length - 1)).astype(np.int32)])
    return tokens.ravel(), np.arange(n_docs + 1, dtype=np.int64) * tokens.shape[1], vocab


# ---------------------------------------------------------------- build (first process)


def build_scale(size: int, dimension: int, settings: dict, vocab_path: str, questions: list[str], work_dir: str,
                seed: int = 0, tokens_per_word: float = 1.0, max_seq_length: int = 256) -> dict:
    """Generate and write one synthetic index of `size` chunks plus the exact top-10 of each question."""
    import numpy as np
    from llama_index.vector_stores.faiss import FaissVectorStore

    from index.bm25index import bm25_from_ids
    from index.manifest import Manifest
    from index.settings import IndexSettings
    from index.tokenize import NAME
    from index.vectors import build_faiss_index, choose_kind, describe

    index_settings = IndexSettings(**{**settings, "context_fields": tuple(settings["context_fields"])})
    folder = Path(work_dir)
    folder.mkdir(parents=True, exist_ok=True)
    vocab = json.loads(Path(vocab_path).read_text(encoding="utf-8"))
    limit = min(index_settings.chunk_tokens, max_seq_length)
    # As synthetic_articles: the body fills 90% of what the title leaves of a chunk.
    body_words = int(0.9 * (limit - (tokens_per_word * TITLE_TOKENS + 2) - 1) / tokens_per_word)
    timings = {}
    t0 = time.perf_counter()
    matrix, strings = syllable_documents(size, vocab, body_words, seed)
    timings["generate_s"] = time.perf_counter() - t0
    bigrams = index_settings.bm25_tokenizer == NAME
    t0 = time.perf_counter()
    for name, fold in (("bm25", False), ("bm25_folded", True)):
        ids, offsets, field_vocab = field_ids(matrix, strings, fold, bigrams)
        bm25_from_ids(ids, offsets, field_vocab).save(str(folder / name), show_progress=False)
        del ids, offsets, field_vocab
    timings["bm25_s"] = time.perf_counter() - t0
    tokens_per_chunk = matrix.shape[1]
    del matrix
    t0 = time.perf_counter()
    vectors = random_unit_vectors(size, dimension, seed)
    timings["generate_s"] += time.perf_counter() - t0
    t0 = time.perf_counter()
    kind = choose_kind(index_settings.faiss_index, size, index_settings.faiss_exact_below)
    index, factory = build_faiss_index(vectors, kind)
    FaissVectorStore(faiss_index=index).persist(str(folder / "llama" / "default__vector_store.json"))
    timings["faiss_s"] = time.perf_counter() - t0
    record = describe(kind, factory, index)
    del index
    # Exact neighbours of each question's stand-in vector, by blocks of the matrix.
    queries = np.stack([query_vector(q, dimension) for q in questions])
    best = np.full((len(questions), 0), -1, dtype=np.int64)
    best_scores = np.zeros((len(questions), 0), dtype="float32")
    for start in range(0, size, 200_000):
        scores = queries @ vectors[start:start + 200_000].T
        ids = np.arange(start, start + scores.shape[1])
        best_scores = np.hstack([best_scores, scores])
        best = np.hstack([best, np.broadcast_to(ids, scores.shape)])
        keep = np.argsort(-best_scores, axis=1)[:, :RECALL_K]
        best_scores, best = np.take_along_axis(best_scores, keep, 1), np.take_along_axis(best, keep, 1)
    (folder / "exact.json").write_text(json.dumps({q: row.tolist() for q, row in zip(questions, best)}))
    Manifest(embed_model={"name": SYNTHETIC_MODEL, "dimension": dimension}, tokenizer=index_settings.bm25_tokenizer,
             normaliser_version="", chunking={}, dense_weight=SYNTHETIC_DENSE_WEIGHT, rrf_k=index_settings.rrf_k,
             fusion={"method": index_settings.fusion, "dense": SYNTHETIC_DENSE_WEIGHT, "article": 0.0},
             vector_store="faiss", vector_index=record, n_chunks=size, settings=index_settings.to_dict(),
             created_at=time.strftime("%Y-%m-%dT%H:%M:%S%z")).save(folder)
    return {"size": size, "chunks": size, "tokens_per_chunk": tokens_per_chunk, "vector_index": record,
            **{k: round(v, 2) for k, v in timings.items()}, "build_s": round(sum(timings.values()), 2),
            "build_peak_rss_mb": own_peak_rss_mb()}


# ---------------------------------------------------------------- query (second process)


class ScaleIndex(LoadedIndex):
    """A LoadedIndex over a directly built folder: its BM25, dense and fused ranking code runs as is;
    only the query's vector (a fixed random one), the row → node id map and the passage texts are
    replaced, as there is no model, index struct or docstore."""

    def __init__(self, folder: Path, retrieval):
        from index.bm25index import load_bm25
        from index.manifest import Manifest
        from index.stores import open_store

        self.folder = folder
        self.manifest = Manifest.load(folder)
        self.embedder = None
        self.retrieval, self._restorer, self.reranker = retrieval, None, None
        self.articles, self._rows = None, None  # no whole-article field: one synthetic article per chunk
        self.sentences, self._query_vector = None, None  # no sentence vectors (the answer stage is not measured)
        self.query_adapter = None  # fitted per real model; the synthetic vectors have none
        self.rss_mb = {"start": _rss_mb()}  # what each part adds to resident memory when opened
        self.vector_store = open_store(folder, self.manifest, retrieval)
        self.rss_mb["faiss"] = _rss_mb() - self.rss_mb["start"]
        before = _rss_mb()
        self.bm25 = load_bm25(folder / "bm25")
        self.bm25_folded = load_bm25(folder / "bm25_folded")
        self.rss_mb["bm25_both_fields"] = round(_rss_mb() - before, 1)
        self.node_ids = [f"synthetic/{i:07d}#0" for i in range(self.manifest.n_chunks)]

    def query_embedding(self, query: str) -> list[float]:
        return query_vector(query, self.manifest.embed_model["dimension"]).tolist()

    def node_id_of(self, row_id: str) -> str:
        return self.node_ids[int(row_id)]

    def _passage(self, node_id: str, score: float, ranks: dict) -> Passage:
        return Passage(node_id, node_id.split("#", 1)[0], "", "", score, {}, ranks)


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def query_scale(work_dir: str, retrieval: dict, questions: list[str], rounds: int) -> dict:
    """Open a directly built index like a build, measure latency per mode and dense recall@10 vs exact."""
    from eval.synthetic import measure_latency
    from index.settings import RetrievalSettings

    folder = Path(work_dir)
    t0 = time.perf_counter()
    index = ScaleIndex(folder, RetrievalSettings(**retrieval))
    open_s = time.perf_counter() - t0
    rss_open = _rss_mb()
    exact = json.loads((folder / "exact.json").read_text())
    found = [{n for n, _ in index.dense_ranking(q, 50)[:RECALL_K]} for q in questions]  # depth as in retrieve
    recall = sum(len(f & {index.node_ids[i] for i in exact[q]}) for f, q in zip(found, questions))
    latency, query_s = measure_latency(index, questions, rounds)
    arrays = sum(p.stat().st_size for name in ("bm25", "bm25_folded") for p in (folder / name).glob("*.npy"))
    return {"open_s": round(open_s, 2), "query_s": round(query_s, 2), "rss_after_open_mb": rss_open,
            "rss_added_on_open_mb": {k: round(v, 1) for k, v in index.rss_mb.items()},
            "bm25_arrays_mb": round(arrays / 1024**2, 1), "rss_after_queries_mb": _rss_mb(),
            "bm25_memory_mapped": all(type(index.bm25.scores[k]).__name__ == "memmap" for k in ("data", "indices")),
            "bm25_vocabulary": len(index.bm25.vocab_dict) + len(index.bm25_folded.vocab_dict),
            "recall_at_10": round(recall / (RECALL_K * len(questions)), 4), "query_latency_ms": latency,
            "peak_rss_mb": own_peak_rss_mb(), "index_mb": round(folder_bytes(folder) / 1024**2, 1),
            "parts_mb": {p.name: round((folder_bytes(p) if p.is_dir() else p.stat().st_size) / 1024**2, 1)
                         for p in sorted(folder.iterdir())}}


# ---------------------------------------------------------------- driver and report (bench process)


def scale_in_children(work: Path, size: int, dimension: int, settings: dict, vocab_path: str,
                      questions: list[str], rounds: int, tokens_per_word: float, max_seq_length: int,
                      retrieval: dict | None = None) -> dict:
    """Build in one child process, query in another: the second one's memory is what serving needs."""
    import shutil

    from eval.synthetic import synthetic_in_child

    folder = work / f"scale-{size}"
    try:
        built = synthetic_in_child(work, task="scale-build", size=size, dimension=dimension, settings=settings,
                                   vocab_path=vocab_path, questions=questions, work_dir=str(folder),
                                   tokens_per_word=tokens_per_word, max_seq_length=max_seq_length)
        if "error" in built:
            return built
        queried = synthetic_in_child(work, task="scale-query", tag=str(size), work_dir=str(folder),
                                     retrieval=retrieval or {}, questions=questions, rounds=rounds)
        if "error" in queried:
            return {"size": size, "error": queried["error"], "build": built}
        return {**built, **queried, "build_wall_s": built["wall_s"], "wall_s": built["wall_s"] + queried["wall_s"]}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def scale_markdown(rows: list[dict], dimension) -> list[str]:
    def both(stats: dict) -> str:
        return f"{stats['p50']:,.1f} / {stats['p95']:,.1f}"

    lines = ["## Scale path: synthetic corpora built directly", "",
             (f"**Random unit vectors ({dimension} dims) stand in for embeddings and the text is synthetic**: "
             "documents are runs of the sample articles' syllables with random numbers and places, generated "
             "as token ids (no text is tokenised). Both BM25 fields are built by `index/bm25index.py` (a numpy "
             "builder, tested equal to bm25s.index, that `hoidap ingest` uses too), the FAISS index of the configured "
             "type by `index/vectors.py`; a second process opens them as a build is opened (FaissVectorStore, "
             "bm25s memory-mapped) and queries through LoadedIndex's ranking and fusion code with the gold "
             "questions, each mapped to a fixed random vector. Latency excludes query encoding. Recall@10 is "
             "the dense top 10 (searched at depth 50, as retrieval does) against exact inner-product search."), "",
             ("| chunks | FAISS index | build s (bm25 / faiss) | build peak RSS MB | open s | RSS after open MB "
              "| query peak RSS MB | index MB | recall@10 vs exact | bm25 p50/p95 ms | dense p50/p95 ms "
              "| hybrid p50/p95 ms |"), "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        if unmeasured := unmeasured_row(row, f"{row['size']:,}", 12):
            lines.append(unmeasured)
            continue
        lat = row["query_latency_ms"]
        lines.append(
            f"| {row['chunks']:,} | {row['vector_index']['factory']} | {row['build_s']:,.0f} ({row['bm25_s']:,.0f} / "
            f"{row['faiss_s']:,.0f}) | {row['build_peak_rss_mb']:,.0f} | {row['open_s']} | {row['rss_after_open_mb']:,.0f} "
            f"| {row['peak_rss_mb']:,.0f} | {row['index_mb']:,.0f} | {row['recall_at_10']:.3f} | {both(lat['bm25'])} | "
            f"{both(lat['dense'])} | {both(lat['hybrid'])} |")
    return lines + [""]
