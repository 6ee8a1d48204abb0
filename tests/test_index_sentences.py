"""Sentence vectors: built beside the sample index, lined up with the answer stage's sentences, and
closest to the sentence that answers."""

import numpy as np

from tests.conftest import OCOP_DOC


def test_every_chunk_sentence_has_its_vector_in_the_answer_stage_order(service):
    from ingest.chunk import passage_sentences

    index = service.index
    assert index.manifest.sentences["splitter"] == "ingest.chunk passage_sentences v1"
    offsets = index.sentences.offsets
    assert len(offsets) == len(index.node_ids) + 1
    for row in (0, len(index.node_ids) // 2, len(index.node_ids) - 1):
        text = index.docstore.get_node(index.node_ids[row]).get_content()
        assert offsets[row + 1] - offsets[row] == len(passage_sentences(text))
    norms = np.linalg.norm(np.asarray(index.sentences.vectors, dtype=np.float32), axis=1)
    assert index.manifest.sentences["count"] == len(norms) and np.allclose(norms, 1.0, atol=2e-3)


def test_retrieved_passages_carry_the_question_s_closeness_to_each_sentence(service):
    from ingest.chunk import passage_sentences

    passages = service.index.retrieve("Mai Sơn có bao nhiêu sản phẩm OCOP?", k=5)
    top = next(p for p in passages if p.doc_id == OCOP_DOC and "OCOP" in p.text)
    sentences = passage_sentences(top.text)
    assert len(top.sentence_scores) == len(sentences)
    best = sentences[int(np.argmax(top.sentence_scores))]
    assert "20 sản phẩm OCOP" in best, best
    assert all(p.sentence_scores is not None for p in passages)
    # ...and the answer stage reads them: the sample index is embedded with the answer model's model.
    from app.answer_model import reads_sentence_scores

    assert reads_sentence_scores(service.index.manifest.embed_model["name"])
    assert not reads_sentence_scores("sentence-transformers/all-MiniLM-L6-v2")


def test_an_index_built_without_sentence_vectors_still_answers(tmp_path, e5_embedder):
    from app.cli import run_ingest
    from app.config import load_settings
    from app.qa import QAService
    from tests.conftest import SAMPLES

    settings = load_settings(data_dir=tmp_path / "data", env={})
    settings.index.sentence_vectors = False
    run_ingest(settings, [SAMPLES / f"{OCOP_DOC}.txt"], progress=False)
    service = QAService.open(settings)
    assert service.index.sentences is None and not service.index.manifest.sentences
    result = service.ask("Mai Sơn có bao nhiêu sản phẩm OCOP?")
    assert result["found"] and "20 sản phẩm OCOP" in result["answer"], result["answer"]


def test_unreadable_sentence_vectors_say_how_to_rebuild(tmp_path):
    import pytest

    from index.manifest import IndexMismatch
    from index.sentences import SPLITTER, open_sentence_vectors

    assert open_sentence_vectors(tmp_path, {}) is None  # built without them
    assert open_sentence_vectors(tmp_path, {"splitter": "some other splitter"}) is None
    (tmp_path / "sentence_vectors.npy").write_bytes(b"not an array")
    with pytest.raises(IndexMismatch, match="hoidap ingest --rebuild"):
        open_sentence_vectors(tmp_path, {"splitter": SPLITTER})
