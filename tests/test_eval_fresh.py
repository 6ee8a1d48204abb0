"""Integrity of eval/gold/samples_fresh_qa.jsonl (180 questions about the samples by three helper sessions)
and samples_fresh2_qa.jsonl (50 by a fourth, twenty-first session), all written by sessions that saw only the
articles (not the code, not the other gold sets), so that a drifted or mistyped line fails CI. Like
samples_qa.jsonl they are for regression and measurement, never fitting."""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from pathlib import Path

from ingest.textnorm import fold_diacritics

ROOT = Path(__file__).resolve().parent.parent
GOLD = ROOT / "eval" / "gold"
TEXTS = {path.stem: path.read_text(encoding="utf-8") for path in sorted((ROOT / "samples").glob("*.txt"))}
FIRST, SECOND = ([json.loads(line) for line in (GOLD / name).read_text(encoding="utf-8").splitlines()]
                 for name in ("samples_fresh_qa.jsonl", "samples_fresh2_qa.jsonl"))
RECORDS = FIRST + SECOND
FIELDS = {"id", "question", "answers", "doc_id", "evidence", "variant", "type"}


def test_schema_ids_and_composition():
    assert all(r.keys() == FIELDS for r in RECORDS)
    assert len({r["id"] for r in RECORDS}) == len(RECORDS) == 180 + 50
    assert {r["variant"] for r in RECORDS} == {"diacritics", "no_diacritics", "partial_diacritics"}
    for records, answerable, unanswerable in ((FIRST, 125, 55), (SECOND, 40, 10)):
        counts = Counter(bool(r["answers"]) for r in records)
        assert counts[True] == answerable and counts[False] == unanswerable
    for letter in "fhkm":  # one letter per writer; writers working apart asked a few of the same questions
        folded = [fold_diacritics(r["question"]).lower() for r in RECORDS if r["id"][0] == letter]
        assert len(set(folded)) == len(folded), "no writer asked a question twice, accents aside"


def test_answers_and_evidence_occur_in_their_article():
    for r in RECORDS:
        assert unicodedata.is_normalized("NFC", r["question"] + r["evidence"] + "".join(r["answers"])), r["id"]
        if not r["answers"]:
            assert r["evidence"] == "", r["id"]
            continue
        text = TEXTS[r["doc_id"]]
        assert r["evidence"] in text, r["id"]
        assert all(a in r["evidence"] for a in r["answers"]), r["id"]


def test_questions_typed_without_accents_have_none():
    for r in RECORDS:
        if r["variant"] == "no_diacritics":
            assert r["question"].isascii(), r["id"]
