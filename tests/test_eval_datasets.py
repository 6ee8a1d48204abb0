"""eval/datasets.py on tiny hand-written jsonl, SQuAD/Zalo and BEIR fixtures, plus the real benchmarks."""

import json
import time
from pathlib import Path

import pytest

from eval.datasets import Passage, Question, detect_format, load_dataset

BENCHMARKS = Path(__file__).resolve().parents[2] / "shared" / "benchmarks"


def _write_jsonl(path: Path, rows: list) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------- jsonl


def test_jsonl_parses_every_field(tmp_path):
    path = tmp_path / "gold.jsonl"
    path.write_text(
        json.dumps({"id": "g1", "question": "Ai?", "answers": ["Ông A"], "doc_id": "doc1",
                    "evidence": "Ông A nói.", "variant": "no_diacritics"}, ensure_ascii=False)
        + "\n\n"
        + json.dumps({"question": "Khi nào?", "answers": [], "doc_id": ["d2", "d3"], "type": "date"},
                     ensure_ascii=False)
        + "\n",
        encoding="utf-8",
    )
    dataset = load_dataset(path)
    assert (dataset.name, dataset.format, dataset.passages) == ("gold", "jsonl", None)
    assert dataset.questions == [
        Question("g1", "Ai?", ["Ông A"], ["doc1"], ["Ông A nói."], {"variant": "no_diacritics"}),
        Question("3", "Khi nào?", [], ["d2", "d3"], [], {"type": "date"}),  # id = line number
    ]
    assert dataset.questions[0].answerable and not dataset.questions[1].answerable
    assert len(dataset.content_hash) == 64


def test_jsonl_malformed_line_names_its_number(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"question": "a", "answers": []}\n{"question": "b", \n', encoding="utf-8")
    with pytest.raises(ValueError, match="line 2"):
        load_dataset(path)


def test_jsonl_limit_and_stable_hash(tmp_path):
    rows = [{"question": f"q{i}", "answers": [str(i)]} for i in range(5)]
    path = _write_jsonl(tmp_path / "a.jsonl", rows)
    first, limited = load_dataset(path), load_dataset(path, limit=2)
    assert [q.question for q in limited.questions] == ["q0", "q1"]
    assert first.content_hash == limited.content_hash
    _write_jsonl(tmp_path / "a.jsonl", rows[:4])
    assert load_dataset(path).content_hash != first.content_hash


# ---------------------------------------------------------------- squad


def _squad(articles: list) -> dict:
    return {"version": "v2.0", "data": articles}


def _qa(qid, question, answers, impossible=None):
    qa = {"id": qid, "question": question, "answers": [{"text": a, "answer_start": 0} for a in answers]}
    if impossible is not None:
        qa["is_impossible"] = impossible
    return qa


def test_squad_zalo_style_groups_repeated_questions(tmp_path):
    data = _squad([
        {"title": "Ai là chủ tịch Hòa Phát", "paragraphs": [  # title is just the question: dropped
            {"context": "Ông Trần Đình Long là chủ tịch.", "qas": [_qa("z1", "Ai là chủ tịch Hòa Phát", ["Trần Đình Long"], False)]},
            {"context": "Hòa Phát sản xuất thép.", "qas": [_qa("z2", "Ai là chủ tịch Hoà Phát ?", [], True)]},
            {"context": "Chủ tịch Long phát biểu.", "qas": [_qa("z3", "ai là chủ tịch Hòa Phát", ["Long", "Trần Đình Long"], False)]},
            {"context": "Ông Trần Đình Long là chủ tịch.", "qas": [_qa("z4", "Ai là chủ tịch Hòa Phát", ["Trần Đình Long"], False)]},
        ]},
        {"title": "Thép", "paragraphs": [
            {"context": "Thép là hợp kim.", "qas": [_qa("z5", "Thép làm từ gì?", [], True)]},
        ]},
    ])
    path = tmp_path / "zalo.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    assert detect_format(path) == "squad"
    dataset = load_dataset(path)
    assert dataset.passages == [
        Passage("p00000", "", "Ông Trần Đình Long là chủ tịch."),
        Passage("p00001", "", "Hòa Phát sản xuất thép."),
        Passage("p00002", "", "Chủ tịch Long phát biểu."),
        Passage("p00003", "Thép", "Thép là hợp kim."),
    ]
    assert dataset.questions == [
        Question("z1", "Ai là chủ tịch Hòa Phát", ["Trần Đình Long", "Long"], ["p00000", "p00002"], [], {}),
        Question("z5", "Thép làm từ gì?", [], [], [], {}),
    ]


def test_squad_11_without_is_impossible(tmp_path):
    data = _squad([{"title": "Huế", "paragraphs": [
        {"context": "Huế là cố đô.", "qas": [_qa("s1", "Cố đô là gì?", ["Huế"]), _qa("s2", "Ở đâu?", ["miền Trung"])]},
    ]}])
    path = tmp_path / "viquad.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    dataset = load_dataset(path, limit=1)
    assert dataset.passages == [Passage("p00000", "Huế", "Huế là cố đô.")]
    assert dataset.questions == [Question("s1", "Cố đô là gì?", ["Huế"], ["p00000"], [], {})]


# ---------------------------------------------------------------- beir


def _beir_folder(tmp_path: Path, qrels_name: str) -> Path:
    folder = tmp_path / "bench"
    _write_jsonl(folder / "corpus.jsonl", [
        {"_id": "c1", "title": "Luật A", "text": "Điều 1."},
        {"id": "c2", "text": "Điều 2."},
    ])
    _write_jsonl(folder / "queries.jsonl", [
        {"_id": "q1", "text": "Điều 1 nói gì?", "answers": ["Điều 1"], "question_type": "Tự luận"},
        {"_id": "q2", "text": "Chỉ có nhãn?", "source": "x"},
        {"_id": "q3", "text": "Không nhãn, không đáp án?"},
        {"_id": "q4", "text": "Chỉ có đáp án?", "answers": ["Có"]},
        {"_id": "q5", "text": "Điểm 0?"},
    ])
    qrels = folder / qrels_name
    qrels.parent.mkdir(parents=True, exist_ok=True)
    qrels.write_text("query-id\tcorpus-id\tscore\nq1\tc1\t1\nq1\tc2\t2\nq2\tc2\t1\nq5\tc1\t0\n", encoding="utf-8")
    return folder


@pytest.mark.parametrize("qrels_name", ["qrels.tsv", "qrels/test.tsv"])
def test_beir_folder(tmp_path, qrels_name):
    folder = _beir_folder(tmp_path, qrels_name)
    assert detect_format(folder) == "beir"
    dataset = load_dataset(folder)
    assert (dataset.name, dataset.format) == ("bench", "beir")
    assert dataset.passages == [Passage("c1", "Luật A", "Điều 1."), Passage("c2", "", "Điều 2.")]
    assert dataset.questions == [
        Question("q1", "Điều 1 nói gì?", ["Điều 1"], ["c1", "c2"], [], {"question_type": "Tự luận"}),
        Question("q2", "Chỉ có nhãn?", [], ["c2"], [], {"source": "x"}),
        Question("q4", "Chỉ có đáp án?", ["Có"], [], [], {}),
    ]
    limited = load_dataset(folder, limit=1)
    assert len(limited.questions) == 1 and len(limited.passages) == 2


def test_detect_format_errors(tmp_path):
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown dataset format"):
        detect_format(tmp_path / "notes.txt")
    with pytest.raises(ValueError, match="corpus.jsonl"):
        detect_format(tmp_path)
    with pytest.raises(ValueError, match="no such"):
        detect_format(tmp_path / "missing.jsonl")


# ---------------------------------------------------------------- real benchmarks


def test_real_benchmarks_load_quickly():
    assert BENCHMARKS.is_dir(), f"benchmarks folder missing: expected {BENCHMARKS} (../shared/benchmarks)"
    expected = {  # path: (format, questions, passages, unanswerable)
        "vinewsqa-dev": ("beir", 1013, 898, 0),
        "alqac-legal": ("beir", 1247, 2893, 0),
        "zalo-qa/zalo_qa_squad2.json": ("squad", 514, 3255, 130),
    }
    for relative, (fmt, n_questions, n_passages, n_unanswerable) in expected.items():
        started = time.perf_counter()
        dataset = load_dataset(BENCHMARKS / relative)
        assert time.perf_counter() - started < 5, relative
        unanswerable = sum(not q.answerable for q in dataset.questions)
        assert (dataset.format, len(dataset.questions), len(dataset.passages), unanswerable) == (
            fmt, n_questions, n_passages, n_unanswerable), relative
        passage_ids = {p.id for p in dataset.passages}
        assert all(set(q.relevant_ids) <= passage_ids for q in dataset.questions), relative
