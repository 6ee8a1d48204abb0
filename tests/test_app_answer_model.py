"""The learned answer model's file: it loads, matches the code's features and the shared data it
was fitted on, scores the same way every time, and a missing or broken file says so clearly."""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from app.answer_model import MODEL_PATH, AnswerModelError, from_record, load_model
from app.candidates import FEATURE_VERSION, FEATURES
from tests.conftest import REPO

BENCHMARKS = REPO.parent / "shared" / "benchmarks"


def _record() -> dict:
    return json.loads(MODEL_PATH.read_text(encoding="utf-8"))


def test_model_file_is_small_and_describes_its_training():
    record = _record()
    assert MODEL_PATH.stat().st_size < 10 * 1024 * 1024
    assert record["feature_version"] == FEATURE_VERSION and record["features"] == list(FEATURES)
    training = record["training"]
    assert "train-answer" in training["command"] and len(training["git_sha"]) >= 7
    assert {d["name"] for d in training["datasets"]} == {"zalo_qa_squad2", "vinewsqa-dev", "alqac-legal"}
    assert 0.0 < record["model"]["threshold"] < 1.0
    for row in record["cross_validated"][record["kind"]].values():
        assert 0.0 <= row["answer_contains_gold"] <= 1.0


@pytest.mark.skipif(not BENCHMARKS.is_dir(), reason="the shared benchmarks are not beside the repository")
def test_recorded_hashes_match_the_shared_files():
    for dataset in _record()["training"]["datasets"]:
        path = Path(dataset["path"])
        folder = path if path.is_dir() else path.parent
        shared = BENCHMARKS / (folder.name if path.is_dir() else f"{folder.name}/{path.name}")
        for name, digest in dataset["files"].items():
            target = shared / name if shared.is_dir() else shared
            assert hashlib.sha256(target.read_bytes()).hexdigest() == digest, target


def test_scores_are_deterministic():
    model = load_model()
    again = from_record(_record())
    rng = np.random.default_rng(13)
    matrix = rng.random((50, len(FEATURES)))
    first = model.logits(matrix)
    assert np.array_equal(first, model.logits(matrix)) and np.allclose(first, again.logits(matrix))
    assert load_model() is model, "read once per process"
    c = model.confidence(float(first.max()), 1.0, matrix[0])
    assert 0.0 <= c <= 1.0 and c == again.confidence(float(first.max()), 1.0, matrix[0])


def test_missing_file_gives_a_clear_error(tmp_path):
    with pytest.raises(AnswerModelError, match="train-answer"):
        load_model(tmp_path / "none.json")


def test_corrupt_file_gives_a_clear_error(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(AnswerModelError, match="hỏng|đọc"):
        load_model(broken)
    short = dict(_record())
    short["model"] = dict(short["model"], weights=[0.0])
    (tmp_path / "short.json").write_text(json.dumps(short), encoding="utf-8")
    with pytest.raises(AnswerModelError, match="hỏng"):
        load_model(tmp_path / "short.json")


def test_other_feature_version_is_refused():
    with pytest.raises(AnswerModelError, match="train-answer"):
        from_record(dict(_record(), feature_version="answer-features-v0"))


def test_the_confidence_learns_whether_the_articles_answer():
    """The refusal is for questions the articles do not answer: a wrong pick to an answerable question
    is a positive when the confidence learns 'answerable' and a negative when it learns 'correct'. Both
    fitted artefacts record the target the training code gives them (records older than the choice
    learnt 'correct')."""
    from eval.answer_data import Item
    from eval.train_answer import CONFIDENCE_LABEL, confidence_target

    def item(answers, y):
        return Item("zalo", "q", "Huyện Mỹ Xuyên thuộc tỉnh nào?", answers, "where", np.zeros((2, 1)),
                    np.array(y), ["a", "b"], [0, 1], "")

    answerable, unanswerable = item(["Sóc Trăng"], [0.0, 1.0]), item([], [0.0, 0.0])
    assert confidence_target(answerable, 0, "answerable") and not confidence_target(answerable, 0, "correct")
    assert confidence_target(answerable, 1, "correct") and not confidence_target(answerable, -1, "correct")
    assert not confidence_target(unanswerable, 0, "answerable") and not confidence_target(unanswerable, 0, "correct")
    assert _record()["model"].get("confidence_label", "correct") == CONFIDENCE_LABEL
    reader = json.loads((REPO / "app" / "reader_model.json").read_text(encoding="utf-8"))
    assert reader["confidence"].get("label", "correct") == CONFIDENCE_LABEL, "run hoidap train-reader"
