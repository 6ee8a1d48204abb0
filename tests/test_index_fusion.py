"""Score fusion: z-scores over each retriever's top list, candidates a retriever missed, fitted weights."""

import numpy as np
import pytest

from index import fusion
from index.embed import sha256_file
from index.fusion import Signal, standardise
from index.settings import IndexSettings
from tests.conftest import REPO

BENCHMARKS = REPO.parent / "shared" / "benchmarks"


def test_zscores_standardise_by_the_top_list_and_stay_zero_when_it_is_flat():
    top = np.array([3.0, 1.0])
    assert fusion.zscores(np.array([3.0, 1.0, 2.0]), top).tolist() == [1.0, -1.0, 0.0]
    assert fusion.zscores(np.array([5.0, 5.0]), np.array([5.0, 5.0])).tolist() == [0.0, 0.0]


def test_top_rows_are_best_first_and_leave_out_zero_scores():
    assert fusion.top_rows(np.array([0.0, 2.0, 5.0, 1.0]), 3).tolist() == [2, 1, 3]
    assert fusion.top_rows(np.array([0.0, 0.0]), 5).tolist() == []


def test_a_candidate_the_vector_search_missed_gets_its_lowest_similarity():
    bm25 = np.array([4.0, 2.0, 0.0, 0.0])
    dense = {2: 0.9, 1: 0.5}
    signals = [
        Signal("bm25", 1.0, bm25.__getitem__, np.array([0, 1]), bm25[[0, 1]]),
        Signal("dense", 1.0, lambda rows: np.array([dense.get(int(r), 0.5) for r in rows]), np.array([2, 1]),
               np.array([0.9, 0.5])),
    ]
    rows, z, ranks = standardise(signals)
    assert rows.tolist() == [0, 1, 2]
    assert z["bm25"].tolist() == [1.0, -1.0, -3.0]  # row 2: BM25 0, exact
    assert z["dense"].tolist() == [-1.0, -1.0, 1.0]  # row 0: not returned, so the floor 0.5
    assert ranks == {0: {"bm25": 1}, 1: {"bm25": 2, "dense": 2}, 2: {"dense": 1}}


def test_configured_weights_win_over_fitted_ones_and_an_unfitted_model_weighs_dense_as_bm25():
    fitted = fusion.weights_for("some/unfitted-model", IndexSettings())
    assert (fitted.method, fitted.dense, fitted.article) == ("zscore", 1.0, 0.0)
    configured = fusion.weights_for("some/unfitted-model", IndexSettings(dense_weight=0.25, article_weight=0.5))
    assert (configured.dense, configured.article) == (0.25, 0.5)


def test_the_fitted_artefact_records_its_data_command_and_sha():
    artefact = fusion.fitted_weights()
    if not artefact:
        pytest.fail("index/fusion_weights.json is missing: run `hoidap fit-fusion`")
    for name, record in artefact["models"].items():
        assert record["git_sha"] and record["command"].startswith("hoidap fit-fusion"), name
        assert set(record["fitted_on"]) == {"vinewsqa-dev", "alqac-legal", "zalo-qa/zalo_qa_squad2.json"}
        for dataset, files in record["fitted_on"].items():
            for file, digest in files.items():
                path = BENCHMARKS / dataset
                path = path if path.is_file() else path / file
                if path.exists():  # ../shared beside the repository, as in CI
                    assert sha256_file(path) == digest, path
        assert 0 <= record["dense"] <= 1.6 and 0 <= record["article"] <= 1.5


def test_the_grid_search_scores_every_point_as_the_one_article_ranking_does():
    from eval.fit_fusion import grid_scores, ranking_metrics

    rng = np.random.default_rng(3)
    items = []
    for q in range(40):
        rows = int(rng.integers(1, 30))
        docs = [f"doc{int(d):02d}" for d in sorted(rng.integers(0, 12, rows))]
        matrix = rng.normal(size=(rows, 4)).astype("float32")
        matrix[rows // 2:, 3] = matrix[: rows - rows // 2, 3]  # some ties
        items.append((docs, matrix, {f"doc{int(rng.integers(0, 12)):02d}", "doc99"} if q % 3 == 0
                      else {f"doc{int(rng.integers(0, 12)):02d}"}))
    grid = [(0.0, 0.0, 0.0), (1.3, 0.7, 0.0), (0.6, 0.4, 1.5), (0.0, 1.0, 3.0)]
    fast = grid_scores(items, grid)
    for g, (dense, article, sentence) in enumerate(grid):
        w = np.array([1.0, article, dense, sentence], dtype="float32")
        slow = np.array([ranking_metrics(d, m @ w, rel) for d, m, rel in items])
        assert np.allclose(fast[g], slow), g


def test_a_configured_sentence_weight_wins_and_old_manifests_weigh_it_zero():
    weights = fusion.weights_for("some/unfitted-model", IndexSettings(sentence_weight=1.5))
    assert weights.sentence == 1.5 and weights.to_dict()["sentence"] == 1.5
    old = fusion.FusionWeights("zscore", 1.3, 0.7)  # a manifest from before the sentence signal
    assert old.sentence == 0.0
