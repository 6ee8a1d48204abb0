"""ONNX Runtime backends: export + int8 quantisation offline, vectors, the manifest and the cache keys."""

import os

import numpy as np
import pytest
import torch

from index.build import build_index
from index.fusion import FusionWeights
from index.embcache import EmbeddingCache
from index.embed import ModelUnavailable, deferred_embedder, load_embedder
from index.manifest import IndexMismatch
from index.onnx_export import FILES, physical_cores
from index.retrieve import open_index
from index.settings import IndexSettings
from ingest.documents import load_articles
from tests.conftest import OCOP_DOC, SAMPLES
from tests.tinymodels import build_bert_model, build_phobert_model

TEXTS = ["Mai Sơn có 20 sản phẩm OCOP", "huyện sông mã có bao nhiêu xã đạt chuẩn nông thôn mới", "tà"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("onnx")
    folder = build_bert_model(root / "tiny-e5")
    models = root / "model-cache"
    return folder, models, {b: load_embedder(str(folder), backend=b, export_root=models)
                            for b in ("torch", "onnx", "onnx-int8")}


def test_export_and_int8_quantisation_work_offline_and_keep_the_vectors(tiny):
    _, models, embedders = tiny
    (export,) = models.iterdir()
    assert sorted(p.name for p in export.iterdir()) == sorted(FILES.values())
    ref = embedders["torch"].encode(TEXTS, is_query=False)
    fp32 = embedders["onnx"].encode(TEXTS, is_query=False)
    int8 = embedders["onnx-int8"].encode(TEXTS, is_query=False)
    assert fp32.shape == int8.shape == (3, 32)
    assert np.allclose(fp32, ref, atol=1e-4)  # same network, other runtime
    cosine = (int8 * ref).sum(axis=1)
    assert cosine.min() > 0.95 and not np.allclose(int8, ref, atol=1e-4)  # close, but really quantised
    q = embedders["onnx-int8"].encode(TEXTS[:1], is_query=True)
    assert not np.allclose(q, int8[:1])  # the "query: " prefix reaches the ONNX network too


def test_micro_batches_run_side_by_side_give_each_text_its_own_vector(tiny):
    # One call is cut into micro-batches, each trimmed to its own longest text and run on a worker
    # thread: every text must still get exactly the vector it gets alone, in its own place.
    _, _, embedders = tiny
    texts = [" ".join(["xã nông thôn mới"] * n) for n in (1, 30, 2, 17, 5, 40, 3, 9, 1)] + TEXTS
    network = embedders["onnx"].model[0].model
    assert network.workers == physical_cores()
    together = embedders["onnx"].encode(texts, is_query=False, batch_size=len(texts))
    alone = np.concatenate([embedders["onnx"].encode([t], is_query=False) for t in texts])
    assert np.allclose(together, alone, atol=1e-5)
    assert np.allclose(together, embedders["torch"].encode(texts, is_query=False), atol=1e-4)


def test_backend_is_recorded_and_cache_keys_differ_per_backend(tiny, tmp_path):
    folder, models, embedders = tiny
    infos = {b: e.info for b, e in embedders.items()}
    assert {b: i.backend for b, i in infos.items()} == {b: b for b in infos}
    assert len({i.fingerprint for i in infos.values()}) == 3  # each names the file that computes its vectors
    assert {i.source_fingerprint for i in infos.values()} == {infos["torch"].fingerprint}
    keys = {EmbeddingCache(tmp_path / "c.sqlite", i.fingerprint, i.dimension).key(TEXTS[0]) for i in infos.values()}
    assert len(keys) == 3
    # A second load reuses the export (same file, same hash) instead of exporting again.
    target = next(models.iterdir()) / FILES["onnx-int8"]
    written = target.stat().st_mtime_ns
    again = load_embedder(str(folder), backend="onnx-int8", export_root=models)
    assert again.info.fingerprint == infos["onnx-int8"].fingerprint and target.stat().st_mtime_ns == written


def test_index_built_on_int8_refuses_another_backend(tiny, tmp_path):
    folder, _, embedders = tiny
    settings = IndexSettings(embed_model=str(folder), embed_backend="onnx-int8")
    articles = load_articles([SAMPLES / f"{OCOP_DOC}.txt"]).articles
    manifest, stats = build_index(tmp_path, articles, settings, embedders["onnx-int8"], FusionWeights("zscore", 1.0, 0.0),
                                  progress=False)
    assert manifest.embed_model["backend"] == "onnx-int8" and stats["embedded"] == manifest.n_chunks > 0
    index = open_index(tmp_path, embedders["onnx-int8"], settings)
    assert index.retrieve("Mai Sơn có bao nhiêu sản phẩm OCOP?", k=1, mode="dense")[0].doc_id == OCOP_DOC
    torch_settings = IndexSettings(embed_model=str(folder), embed_backend="torch")
    with pytest.raises(IndexMismatch, match=r"thiết lập khác \(embed_backend\).*hoidap ingest --rebuild"):
        open_index(tmp_path, embedders["torch"], torch_settings)
    with pytest.raises(IndexMismatch, match="embedding backend: chỉ mục có 'onnx-int8', cấu hình cần 'torch'"):
        open_index(tmp_path, embedders["torch"], settings)  # a model handed in directly, as eval does
    with pytest.raises(IndexMismatch, match='embed_backend = "onnx-int8"'):
        deferred_embedder(manifest.embed_model, torch_settings)


def test_phobert_style_model_without_token_types_exports(tmp_path):
    folder = build_phobert_model(tmp_path)
    ref = load_embedder(str(folder)).encode(TEXTS, is_query=False)
    fp32 = load_embedder(str(folder), backend="onnx", export_root=tmp_path / "m").encode(TEXTS, is_query=False)
    assert np.allclose(fp32, ref, atol=1e-4)


def test_bad_backend_or_unwritable_export_folder_says_what_to_do(tiny, tmp_path):
    folder, _, _ = tiny
    with pytest.raises(ModelUnavailable, match="embed_backend 'tensorrt' không hợp lệ"):
        load_embedder(str(folder), backend="tensorrt")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(ModelUnavailable, match='Không xuất được mô hình sang onnx-int8.*embed_backend = "torch"'):
        load_embedder(str(folder), backend="onnx-int8", export_root=blocker)


def test_query_encoding_uses_one_thread_and_restores_the_bulk_setting(tiny):
    _, _, embedders = tiny
    assert 1 <= physical_cores() <= os.cpu_count()
    before = torch.get_num_threads()
    embedders["torch"].encode(TEXTS[:1], is_query=True)
    assert torch.get_num_threads() == before
