"""FAISS index that fits the size: exact search while small, approximate with exact re-ranking beyond.

`choose_kind` turns the faiss_index setting and the chunk count into an index type, `new_faiss_index`
makes (and trains) it from the vectors, `build_faiss_index` also fills it; the build and the bench
share them. `tune_for_search` sets the query-time knobs (re-ranking depth, efSearch, nprobe, threads).
"""

from __future__ import annotations

import math

# "pq-refine" scans 4-bit product-quantised codes of every vector (SIMD fast-scan) and re-ranks the
# best k × faiss_refine_factor exactly: it needs no cluster structure, so its recall holds even on
# random vectors, where graph (hnsw) and cluster (ivf) indexes degrade (docs/scaling.md).
KINDS = ("flat", "pq-refine", "hnsw", "ivf")
CHOICES = ("auto",) + KINDS
TRAIN_SAMPLE = 50_000  # vectors a quantiser is trained on; more changed recall by < 0.01 (docs/scaling.md)
ADD_BATCH = 65_536
PQ_MIN_VECTORS = 64


def choose_kind(setting: str, n_vectors: int, exact_below: int) -> str:
    """The index type for n_vectors: the setting itself, or for "auto" flat below the threshold."""
    if setting not in CHOICES:
        raise ValueError(f"faiss_index phải là một trong {CHOICES} (got {setting!r})")
    if setting == "pq-refine" and n_vectors < PQ_MIN_VECTORS:
        return "flat"  # 4-bit PQ trains 16 centroids per sub-space; this few vectors are searched exactly anyway
    if setting != "auto":
        return setting
    return "flat" if n_vectors < exact_below else "pq-refine"


def _pq_subquantizers(dimension: int) -> int:
    # Two dimensions per 4-bit code (the finest fast-scan split that trains quickly); M must divide d.
    for m in range(max(1, dimension // 2), 0, -1):
        if dimension % m == 0:
            return m
    return 1


def factory_string(kind: str, dimension: int, n_vectors: int) -> str:
    """faiss.index_factory description of an index type at a size (recorded in the manifest)."""
    if kind == "flat":
        return "Flat"
    if kind == "pq-refine":
        return f"PQ{_pq_subquantizers(dimension)}x4fs,RFlat"
    if kind == "hnsw":
        return "HNSW32,SQ8,RFlat"
    if kind == "ivf":
        # About 4·√n lists, each trained on ≥ 39 points of the sample (faiss's own minimum).
        nlist = max(1, min(int(4 * math.sqrt(max(1, n_vectors))), min(n_vectors, TRAIN_SAMPLE) // 39))
        return f"IVF{nlist},SQ8,RFlat"
    raise ValueError(f"faiss_index phải là một trong {CHOICES} (got {kind!r})")


def _train_sample(vectors, size: int):
    import numpy as np

    if len(vectors) <= size:
        return np.ascontiguousarray(vectors, dtype="float32")
    rows = np.sort(np.random.default_rng(0).choice(len(vectors), size, replace=False))
    return np.ascontiguousarray(vectors[rows], dtype="float32")


def new_faiss_index(vectors, kind: str):
    """An empty inner-product index of this kind, trained on (a sample of) vectors; returns (index, factory)."""
    import faiss

    n, dimension = vectors.shape
    factory = factory_string(kind, dimension, n)
    index = faiss.index_factory(dimension, factory, faiss.METRIC_INNER_PRODUCT)
    if not index.is_trained:
        if n == 0:
            raise ValueError("không có vectơ nào để huấn luyện chỉ mục FAISS (no vectors to train on)")
        # PQ trains hundreds of tiny k-means: on a busy 2-core machine OpenMP made that 56 s instead
        # of 6.5 s single-threaded (50k × 384 vectors); IVF's one large k-means gains from threads.
        with build_threads(1 if kind == "pq-refine" else None):
            index.train(_train_sample(vectors, TRAIN_SAMPLE))
    return index, factory


def add_vectors(index, vectors) -> None:
    """Append vectors in large batches (faiss parallelises inside a batch)."""
    import numpy as np

    with build_threads():
        for start in range(0, len(vectors), ADD_BATCH):
            index.add(np.ascontiguousarray(vectors[start:start + ADD_BATCH], dtype="float32"))


def build_faiss_index(vectors, kind: str):
    """A filled index of this kind over vectors (row i has id i); returns (index, factory)."""
    index, factory = new_faiss_index(vectors, kind)
    add_vectors(index, vectors)
    return index, factory


class build_threads:
    """Use every core (or `threads`) while building; restore the query-time thread count afterwards."""

    def __init__(self, threads: int | None = None):
        self._threads = threads

    def __enter__(self):
        import os

        import faiss

        self._before = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(self._threads or os.cpu_count() or 1)

    def __exit__(self, *_exc):
        import faiss

        faiss.omp_set_num_threads(self._before)


def tune_for_search(index, settings) -> dict:
    """Set the query-time parameters from IndexSettings on a loaded index; returns what was set.

    One thread per query by default: a single query is too small to split, and on a shared 2-core
    machine OpenMP's spinning threads made flat search 5× slower at p50 (docs/scaling.md)."""
    import faiss

    faiss.omp_set_num_threads(max(1, int(settings.faiss_threads)))
    applied = {"threads": max(1, int(settings.faiss_threads))}
    outer = faiss.downcast_index(index)
    inner = outer
    if isinstance(outer, faiss.IndexRefine):
        outer.k_factor = float(settings.faiss_refine_factor)
        applied["refine_factor"] = settings.faiss_refine_factor
        inner = faiss.downcast_index(outer.base_index)
    if isinstance(inner, faiss.IndexHNSW):
        inner.hnsw.efSearch = int(settings.faiss_ef_search)
        applied["ef_search"] = settings.faiss_ef_search
    if isinstance(inner, faiss.IndexIVF):
        inner.nprobe = min(int(settings.faiss_nprobe), inner.nlist)
        applied["nprobe"] = inner.nprobe
    return applied


def describe(kind: str, factory: str, index) -> dict:
    """What the manifest records about the vector index."""
    return {"kind": kind, "factory": factory, "vectors": int(index.ntotal), "metric": "inner product"}
