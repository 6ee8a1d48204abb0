"""The numpy BM25 builder (index/bm25index.py) makes the index bm25s.index makes: same scores, same files."""

import bm25s
import numpy as np

from index import tokenize
from index.bm25index import bm25_from_tokens
from ingest.documents import load_articles
from tests.conftest import SAMPLES

QUERIES = ["Mai Sơn có bao nhiêu sản phẩm OCOP?", "Mai Son co bao nhieu san pham OCOP", "hội nghị trực tuyến",
           "tỷ lệ 98,95%", "không có từ nào như thế này xyzzy"]


def test_numpy_builder_scores_like_bm25s(tmp_path):
    paragraphs = [p for a in load_articles([SAMPLES]).articles for p in a.paragraphs]
    for fn in (tokenize.tokenize, tokenize.tokenize_folded):
        docs = [fn(p) for p in paragraphs]
        reference = bm25s.BM25()
        reference.index(docs, show_progress=False)
        ours = bm25_from_tokens(docs)
        ours.save(str(tmp_path / fn.__name__), show_progress=False)
        loaded = bm25s.BM25.load(str(tmp_path / fn.__name__), mmap=True, show_progress=False)
        assert ours.scores["num_docs"] == reference.scores["num_docs"] == len(paragraphs)
        assert len(ours.scores["data"]) == len(reference.scores["data"])  # one entry per (document, term)
        for query in QUERIES:
            tokens = fn(query)
            want = reference.get_scores(tokens)
            assert np.allclose(loaded.get_scores(tokens), want, rtol=1e-6, atol=1e-7), query
            if query.startswith("Mai"):
                assert want.max() > 0 and int(np.argmax(loaded.get_scores(tokens))) == int(np.argmax(want))


def test_large_indexes_score_with_numba_and_agree(tmp_path):
    from index.bm25index import load_bm25

    docs = [tokenize.tokenize(p) for a in load_articles([SAMPLES]).articles for p in a.paragraphs]
    bm25_from_tokens(docs).save(str(tmp_path / "bm25"), show_progress=False)
    plain, jitted = load_bm25(tmp_path / "bm25"), load_bm25(tmp_path / "bm25", numba_min_docs=1)
    assert plain.scores["num_docs"] < 200_000  # the default keeps small indexes on numpy (no JIT at start-up)
    assert "numba" in jitted._compute_relevance_from_scores.__class__.__module__
    assert "numba" not in plain._compute_relevance_from_scores.__class__.__module__
    for query in QUERIES:
        tokens = tokenize.tokenize(query)
        assert np.allclose(jitted.get_scores(tokens), plain.get_scores(tokens), rtol=1e-6, atol=1e-7), query
