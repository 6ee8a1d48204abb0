"""Integrity of the hand-written gold QA set eval/gold/samples_qa.jsonl against samples/*.txt:
schema, composition minimums, and that every answer and evidence span really occurs in the article
it cites (outside the page boilerplate), so a broken or drifted gold set fails CI."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from ingest.textnorm import fold_diacritics, normalize_text

ROOT = Path(__file__).resolve().parent.parent
GOLD = ROOT / "eval" / "gold" / "samples_qa.jsonl"
SAMPLES = ROOT / "samples"

FIELDS = {"id", "question", "answers", "doc_id", "evidence", "variant", "type"}
REQUIRED = {"id", "question", "answers", "variant", "type"}
VARIANTS = {"diacritics", "no_diacritics", "paraphrase", "unanswerable"}
TYPES = {"how_many", "when", "who", "where", "what", "yes_no"}
# Where the article ends and the portal boilerplate (bylines, comment boxes, counters, decree lists) starts.
BOILERPLATE_MARKERS = ("\nTác giả:", "\nPhản hồi", "Thống kê truy cập", "Văn bản mới", "\nMời quý vị nghe")


def _load() -> list[dict]:
    records = []
    for number, line in enumerate(GOLD.read_text(encoding="utf-8").splitlines(), 1):
        assert line.strip(), f"line {number} is blank"
        record = json.loads(line)
        assert isinstance(record, dict), f"line {number} is not a JSON object"
        records.append(record)
    return records


RECORDS = _load()
TEXTS = {path.stem: path.read_text(encoding="utf-8") for path in sorted(SAMPLES.glob("*.txt"))}
ANSWERABLE = [r for r in RECORDS if r.get("variant") != "unanswerable"]
UNANSWERABLE = [r for r in RECORDS if r.get("variant") == "unanswerable"]


def _content(doc_id: str) -> str:
    text = TEXTS[doc_id]
    cut = min((i for i in (text.find(m) for m in BOILERPLATE_MARKERS) if i >= 0), default=len(text))
    return text[:cut]


def _ids(records: list[dict]) -> list[str]:
    return [str(r.get("id")) for r in records]


def test_schema_and_unique_ids():
    assert RECORDS, "gold file is empty"
    for r in RECORDS:
        assert REQUIRED <= r.keys() <= FIELDS, (r.get("id"), sorted(r.keys()))
        assert re.fullmatch(r"g\d{3}", r["id"]), r["id"]
        assert r["variant"] in VARIANTS, r
        assert r["type"] in TYPES, r
        assert isinstance(r["question"], str) and r["question"].strip() == r["question"] != ""
        assert isinstance(r["answers"], list) and all(isinstance(a, str) and a.strip() == a != "" for a in r["answers"])
        assert len(set(r["answers"])) == len(r["answers"]), r["id"]
    ids = [r["id"] for r in RECORDS]
    assert len(ids) == len(set(ids)), [i for i, n in Counter(ids).items() if n > 1]


def test_composition_minimums():
    variants = Counter(r["variant"] for r in RECORDS)
    assert len(RECORDS) >= 66
    assert variants["diacritics"] >= 36
    assert variants["no_diacritics"] >= 14
    assert variants["paraphrase"] >= 6
    assert variants["unanswerable"] >= 10
    per_doc = Counter(r["doc_id"] for r in RECORDS if r["variant"] == "diacritics")
    assert set(TEXTS) <= set(per_doc), f"articles without diacritics questions: {set(TEXTS) - set(per_doc)}"
    assert all(per_doc[d] >= 6 for d in TEXTS), per_doc
    assert len({r["doc_id"] for r in RECORDS if r["variant"] == "no_diacritics"}) >= 4
    assert sum(1 for r in UNANSWERABLE if fold_diacritics(r["question"]) == r["question"]) >= 2
    assert len({r["type"] for r in RECORDS if r["variant"] == "diacritics"}) >= 4


def test_canonical_example():
    first = RECORDS[0]
    assert first["id"] == "g001"
    assert first["question"] == "Mai Sơn có bao nhiêu sản phẩm OCOP?"
    assert first["answers"][0] == "20 sản phẩm OCOP"
    assert first["doc_id"] == "001_ad2f1263791dfcf2"
    twins = [r for r in RECORDS if r["question"] == "Mai Son co bao nhieu san pham OCOP?"]
    assert twins and twins[0]["variant"] == "no_diacritics" and twins[0]["answers"][0] == "20 sản phẩm OCOP"


@pytest.mark.parametrize("record", ANSWERABLE, ids=_ids(ANSWERABLE))
def test_answerable_is_grounded(record):
    doc_id, evidence, answers = record.get("doc_id"), record.get("evidence"), record["answers"]
    assert doc_id in TEXTS, f"no samples/{doc_id}.txt"
    assert answers, "answerable question without answers"
    assert isinstance(evidence, str) and evidence, "missing evidence"
    assert evidence in TEXTS[doc_id], "evidence is not a verbatim substring of the article"
    assert evidence in _content(doc_id), "evidence comes from page boilerplate, not the article"
    assert normalize_text(answers[0]) in normalize_text(evidence), "answers[0] not inside evidence"
    normalized_doc = normalize_text(TEXTS[doc_id])
    for answer in answers:
        assert normalize_text(answer) in normalized_doc, f"answer {answer!r} not in the article"
        if answer.isdigit():  # bare numbers would match by accident under a "contains" metric
            assert record["type"] == "when" and len(answer) == 4, f"bare number answer {answer!r}"


@pytest.mark.parametrize("record", RECORDS, ids=_ids(RECORDS))
def test_question_spelling_matches_variant(record):
    question = record["question"]
    if record["variant"] == "no_diacritics":
        assert fold_diacritics(question) == question, "no_diacritics question carries diacritics"
    elif record["variant"] in {"diacritics", "paraphrase"}:
        assert fold_diacritics(question) != question, "question typed without diacritics"


@pytest.mark.parametrize("record", UNANSWERABLE, ids=_ids(UNANSWERABLE))
def test_unanswerable_has_no_gold(record):
    assert record["answers"] == []
    assert record.get("doc_id") is None
    assert record.get("evidence") is None
