"""The audit log and feedback: SQLite under the data dir, exported as JSONL that `hoidap eval` reads back."""

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from app.audit import FILENAME, AuditLog, export_jsonl
from app.cli import main
from eval.datasets import load_dataset

OCOP = "Mai Sơn có bao nhiêu sản phẩm OCOP?"
UNANSWERABLE = "Huyện Yên Châu có bao nhiêu sản phẩm OCOP?"
OCOP_DOC = "001_ad2f1263791dfcf2"


@pytest.fixture
def logged(service, tmp_path):
    """An audit log with three answers: OCOP 👍 (with comment), a refusal 👍, a 👎, and one without feedback."""
    log = AuditLog(tmp_path / "data")
    ocop = log.log_answer(service.ask(OCOP), user="ana", filters={"place": "huyện Mai Sơn"})
    refusal = log.log_answer(service.ask(UNANSWERABLE), user="ana")
    wrong = log.log_answer(service.ask("Tà Tổng có bao nhiêu đảng viên?"), user="binh", channel="api")
    log.log_answer(service.ask(OCOP), user="binh")
    log.add_feedback(ocop, -1, "nhầm", user="ana")
    log.add_feedback(ocop, 1, "  Đúng số liệu  ", user="ana")  # the latest rating counts
    log.add_feedback(refusal, 1, user="ana")
    log.add_feedback(wrong, -1, "Thiếu số đảng viên dự bị", user="binh")
    return log


def test_answers_are_logged_with_sources_and_node_ids(logged):
    rows = logged.answers()
    assert len(rows) == 4
    first = rows[0]
    assert first["user"] == "ana" and first["question"] == OCOP and first["found"] == 1
    assert "20" in first["answer"] and json.loads(first["filters"]) == {"place": "huyện Mai Sơn"}
    sources = json.loads(first["sources"])
    assert sources[0]["doc_id"] == OCOP_DOC and sources[0]["node_id"].startswith(OCOP_DOC + "#")
    assert "20 sản phẩm OCOP" in sources[0]["highlight"]
    assert rows[2]["channel"] == "api"
    assert logged.path == logged.path.parent / FILENAME


def test_feedback_needs_a_logged_answer_and_a_rating(logged):
    with pytest.raises(KeyError):
        logged.add_feedback(999, 1)
    with pytest.raises(ValueError):
        logged.add_feedback(1, 0)
    with sqlite3.connect(logged.path) as db:
        assert db.execute("SELECT COUNT(*) FROM feedback").fetchone()[0] == 4


def test_export_reads_back_as_an_eval_dataset(logged, tmp_path):
    out = tmp_path / "feedback.jsonl"
    assert export_jsonl(logged, out, rating="all") == 3  # the answer without feedback is not exported
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    up, refusal, down = lines
    assert up["feedback"] == "up" and up["comment"] == "Đúng số liệu" and up["needs_review"] is False
    assert up["doc_id"] == OCOP_DOC and "20 sản phẩm OCOP" in up["answers"][0] and up["evidence"]
    assert refusal["answers"] == [] and refusal["found"] is False and refusal["needs_review"] is False
    assert down["answers"] == [] and down["needs_review"] is True and down["rejected_answer"]

    dataset = load_dataset(out)
    assert dataset.format == "jsonl" and [q.question for q in dataset.questions] == [
        OCOP, UNANSWERABLE, "Tà Tổng có bao nhiêu đảng viên?"]
    first = dataset.questions[0]
    assert first.relevant_ids == [OCOP_DOC] and first.answerable and first.fields["feedback"] == "up"
    assert not dataset.questions[1].answerable
    assert dataset.questions[2].fields["needs_review"] is True

    assert export_jsonl(logged, tmp_path / "up.jsonl") == 2  # the default: only what was confirmed
    assert export_jsonl(logged, tmp_path / "down.jsonl", rating="down") == 1


def test_export_feedback_command_then_hoidap_eval(logged, sample_settings, tmp_path, capsys):
    data = logged.path.parent
    shutil.copytree(Path(sample_settings.data_dir) / "cache", data / "cache")  # embeddings already computed
    out = tmp_path / "fb.jsonl"
    assert main(["export-feedback", "--out", str(out), "--data-dir", str(data)]) == 0  # default: 👍 only
    assert "Đã ghi 2 câu hỏi" in capsys.readouterr().out
    assert main(["eval", str(out), "--retriever", "bm25", "--out", str(tmp_path / "ev"), "--data-dir", str(data)]) == 0
    metrics = json.loads((tmp_path / "ev" / "metrics.json").read_text(encoding="utf-8"))["bm25"]
    assert metrics["n"] == 2
    assert metrics["retrieval"]["recall@5"] == 1.0
    assert metrics["answer"]["refusal_accuracy"] == 1.0


def test_export_without_a_log_is_a_usage_error(tmp_path, capsys):
    assert main(["export-feedback", "--out", str(tmp_path / "x.jsonl"), "--data-dir", str(tmp_path)]) == 2
    assert "Chưa có nhật ký" in capsys.readouterr().err
