"""The optional cross-encoder stage, with a tiny cross-encoder built here (random weights): it
re-orders exactly the fused candidates by its own scores, and is skipped when it cannot load."""

import logging
from dataclasses import replace

import pytest

from .tinymodels import build_cross_encoder

QUESTION = "Mai Sơn có bao nhiêu sản phẩm OCOP?"


@pytest.fixture(scope="module")
def reranker_path(tmp_path_factory):
    return build_cross_encoder(tmp_path_factory.mktemp("ce"))


@pytest.fixture(scope="module")
def reranked_index(sample_settings, reranker_path):
    from index.embed import embedder_for
    from index.retrieve import open_index

    retrieval = replace(sample_settings.retrieval, rerank_model=str(reranker_path), rerank_depth=6)
    return open_index(sample_settings.data_dir, embedder_for(sample_settings.index), sample_settings.index, retrieval)


def test_the_cross_encoder_orders_the_fused_candidates(service, reranked_index):
    from sentence_transformers import CrossEncoder

    assert reranked_index.reranker is not None and reranked_index.reranker.depth == 6
    fused = service.index.retrieve(QUESTION, k=10)
    reranked = reranked_index.retrieve(QUESTION, k=10)
    head = fused[:6]
    # The same candidates, re-scored independently with the same model files.
    model = CrossEncoder(reranked_index.reranker.name, device="cpu")
    scores = model.predict([(QUESTION, f"{p.title}\n{p.text}" if not p.text.startswith(p.title) else p.text)
                            for p in head])
    expected = [p.node_id for _, p in sorted(zip(scores, head), key=lambda x: -x[0])]
    assert [p.node_id for p in reranked[:6]] == expected
    assert [p.ranks["rerank"] for p in reranked[:6]] == [1, 2, 3, 4, 5, 6]
    assert reranked[0].score == pytest.approx(float(max(scores)), abs=1e-5)
    # Below the depth, the fused order is kept.
    assert [p.node_id for p in reranked[6:]] == [p.node_id for p in fused[6:10]]


def test_reranking_is_configured_from_the_config_file(sample_settings, reranker_path, tmp_path):
    from app.config import load_settings
    from app.qa import QAService

    config = tmp_path / "hoidap.toml"
    config.write_text(f'[retrieval]\nrerank_model = "{reranker_path}"\nrerank_depth = 4\n', encoding="utf-8")
    settings = load_settings(data_dir=sample_settings.data_dir, config_file=config, env={})
    service = QAService.open(settings)
    assert service.index.reranker.depth == 4
    assert "reranker-tiny" in service.model_label
    result = service.ask(QUESTION)
    assert len(result["sources"]) == 5 and "reranker-tiny" in result["model"]
    # An index swapped in (after an upload or delete) keeps the query-time settings and the loaded model.
    reranker = service.index.reranker
    service.reload()
    assert service.index.reranker is reranker and service.index.retrieval.rerank_depth == 4


def test_an_unavailable_reranker_is_skipped_with_a_warning(sample_settings, caplog):
    from index.embed import embedder_for
    from index.retrieve import open_index

    retrieval = replace(sample_settings.retrieval, rerank_model="nobody/no-such-reranker")
    with caplog.at_level(logging.WARNING):
        index = open_index(sample_settings.data_dir, embedder_for(sample_settings.index), sample_settings.index,
                           retrieval)
    assert index.reranker is None
    assert "nobody/no-such-reranker" in caplog.text and "bỏ qua" in caplog.text
    assert index.retrieve(QUESTION, k=1)[0].doc_id == "001_ad2f1263791dfcf2"
