"""Load a built index and retrieve passages: BM25 (accented or folded field), dense (FAISS), fused.

Fusion is weighted reciprocal rank fusion. The dense weight is chosen per model by measurement
(MEASURED_DENSE_WEIGHTS, from `hoidap eval`), because an English model fused at equal weight makes
Vietnamese results worse than BM25 alone. Queries typed without diacritics use the folded field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ingest.textnorm import has_diacritics
from index import tokenize
from index.build import current_build
from index.manifest import IndexMismatch, IndexMissing, Manifest, check_compatible, expected_build
from index.settings import build_time

# Dense weight in the fusion, measured with `hoidap eval` on the gold set, vinewsqa-dev and
# alqac-legal (docs/retrieval.md). all-MiniLM-L6-v2 strips Vietnamese diacritics; any weight
# above this lowered nDCG@10 on every dataset.
MEASURED_DENSE_WEIGHTS = {"sentence-transformers/all-MiniLM-L6-v2": 0.0}
UNMEASURED_DENSE_WEIGHT = 1.0
RETRIEVERS = ("hybrid", "bm25", "dense")


def dense_weight_for(model_name: str, configured: float | None) -> float:
    if configured is not None:
        return float(configured)
    return MEASURED_DENSE_WEIGHTS.get(model_name, UNMEASURED_DENSE_WEIGHT)


@dataclass
class Passage:
    node_id: str
    doc_id: str
    title: str
    text: str
    score: float
    metadata: dict = field(default_factory=dict)
    ranks: dict = field(default_factory=dict)  # rank in each retriever that found it, 1-based


class LoadedIndex:
    """A build on disk, opened for querying (FAISS via llama-index, BM25 memory-mapped)."""

    def __init__(self, folder: Path, manifest: Manifest, embedder, settings=None):
        from llama_index.core import StorageContext, load_index_from_storage

        from index.bm25index import load_bm25
        from index.settings import IndexSettings
        from index.stores import open_store

        self.folder = folder
        self.manifest = manifest
        self.embedder = embedder
        llama_dir = str(folder / "llama")
        store = open_store(folder, manifest, settings or IndexSettings())
        storage = StorageContext.from_defaults(vector_store=store, persist_dir=llama_dir)
        self.vector_index = load_index_from_storage(storage, embed_model=embedder)
        self.docstore = storage.docstore
        self.node_ids: list[str] = json.loads((folder / "node_ids.json").read_text(encoding="utf-8"))
        self.bm25 = load_bm25(folder / "bm25")
        self.bm25_folded = load_bm25(folder / "bm25_folded")

    def document_frequency(self, folded_term: str) -> tuple[int, int]:
        """(chunks containing the accent-folded term, all chunks): for weighting question terms."""
        column = self.bm25_folded.vocab_dict.get(folded_term)
        n_docs = int(self.bm25_folded.scores["num_docs"])
        if column is None:
            return 0, n_docs
        indptr = self.bm25_folded.scores["indptr"]
        return int(indptr[column + 1] - indptr[column]), n_docs

    # -- single retrievers -------------------------------------------------------------------
    def bm25_ranking(self, query: str, depth: int, allowed: np.ndarray | None = None) -> list[tuple[str, float]]:
        """Top node ids by BM25 on the accented field, or the folded one for accent-free queries."""
        if has_diacritics(query):
            scores = self.bm25.get_scores(tokenize.tokenize(query, self.manifest.tokenizer))
        else:
            scores = self.bm25_folded.get_scores(tokenize.tokenize_folded(query, self.manifest.tokenizer))
        if allowed is not None:
            scores = np.where(allowed, scores, 0.0)
        depth = min(depth, len(scores))
        top = np.argpartition(-scores, depth - 1)[:depth] if depth < len(scores) else np.arange(len(scores))
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.node_ids[i], float(scores[i])) for i in top if scores[i] > 0]

    def dense_ranking(self, query: str, depth: int, allowed_ids: set[str] | None = None) -> list[tuple[str, float]]:
        fetch = depth if allowed_ids is None else min(len(self.node_ids), depth * 10)
        retriever = self.vector_index.as_retriever(similarity_top_k=fetch)
        hits = [(n.node.node_id, float(n.score or 0.0)) for n in retriever.retrieve(query)]
        if allowed_ids is not None:
            hits = [h for h in hits if h[0] in allowed_ids]
        return hits[:depth]

    # -- fused -------------------------------------------------------------------------------
    def retrieve(self, query: str, k: int = 5, mode: str = "hybrid", doc_ids: set[str] | None = None,
                 depth: int = 50) -> list[Passage]:
        allowed = None
        allowed_ids = None
        if doc_ids is not None:
            allowed_ids = {nid for nid in self.node_ids if nid.split("#", 1)[0] in doc_ids}
            allowed = np.array([nid in allowed_ids for nid in self.node_ids])
        rankings: dict[str, tuple[float, list[tuple[str, float]]]] = {}
        dense_weight = self.manifest.dense_weight if mode == "hybrid" else 1.0
        if mode in ("hybrid", "bm25"):
            rankings["bm25"] = (1.0, self.bm25_ranking(query, depth, allowed))
        if mode == "dense" or (mode == "hybrid" and dense_weight > 0):
            rankings["dense"] = (dense_weight, self.dense_ranking(query, depth, allowed_ids))
        fused = fuse(rankings, self.manifest.rrf_k)
        return [self._passage(node_id, score, ranks) for node_id, score, ranks in fused[:k]]

    def _passage(self, node_id: str, score: float, ranks: dict) -> Passage:
        node = self.docstore.get_node(node_id)
        meta = dict(node.metadata)
        return Passage(node_id, meta.get("doc_id", ""), meta.get("title", ""), node.get_content(), score, meta, ranks)


def fuse(rankings: dict[str, tuple[float, list[tuple[str, float]]]], rrf_k: int) -> list[tuple[str, float, dict]]:
    """Weighted reciprocal rank fusion; a single ranking keeps its own order and scores."""
    active = {name: r for name, r in rankings.items() if r[0] > 0}
    if len(active) == 1:
        name, (_, ranking) = next(iter(active.items()))
        return [(node_id, score, {name: rank}) for rank, (node_id, score) in enumerate(ranking, 1)]
    scores: dict[str, float] = {}
    ranks: dict[str, dict] = {}
    for name, (weight, ranking) in active.items():
        for rank, (node_id, _) in enumerate(ranking, 1):
            scores[node_id] = scores.get(node_id, 0.0) + weight / (rrf_k + rank)
            ranks.setdefault(node_id, {})[name] = rank
    ordered = sorted(scores, key=lambda n: -scores[n])
    return [(n, round(scores[n], 6), ranks[n]) for n in ordered]


def read_manifest(data_dir: Path, settings) -> Manifest:
    """The current build's manifest, checked against the index settings in force now."""
    folder = current_build(data_dir)
    if folder is None:
        raise IndexMissing(
            f"Chưa có chỉ mục trong {data_dir} (no index yet). Chạy `hoidap ingest` để nạp bài viết."
        )
    manifest = Manifest.load(folder)
    if build_time(manifest.settings) != settings.build_time():
        changed = sorted(k for k, v in settings.build_time().items() if manifest.settings.get(k) != v)
        raise IndexMismatch(
            f"Chỉ mục được dựng với thiết lập khác ({', '.join(changed)}). "
            "Chạy `hoidap ingest --rebuild` để dựng lại với thiết lập hiện tại."
        )
    return manifest


def open_index(data_dir: Path, embedder, settings) -> LoadedIndex:
    """Open the current build under data_dir after checking it matches the settings and model."""
    from index.build import chunking_record
    from ingest import textnorm

    manifest = read_manifest(data_dir, settings)
    wanted = expected_build(embedder.info.to_dict(), settings.bm25_tokenizer, textnorm.VERSION,
                            chunking_record(settings, embedder.info.max_seq_length))
    check_compatible(manifest, wanted)
    return LoadedIndex(current_build(data_dir), manifest, embedder, settings)
