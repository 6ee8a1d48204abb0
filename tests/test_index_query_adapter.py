"""The query adapter: what it does to a vector, how it is fitted, and how a build keeps the one its
fusion weights were fitted with (index/query_adapter.py, eval/fit_adapter.py)."""

import json
import shutil

import numpy as np
import pytest

from eval.fit_adapter import AdapterSet, article_folds, train_adapter
from index import fusion
from index.query_adapter import ADAPTER_FILE, PACKAGED, QueryAdapter, load_adapter
from index.settings import IndexSettings

E5 = "intfloat/multilingual-e5-small"


def test_the_adapter_adds_its_correction_and_returns_a_unit_vector():
    assert np.allclose(QueryAdapter(np.zeros((2, 2)))([0.6, 0.8]), [0.6, 0.8])
    moved = QueryAdapter(np.array([[0.0, 1.0], [0.0, 0.0]]))([1.0, 0.0])  # (1, 0) + (0, 1)
    assert np.allclose(moved, [2 ** -0.5, 2 ** -0.5])


def test_an_adapter_whose_bytes_changed_is_refused(tmp_path):
    adapter = QueryAdapter(np.eye(3) * 0.1)
    adapter.save(tmp_path / ADAPTER_FILE)
    assert load_adapter(tmp_path / ADAPTER_FILE, adapter.sha256).sha256 == adapter.sha256
    QueryAdapter(np.eye(3) * 0.2).save(tmp_path / ADAPTER_FILE)
    with pytest.raises(ValueError, match="không khớp"):
        load_adapter(tmp_path / ADAPTER_FILE, adapter.sha256)
    for damaged in (b"not numpy", b""):
        (tmp_path / ADAPTER_FILE).write_bytes(damaged)
        with pytest.raises(ValueError, match="không đọc được"):
            load_adapter(tmp_path / ADAPTER_FILE, adapter.sha256)


def test_the_packaged_adapter_is_the_one_the_fitted_weights_name():
    record = fusion.fitted_weights()["models"][E5]
    assert load_adapter(PACKAGED, record["query_adapter"]["sha256"]).delta.shape == (384, 384)
    with_it = fusion.weights_for(E5, IndexSettings())
    without = fusion.weights_for(E5, IndexSettings(query_adapter=False))
    assert with_it.adapter == record["query_adapter"]["sha256"] and without.adapter == ""
    assert (without.dense, without.article, without.sentence) == tuple(
        record["without_adapter"][k] for k in ("dense", "article", "sentence"))
    # what the adapter gained, cross-validated on article folds, is recorded beside it
    gained = record["cross_validated"]["per_dataset"]["vinewsqa-dev"]["recall@10"]
    assert gained > record["without_adapter"]["cross_validated"]["per_dataset"]["vinewsqa-dev"]["recall@10"]


def test_questions_on_one_article_share_a_fold():
    folds = article_folds([["a"], ["b", "a"], ["a", "c"], ["d"]], 5)
    assert folds[0] == folds[1] == folds[2] and all(0 <= f < 5 for f in folds)


def _rotated_corpus(rng, n_articles: int, dim: int, turn: np.ndarray) -> AdapterSet:
    chunks = rng.normal(size=(n_articles, dim)).astype(np.float32)
    chunks /= np.linalg.norm(chunks, axis=1, keepdims=True)
    questions = chunks @ turn + 0.05 * rng.normal(size=chunks.shape).astype(np.float32)
    questions /= np.linalg.norm(questions, axis=1, keepdims=True)
    articles = np.arange(n_articles)
    return AdapterSet(questions.astype(np.float32), chunks, chunks, articles, articles, np.eye(n_articles, dtype=bool))


def test_a_fitted_adapter_finds_passages_the_model_alone_misses_on_articles_it_never_saw():
    # Questions are their passage seen through a fixed turn of the space: the model alone ranks them
    # near chance; the map learned on other articles turns them back.
    rng = np.random.default_rng(0)
    turn = np.linalg.qr(rng.normal(size=(16, 16)))[0].astype(np.float32)
    train, test = _rotated_corpus(rng, 60, 16, turn), _rotated_corpus(rng, 30, 16, turn)
    recipe = {"epochs": 150, "lr": 0.05, "weight_decay": 0.0, "temperature": 0.05, "seed": 0}
    adapter = train_adapter({"train": train}, {"train": np.ones(60, dtype=bool)}, recipe)

    def first_right(vectors):
        return float(np.mean(np.argmax(vectors @ test.chunks.T, axis=1) == np.arange(30)))

    assert first_right(test.questions) < 0.3
    assert first_right(np.stack([adapter(q) for q in test.questions])) > 0.9


def test_a_build_keeps_its_adapter_and_a_damaged_one_asks_for_a_rebuild(sample_settings, e5_embedder, tmp_path):
    from index.build import current_build
    from index.manifest import IndexMismatch
    from index.retrieve import open_index

    built = current_build(sample_settings.data_dir)
    manifest = json.loads((built / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["fusion"]["adapter"] == fusion.weights_for(E5, IndexSettings()).adapter
    assert load_adapter(built / ADAPTER_FILE, manifest["fusion"]["adapter"]).sha256 == manifest["fusion"]["adapter"]
    copy = tmp_path / "data"
    shutil.copytree(sample_settings.data_dir, copy, symlinks=True)
    QueryAdapter(np.zeros((384, 384))).save(current_build(copy) / ADAPTER_FILE)
    with pytest.raises(IndexMismatch, match="ingest --rebuild"):
        open_index(copy, e5_embedder, sample_settings.index, sample_settings.retrieval)


def test_the_answer_models_train_on_retrieval_without_the_adapter_fitted_on_their_questions(tmp_path, e5_embedder):
    from app.config import load_settings
    from eval.answer_data import retrieve_rows
    from tests.test_eval_onepath import _beir

    dataset, _ = _beir(tmp_path / "dataset")
    settings = load_settings(data_dir=tmp_path / "data", env={})
    assert fusion.weights_for(E5, settings.index).adapter  # what `hoidap eval` and the app would use
    rows, info = retrieve_rows(dataset, settings, e5_embedder, "hybrid", None)
    assert rows and "adapter" not in info["index_fusion"]
    without = fusion.fitted_weights()["models"][E5]["without_adapter"]
    assert info["index_fusion"]["sentence"] == without["sentence"]
