"""Per-query records of an eval run: what a retriever ranked and answered, with label-level hit flags.

Relevance is judged at the label level: retrieved chunks map to their document (or passage) id and
repeats are dropped in rank order. With evidence strings only, a document hits when its retrieved
chunks (with the article title shown beside them) contain an evidence string.
"""

from __future__ import annotations

from dataclasses import dataclass

@dataclass
class Hit:
    """One retrieved chunk, in rank order, as any retriever returns it."""

    node_id: str
    doc_id: str
    title: str
    text: str
    score: float


@dataclass
class Outcome:
    """What one question produced: the ranked chunks and the answer."""

    hits: list[Hit]
    answer: str  # the answering span, what EM/F1/accuracy score ("" when declined)
    reply: str  # the text a person reads (span + where it comes from, or the refusal)
    claim: str  # the reply without its "(theo bài …)" source note: what "contains the answer" reads
    found: bool
    cited_text: str  # the passage the answer is taken from ("" when declined)
    retrieval_ms: float
    answer_ms: float
    total_ms: float
    error: str = ""
    confidence: float | None = None  # the answerer's 0–1 confidence; None: 1.0 if found else 0.0


def outcome_of(result: dict, retrieval_ms: float = 0.0, answer_ms: float = 0.0, total_ms: float = 0.0,
               scores: dict[str, float] | None = None) -> Outcome:
    """The Outcome of one answer object (QAService.ask, or a line of `ask --batch`), ranked as its
    `sources` list them (the retrieval's order, app/qa.py), so `hoidap eval` and an evaluator
    scoring `ask --batch -k N` output score the same ranking. `scores` (node id →
    unrounded score) replace the rounded ones the answer object carries."""
    from app.answer import claim_of

    scores = scores or {}
    sources = result.get("sources") or []
    hits = [Hit(s.get("node_id", ""), s["doc_id"], s.get("title", ""), s.get("text", ""),
                scores.get(s.get("node_id", ""), float(s.get("score", 0.0)))) for s in sources]
    found = bool(result.get("found"))
    cited_source = next((s for s in sources if s.get("cited")), sources[0] if sources else {})
    cited = cited_source.get("text", "") if found else ""
    answer = result.get("answer", "")
    claim = claim_of(answer) if found else ""
    # An answer with no precise part (the contract's empty span) is scored on what it asserts.
    span = (result.get("span") or claim) if found else ""
    confidence = result.get("confidence")  # answer stages before the learned one give none
    return Outcome(hits, span, answer, claim, found, cited, retrieval_ms, answer_ms, total_ms,
                   error=result.get("error", ""), confidence=float(confidence) if confidence is not None else float(found))


def _padded(text: str) -> str:
    from eval.metrics import normalize_answer

    return f" {normalize_answer(text)} "


def ranked_items(question, hits: list[Hit]) -> tuple[list[dict], int]:
    """Ranked label-level items (chunk → doc id, first occurrence kept) with hit flags; and n_relevant.

    With relevant ids, an item hits when its id is one of them. With evidence strings only, an item
    hits when the text of its retrieved chunks contains a not-yet-matched evidence string
    (normalised), so each evidence counts once and recall stays within 0..1.
    """
    order: list[str] = []
    grouped: dict[str, list[Hit]] = {}
    for hit in hits:
        if hit.doc_id not in grouped:
            order.append(hit.doc_id)
            grouped[hit.doc_id] = []
        grouped[hit.doc_id].append(hit)
    relevant = set(question.relevant_ids)
    evidence = [] if relevant else [e for e in (_padded(e) for e in question.evidence) if e.strip()]
    unmatched = list(evidence)
    items = []
    for doc_id in order:
        chunks = grouped[doc_id]
        first = chunks[0]
        if relevant:
            hit = doc_id in relevant
        else:
            haystack = _padded(" ".join([first.title] + [c.text for c in chunks]))
            matched = next((e for e in unmatched if e in haystack), None)
            hit = matched is not None
            if matched is not None:
                unmatched.remove(matched)
        items.append({"id": doc_id, "node_id": first.node_id, "hit": hit, "score": round(first.score, 6),
                      "title": first.title, "text": first.text})
    return items, (len(relevant) if relevant else len(evidence))


def evidence_rank(evidence: list[str], hits: list[Hit]) -> int | None:
    """Passage-level rank (1-based) of the first retrieved chunk whose text, with its article title,
    contains an evidence string (normalised); None when no retrieved chunk does."""
    wanted = [e for e in (_padded(e) for e in evidence) if e.strip()]
    for rank, hit in enumerate(hits, 1):
        haystack = _padded(f"{hit.title} {hit.text}")
        if any(e in haystack for e in wanted):
            return rank
    return None


def make_record(question, outcome: Outcome, asked: str | None = None) -> dict:
    """A per-query record as eval/metrics.summarize reads it; `asked` is the text actually typed
    when it differs from the dataset's question (eval --queries folded/mixed)."""
    from eval.metrics import contains_answer

    ranked, n_relevant = ranked_items(question, outcome.hits)
    answerable = question.answerable
    cited_hit = contains_answer(outcome.cited_text, question.answers) if outcome.found and answerable else None
    record = {
        "id": question.id,
        "question": question.question,
        "gold": list(question.answers),
        "answerable": answerable,
        "relevant_ids": list(question.relevant_ids),
        "n_relevant": n_relevant,
        "fields": dict(question.fields),
        "ranked": ranked,
        "answer": outcome.answer,
        "reply": outcome.reply,
        "claim": outcome.claim,
        "found": outcome.found,
        "confidence": outcome.confidence if outcome.confidence is not None else float(outcome.found),
        "cited_hit": cited_hit,
        "timings_ms": {"retrieval": round(outcome.retrieval_ms, 3), "answer": round(outcome.answer_ms, 3),
                       "total": round(outcome.total_ms, 3)},
    }
    if asked is not None and asked != question.question:
        record["asked"] = asked
    if question.evidence:
        record["evidence"] = list(question.evidence)
        record["evidence_rank"] = evidence_rank(question.evidence, outcome.hits)
    if outcome.error:
        record["error"] = outcome.error
    return record
