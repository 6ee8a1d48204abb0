"""The naive answerer `hoidap eval` reports beside hoidap's: the top passage's sentence with the most
IDF-weighted question syllables (accent-folded), IDF from the index's folded BM25 field.

It never declines; its confidence is the sentence's share of the question's IDF weight (0–1).
A floor to beat: an answer stage that loses to it is not worth its rules.
"""

from __future__ import annotations

import math
from collections.abc import Callable
import time
from dataclasses import dataclass

from eval.records import Hit, Outcome

NAME = "naive"  # its entry in metrics.json and the report, beside hoidap's per retriever
OVER = "hybrid"  # the retriever whose passages it answers from


@dataclass
class NaiveAnswer:
    sentence: str  # the chosen sentence ("" only when there is no passage at all)
    confidence: float  # matched IDF weight over the question's IDF weight


def idf_weights(question: str, document_frequency: Callable[[str], tuple[int, int]]) -> dict[str, float]:
    """IDF of each distinct folded question syllable: log(1 + N/df), as app/question.py weighs terms;
    a syllable no chunk holds gets log(1 + N), the rarest possible (it can match nothing anyway)."""
    from index.tokenize import folded_syllables

    weights = {}
    for term in dict.fromkeys(folded_syllables(question)):
        df, n_docs = document_frequency(term)
        weights[term] = math.log(1 + n_docs / df) if df else math.log(1 + max(n_docs, 1))
    return weights


def answer(question: str, passage_texts: list[str], document_frequency) -> NaiveAnswer:
    """The best sentence of the first passage; ties go to the earlier sentence."""
    from index.tokenize import folded_syllables
    from ingest.chunk import passage_sentences

    if not passage_texts:
        return NaiveAnswer("", 0.0)
    weights = idf_weights(question, document_frequency)
    total = sum(weights.values())
    best, best_score = "", -1.0
    for sentence in passage_sentences(passage_texts[0]):
        present = set(folded_syllables(sentence))
        score = sum(w for term, w in weights.items() if term in present)
        if score > best_score:
            best, best_score = sentence, score
    return NaiveAnswer(best, round(best_score / total, 6) if total > 0 and best_score > 0 else 0.0)


def ask_naive(index, question: str, hits: list[Hit], retrieval_ms: float) -> Outcome:
    """The naive answerer (eval/naive.py) over passages already retrieved for the question; it never
    declines, so its sentence is the span, the reply and the claim alike."""
    started = time.perf_counter()
    chosen = answer(question, [hit.text for hit in hits], index.document_frequency)
    answer_ms = (time.perf_counter() - started) * 1000
    found = bool(chosen.sentence)
    cited = hits[0].text if found else ""
    return Outcome(hits, chosen.sentence, chosen.sentence, chosen.sentence, found, cited, retrieval_ms, answer_ms,
                   retrieval_ms + answer_ms, confidence=chosen.confidence)


def retrieve_hits(depth: int, index, question: str, mode: str) -> tuple[list[Hit], float]:
    """(ranked hits, milliseconds) straight from the index, for the naive answerer when hoidap's
    own run with that retriever was not asked for."""
    from ingest.textnorm import normalize_text

    started = time.perf_counter()
    passages = index.retrieve(normalize_text(question).strip(), k=depth, mode=mode)
    elapsed = (time.perf_counter() - started) * 1000
    return [Hit(p.node_id, p.doc_id, p.title, p.text, float(p.score)) for p in passages], elapsed
