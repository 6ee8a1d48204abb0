"""Vector index choice and stores: FAISS types by size and setting, query-time knobs, Qdrant from the same code."""

from dataclasses import replace

import numpy as np
import pytest

from app.cli import run_ingest
from app.config import load_settings
from app.qa import QAService
from index.build import current_build
from index.embed import load_embedder
from index.manifest import IndexMismatch, Manifest
from index.retrieve import open_index
from index.settings import RetrievalSettings
from index.vectors import build_faiss_index, choose_kind, tune_for_search
from tests.conftest import OCOP_DOC, SAMPLES

OCOP = "Mai Sơn có bao nhiêu sản phẩm OCOP?"


def _unit(rows: int, dimension: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((rows, dimension)).astype("float32")
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _recall_at_10(index, queries, exact) -> float:
    _, found = index.search(queries, 10)
    return float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, exact)]))


def test_auto_is_exact_below_the_threshold_and_approximate_above():
    assert choose_kind("auto", 99_999, 100_000) == "flat"
    assert choose_kind("auto", 100_000, 100_000) == "pq-refine"
    assert choose_kind("hnsw", 10, 100_000) == "hnsw"
    assert choose_kind("pq-refine", 10, 100_000) == "flat"  # too few vectors to train 4-bit PQ on
    with pytest.raises(ValueError, match="faiss_index"):
        choose_kind("annoy", 10, 100_000)


def test_approximate_indexes_find_the_exact_neighbours_of_random_vectors():
    import faiss

    data, queries = _unit(6000, 64, 0), _unit(50, 64, 1)
    exact_index, _ = build_faiss_index(data, "flat")
    _, exact = exact_index.search(queries, 10)
    # Re-ranking k × 50 PQ candidates exactly: random vectors (no clusters) are still found.
    pq, factory = build_faiss_index(data, "pq-refine")
    assert factory == "PQ32x4fs,RFlat" and pq.ntotal == 6000
    tune_for_search(pq, RetrievalSettings(faiss_refine_factor=50))
    assert _recall_at_10(pq, queries, exact) >= 0.95
    tune_for_search(pq, RetrievalSettings(faiss_refine_factor=1))
    assert _recall_at_10(pq, queries, exact) < 0.9  # the knob is what buys the recall
    # IVF: the query-time nprobe setting reaches the inner index (all lists scanned → exact).
    ivf, factory = build_faiss_index(data, "ivf")
    assert factory.startswith("IVF") and factory.endswith(",SQ8,RFlat")
    applied = tune_for_search(ivf, RetrievalSettings(faiss_nprobe=1, faiss_refine_factor=10))
    assert applied["nprobe"] == 1 and _recall_at_10(ivf, queries, exact) < 0.5
    nlist = faiss.extract_index_ivf(faiss.downcast_index(ivf).base_index).nlist
    tune_for_search(ivf, RetrievalSettings(faiss_nprobe=10_000, faiss_refine_factor=10))
    assert faiss.extract_index_ivf(faiss.downcast_index(ivf).base_index).nprobe == nlist
    assert _recall_at_10(ivf, queries, exact) >= 0.99
    hnsw, _ = build_faiss_index(data, "hnsw")
    assert tune_for_search(hnsw, RetrievalSettings(faiss_ef_search=256))["ef_search"] == 256
    assert _recall_at_10(hnsw, queries, exact) >= 0.9


def test_sample_index_records_an_exact_faiss_index(sample_settings):
    manifest = Manifest.load(current_build(sample_settings.data_dir))
    assert manifest.vector_store == "faiss"
    assert manifest.vector_index["kind"] == "flat" and manifest.vector_index["factory"] == "Flat"
    assert manifest.vector_index["vectors"] == manifest.n_chunks


def test_approximate_faiss_through_llama_index_and_query_time_settings(tmp_path):
    settings = load_settings(data_dir=tmp_path / "data", env={})
    # 128-token chunks: the samples then make more than the 64 vectors 4-bit PQ needs to train.
    settings.index = replace(settings.index, faiss_index="pq-refine", dense_weight=1.0, chunk_tokens=128)
    run_ingest(settings, [SAMPLES], progress=False)
    manifest = Manifest.load(current_build(settings.data_dir))
    assert manifest.vector_index["kind"] == "pq-refine" and manifest.vector_index["vectors"] == manifest.n_chunks
    embedder = load_embedder("default")
    exact = replace(settings.retrieval, faiss_refine_factor=10_000)  # query time only: no rebuild asked for
    index = open_index(settings.data_dir, embedder, settings.index, exact)
    vectors = np.asarray([index.retrieval_vector(OCOP)], dtype=np.float32)  # through the query adapter
    flat, _ = build_faiss_index(index.vector_index.vector_store.client.reconstruct_n(0, manifest.n_chunks), "flat")
    _, want = flat.search(vectors, 5)
    got = index.dense_ranking(OCOP, 5)
    assert [node_id for node_id, _ in got] == [index.node_ids[i] for i in want[0]]
    with pytest.raises(IndexMismatch, match="faiss_index"):
        open_index(settings.data_dir, embedder, replace(settings.index, faiss_index="flat"))


def test_qdrant_store_answers_from_the_same_code(tmp_path):
    settings = load_settings(data_dir=tmp_path / "data", env={})
    # Dense weight 1: hybrid fuses the Qdrant ranking with BM25, so the store has to answer.
    settings.index = replace(settings.index, vector_store="qdrant", dense_weight=1.0)
    result = run_ingest(settings, [SAMPLES], progress=False)
    assert len(result.added) == 5
    build = current_build(settings.data_dir)
    manifest = Manifest.load(build)
    assert manifest.vector_store == "qdrant" and manifest.vector_index["vectors"] == manifest.n_chunks
    assert manifest.vector_index["collection"].startswith("hoidap_") and (build / "qdrant").is_dir()
    assert not (build / "llama" / "default__vector_store.json").exists()  # no FAISS file was written

    service = QAService.open(settings)
    dense = service.index.retrieve(OCOP, k=10, mode="dense")
    assert len(dense) == 10 and all("dense" in p.ranks for p in dense)
    assert OCOP_DOC in {p.doc_id for p in dense}
    answer = service.ask(OCOP, mode="hybrid")
    assert answer["found"] and "20" in answer["answer"] and answer["sources"][0]["doc_id"] == OCOP_DOC
    fused = service.index.retrieve(OCOP, k=5, mode="hybrid")
    assert any("dense" in p.ranks for p in fused)
