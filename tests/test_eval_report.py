"""eval/report.py: a report from two fake retrievers writes every file with the contract's shape."""

import json

from eval.report import write_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _record(i: int, hit_rank: int | None, found: bool, latency: float) -> dict:
    hits = [rank == hit_rank for rank in range(5)]
    answerable = i % 4 != 3
    return {
        "id": f"q{i}",
        "question": f"Câu hỏi số {i} về Hoà Bình?",
        "gold": [f"đáp án {i}"] if answerable else [],
        "answerable": answerable,
        "n_relevant": 1 if answerable else 0,
        "fields": {"variant": "no_diacritics" if i % 2 else "original", "type": "fact"},
        "ranked": [{"id": f"d{i}_{r}", "hit": h, "score": 1.0 / (r + 1), "title": f"Bài {r} | Sơn La",
                    "text": "Văn bản dài. " * 60} for r, h in enumerate(hits)],
        "answer": f"đáp án {i}" if found else "",
        "found": found,
        "cited_hit": (hit_rank == 0) if found and answerable else None,
        "timings_ms": {"retrieval": latency / 2, "answer": latency / 2, "total": latency},
    }


def _results() -> dict:
    return {
        "bm25": [_record(i, i % 3, found=i % 2 == 0, latency=10.0 + i) for i in range(8)],
        "hybrid": [_record(i, None if i == 1 else 0, found=True, latency=20.0 + 2 * i) for i in range(8)],
    }


def test_write_report_files(tmp_path):
    results = _results()
    run_info = {"dataset": {"name": "fake", "format": "jsonl", "hash": "abc"}, "git_sha": "deadbeef",
                "command": "hoidap-eval --dataset fake.jsonl"}
    returned = write_report(tmp_path / "out", results, run_info)
    out = tmp_path / "out"
    for name in ("metrics.json", "per_query.jsonl", "run.json", "report.md", "recall_at_k.png", "latency.png",
                 "refusal_curve.png", "refusal_curve.json"):
        assert (out / name).is_file(), name

    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert metrics == returned
    assert list(metrics) == ["bm25", "hybrid"]
    for entry in metrics.values():
        assert set(entry) == {"n", "retrieval", "answer", "latency_ms", "breakdown"}
        assert set(entry["retrieval"]) == {"recall@1", "recall@5", "recall@10", "recall@20", "mrr@10", "ndcg@10", "n"}
        assert set(entry["answer"]) == {
            "em", "f1", "accuracy", "numeric_match", "n_numeric", "refusal_accuracy", "n_unanswerable",
            "answer_rate", "wrong_refusal_rate", "citation_precision", "contains_gold", "contains_gold_span",
            "n_answerable", "auroc_correct", "auroc_answerable", "mean_confidence", "answer_chars_p50"}
        assert set(entry["latency_ms"]) == {"p50", "p95", "retrieval_p50", "retrieval_p95", "answer_p50", "answer_p95"}
        assert set(entry["breakdown"]) == {"variant", "type"}  # question_type is absent from the records
        assert set(entry["breakdown"]["variant"]) == {"original", "no_diacritics"}
    assert metrics["hybrid"]["retrieval"]["recall@1"] == round(5 / 6, 4)  # 6 labelled, q1 never hits

    for name in ("recall_at_k.png", "latency.png", "refusal_curve.png"):
        assert (out / name).read_bytes()[:8] == PNG_MAGIC
    curves = json.loads((out / "refusal_curve.json").read_text(encoding="utf-8"))
    assert list(curves) == ["bm25", "hybrid"]
    # no confidence recorded: bm25 answered q0, q2, q4, q6 rightly (1.0) and declined the rest (0.0):
    # answerable q1, q5 and unanswerable q3, q7 go first as the threshold rises
    assert curves["bm25"] == [
        {"threshold": 0.0, "declined_answerable": 0.0, "declined_unanswerable": 0.0, "answered_correctly": 0.6667},
        {"threshold": 1.0, "declined_answerable": 0.3333, "declined_unanswerable": 1.0, "answered_correctly": 0.6667},
        {"threshold": None, "declined_answerable": 1.0, "declined_unanswerable": 1.0, "answered_correctly": 0.0}]

    lines = (out / "per_query.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == sum(len(records) for records in results.values())
    first = json.loads(lines[0])
    assert first["retriever"] == "bm25" and "Hoà Bình" in lines[0]  # UTF-8, not \u escapes
    assert all(len(item["text"]) <= 300 for item in first["ranked"])
    assert len(results["bm25"][0]["ranked"][0]["text"]) > 300  # input records are left untouched

    assert json.loads((out / "run.json").read_text(encoding="utf-8")) == run_info
    report = (out / "report.md").read_text(encoding="utf-8")
    for snippet in ("![](recall_at_k.png)", "![](latency.png)", "![](refusal_curve.png)", "## hoidap vs naive",
                    "Worst misses (bm25)", "### hoidap · bm25", "deadbeef", "| hybrid |", "| hoidap · hybrid |"):
        assert snippet in report
    # hoidap · bm25 declined q1 and q5 (answerable; q3 and q7 are not): its only answer misses
    misses = report.split("### hoidap · bm25")[1].split("###")[0]
    assert "Câu hỏi số 1 về" in misses and "Câu hỏi số 5 về" in misses and "(declined)" in misses
    assert "Câu hỏi số 0 về" not in misses and "Câu hỏi số 3 về" not in misses
    assert "Bài 0 \\| Sơn La" in report  # pipes in titles are escaped inside tables


def test_write_report_without_labels_or_fields(tmp_path):
    record = {"id": "q", "question": "?", "gold": [], "answerable": False, "n_relevant": 0, "fields": {},
              "ranked": [], "answer": "", "found": False, "cited_hit": None,
              "timings_ms": {"retrieval": 1.0, "answer": 1.0, "total": 2.0}}
    metrics = write_report(tmp_path, {"only": [record]}, {})
    assert set(metrics["only"]) == {"n", "retrieval", "answer", "latency_ms"}
    assert metrics["only"]["retrieval"]["recall@10"] is None
    assert (tmp_path / "recall_at_k.png").read_bytes()[:8] == PNG_MAGIC
