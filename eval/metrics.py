"""Pure metric functions for retrieval (recall/MRR/nDCG), answers (EM, F1, containment, numbers),
confidence (AUROC, the refusal trade-off curve), latency percentiles, and the per-answerer summary
built from per-query records.

Leaves out: running retrievers or answerers (the eval runner) and writing files (eval/report.py).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

from ingest.textnorm import fold_diacritics, normalize_text

DEFAULT_KS = (1, 5, 10, 20)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_SPACES = re.compile(r"\s+")


# ---------------------------------------------------------------- retrieval


def dedupe_ranked(ids: Iterable) -> list:
    """Ranked ids with repeats removed, first occurrence kept (several chunks → one doc)."""
    seen: set = set()
    unique = []
    for item in ids:
        if item not in seen:
            seen.add(item)
            unique.append(item)
    return unique


def recall_at_k(hits: Sequence[bool], n_relevant: int, k: int) -> float:
    """Relevant items in the top k over all relevant items (BEIR style; 0 without labels)."""
    if n_relevant <= 0:
        return 0.0
    return sum(1 for hit in hits[:k] if hit) / n_relevant


def mrr_at_k(hits: Sequence[bool], k: int) -> float:
    """Reciprocal rank of the first relevant item within the top k, else 0."""
    for rank, hit in enumerate(hits[:k], start=1):
        if hit:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(hits: Sequence[bool], n_relevant: int, k: int) -> float:
    """Binary-gain nDCG; the ideal ranking puts min(n_relevant, k) relevant items first."""
    if n_relevant <= 0:
        return 0.0
    dcg = sum(1.0 / math.log2(rank + 1) for rank, hit in enumerate(hits[:k], start=1) if hit)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(n_relevant, k) + 1))
    return dcg / ideal


# ---------------------------------------------------------------- answers


def _is_word_char(char: str) -> bool:
    return char.isalnum() or unicodedata.category(char).startswith("M")


def normalize_answer(text: str) -> str:
    """Comparable form: normalised Vietnamese, lowercase, no punctuation, single spaces.

    A "." or "," between two digits stays, so "1.373,7" and "91,48" survive; other punctuation
    becomes a space (not deleted) so "Jae-in" compares equal to "Jae In".
    """
    text = normalize_text(text or "").lower()
    kept = []
    for i, char in enumerate(text):
        inside_number = (
            char in ".," and 0 < i < len(text) - 1 and text[i - 1].isdigit() and text[i + 1].isdigit()
        )
        kept.append(char if _is_word_char(char) or inside_number else " ")
    return _SPACES.sub(" ", "".join(kept)).strip()


def exact_match(pred: str, golds: Sequence[str]) -> bool:
    """Normalised prediction equals some normalised gold."""
    norm_pred = normalize_answer(pred)
    return any(norm_pred == normalize_answer(gold) for gold in golds)


def _f1(pred_tokens: list[str], gold_tokens: list[str]) -> float:
    common = sum((Counter(pred_tokens) & Counter(gold_tokens)).values())
    if common == 0:
        return 0.0
    precision = common / len(pred_tokens)
    recall = common / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def token_f1(pred: str, golds: Sequence[str]) -> float:
    """SQuAD token F1 over whitespace tokens of the normalised text, best gold wins."""
    pred_tokens = normalize_answer(pred).split()
    return max((_f1(pred_tokens, normalize_answer(gold).split()) for gold in golds), default=0.0)


def contains_answer(pred: str, golds: Sequence[str]) -> bool:
    """Normalised prediction contains a normalised gold on word boundaries ("20" ∉ "2020")."""
    padded_pred = f" {normalize_answer(pred)} "
    for gold in golds:
        norm_gold = normalize_answer(gold)
        if norm_gold and f" {norm_gold} " in padded_pred:
            return True
    return False


def contains_gold(text: str, golds: Sequence[str]) -> bool:
    """A gold answer appears in text as whole tokens, ignoring case, accents and punctuation (after
    NFC and one tone convention): "3" is not in "2023", "20 sản phẩm" is in "có 20 sản phẩm OCOP",
    "Hoa Binh" is in "tỉnh Hòa Bình". What a reader checks: is the answer there?"""
    padded = f" {fold_diacritics(normalize_answer(text))} "
    for gold in golds:
        folded = fold_diacritics(normalize_answer(gold))
        if folded and f" {folded} " in padded:
            return True
    return False


# ---------------------------------------------------------------- confidence


def auroc(scores: Sequence[float], labels: Sequence[bool]) -> float | None:
    """Area under the ROC curve: the chance a random positive scores above a random negative
    (ties count one half, Mann–Whitney); None without both a positive and a negative."""
    positives = [s for s, label in zip(scores, labels) if label]
    negatives = [s for s, label in zip(scores, labels) if not label]
    if not positives or not negatives:
        return None
    # Rank-sum with mid-ranks for ties: O(n log n), exact.
    ordered = sorted(zip(scores, labels), key=lambda pair: pair[0])
    rank_sum, i = 0.0, 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1][0] == ordered[i][0]:
            j += 1
        mid_rank = (i + j) / 2 + 1
        rank_sum += mid_rank * sum(1 for _, label in ordered[i : j + 1] if label)
        i = j + 1
    n_pos, n_neg = len(positives), len(negatives)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def refusal_curve(confidences: Sequence[float], answerable: Sequence[bool], correct: Sequence[bool]) -> list[dict]:
    """The refusal trade-off as the threshold sweeps: declining every answer with confidence below it,
    the share of answerable questions declined, of unanswerable ones declined, and of answerable ones
    still answered correctly. One point per distinct confidence (declining nothing at the lowest),
    then declining everything."""
    n_ans = sum(1 for a in answerable if a)
    n_unans = len(answerable) - n_ans

    def share(count: int, total: int) -> float | None:
        return round(count / total, 4) if total else None

    points = []
    for threshold in sorted(set(confidences)) + [math.inf]:
        kept = [c >= threshold for c in confidences]
        points.append({
            "threshold": None if threshold == math.inf else round(float(threshold), 6),
            "declined_answerable": share(sum(1 for k, a in zip(kept, answerable) if a and not k), n_ans),
            "declined_unanswerable": share(sum(1 for k, a in zip(kept, answerable) if not a and not k), n_unans),
            "answered_correctly": share(sum(1 for k, a, c in zip(kept, answerable, correct) if a and k and c), n_ans),
        })
    return points


# ---------------------------------------------------------------- numbers


def _digits_value(groups: list[str], decimal_at: int | None) -> float:
    """Join digit groups; the group after index decimal_at is the fractional part."""
    if decimal_at is None:
        return float("".join(groups))
    return float("".join(groups[: decimal_at + 1]) + "." + "".join(groups[decimal_at + 1 :]))


def _readings(token: str) -> list[float]:
    """Possible values of one number token, Vietnamese reading first.

    "1.373,7" → [1373.7]; "1.375" → [1375, 1.375]; "1,375" → [1.375, 1375]; "11.200" → [11200];
    "6,92" → [6.92]; "1,373.7" → [1373.7].
    """
    groups = re.split(r"[.,]", token)
    seps = re.findall(r"[.,]", token)
    if not seps:
        return [float(token)]
    kinds = set(seps)
    thousands_shaped = all(len(group) == 3 for group in groups[1:])
    if len(kinds) == 2:
        # the last separator kind is the decimal mark, the other groups thousands
        return [_digits_value(groups, len(groups) - 2)]
    if len(seps) > 1:
        return [_digits_value(groups, None)] if thousands_shaped else []
    if not thousands_shaped:
        return [_digits_value(groups, 0)]  # "6,92", "3.14": only a decimal reading fits
    # one separator before exactly three digits: thousands or decimal, depending on the writer;
    # nobody writes a decimal with a trailing zero ("1.000" is never 1.0), so that reading goes
    as_thousands, as_decimal = _digits_value(groups, None), _digits_value(groups, 0)
    if groups[1].endswith("0"):
        return [as_thousands]
    return [as_thousands, as_decimal] if seps[0] == "." else [as_decimal, as_thousands]


def _number_readings(text: str) -> list[list[float]]:
    """Readings of each number in text; odd tokens like "1.5.2020" split into plain integers."""
    numbers = []
    for token in _NUMBER.findall(text or ""):
        readings = _readings(token)
        if readings:
            numbers.append(readings)
        else:
            numbers.extend([float(part)] for part in re.split(r"[.,]", token))
    return numbers


def parse_numbers(text: str) -> list[float]:
    """Numbers in Vietnamese writing: "1.373,7" → 1373.7, "06/19" → [6, 19], "2020-2025" → both."""
    return [readings[0] for readings in _number_readings(text)]


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def numeric_match(pred: str, golds: Sequence[str]) -> bool:
    """Every number of some numeric gold appears in pred (any reading of ambiguous numbers)."""
    pred_values = [value for readings in _number_readings(pred) for value in readings]
    for gold in golds:
        gold_numbers = _number_readings(gold)
        if gold_numbers and all(
            any(_close(value, seen) for value in readings for seen in pred_values)
            for readings in gold_numbers
        ):
            return True
    return False


# ---------------------------------------------------------------- summaries


def percentile(values: Sequence[float], q: float) -> float | None:
    """q-th percentile (0–100) with linear interpolation, as numpy's default; None if empty."""
    ordered = sorted(values)
    if not ordered:
        return None
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


def _hits(record: dict) -> list[bool]:
    return [bool(item.get("hit")) for item in record.get("ranked") or []]


def summarize_retrieval(records: Sequence[dict], ks: Sequence[int] = DEFAULT_KS) -> dict:
    """Recall@k, MRR@10, nDCG@10 averaged over records that have relevance labels."""
    labelled = [r for r in records if r.get("n_relevant", 0) > 0]
    summary = {}
    for k in ks:
        summary[f"recall@{k}"] = _mean([recall_at_k(_hits(r), r["n_relevant"], k) for r in labelled])
    summary["mrr@10"] = _mean([mrr_at_k(_hits(r), 10) for r in labelled])
    summary["ndcg@10"] = _mean([ndcg_at_k(_hits(r), r["n_relevant"], 10) for r in labelled])
    # Passage level: the evidence sentence itself among the first 5 passages (gold sets that give one).
    with_evidence = [r for r in records if r.get("answerable") and "evidence_rank" in r]
    if with_evidence:
        summary["evidence@5"] = _share([(r["evidence_rank"] or 99) <= 5 for r in with_evidence])
    summary = {key: _round(value) for key, value in summary.items()}
    summary["n"] = len(labelled)
    if with_evidence:
        summary["n_evidence"] = len(with_evidence)
    return summary


def _given_answer(record: dict) -> str:
    """The answer's span (what EM/F1 score), or "" when the system declined (counted as wrong)."""
    return (record.get("answer") or "") if record.get("found") else ""


def _given_claim(record: dict) -> str:
    """What "answer contains a gold answer" reads: the reply's answering text when the record has
    one ("claim": the reply without its source note), else the span."""
    return (record.get("claim") or record.get("answer") or "") if record.get("found") else ""


def confidence_of(record: dict) -> float:
    """The answerer's confidence; a record without one counts 1.0 when found, else 0.0."""
    value = record.get("confidence")
    return float(value) if value is not None else (1.0 if record.get("found") else 0.0)


def answered_correctly(record: dict) -> bool:
    """An answerable question answered (not declined) with the gold in the text a person reads."""
    return bool(record.get("answerable")) and contains_gold(_given_claim(record), record.get("gold") or [])


def records_curve(records: Sequence[dict]) -> list[dict]:
    """refusal_curve over per-query records."""
    return refusal_curve([confidence_of(r) for r in records], [bool(r.get("answerable")) for r in records],
                         [answered_correctly(r) for r in records])


def _share(flags: list[bool]) -> float | None:
    return _mean([1.0 if flag else 0.0 for flag in flags])


def summarize_answers(records: Sequence[dict]) -> dict:
    """Answer quality over answerable records, refusals over unanswerable ones."""
    answerable = [r for r in records if r.get("answerable")]
    unanswerable = [r for r in records if not r.get("answerable")]
    numeric = [r for r in answerable if r.get("gold") and parse_numbers(r["gold"][0])]
    cited = [r for r in answerable if r.get("found") and r.get("cited_hit") is not None]
    confidences = [confidence_of(r) for r in records]
    summary = {
        "em": _share([exact_match(_given_answer(r), r["gold"]) for r in answerable]),
        "f1": _mean([token_f1(_given_answer(r), r["gold"]) for r in answerable]),
        "accuracy": _share([answered_correctly(r) for r in answerable]),
        "contains_gold": _share([answered_correctly(r) for r in answerable]),
        "contains_gold_span": _share([contains_gold(_given_answer(r), r["gold"]) for r in answerable]),
        "n_answerable": len(answerable),
        "numeric_match": _share([numeric_match(_given_answer(r), r["gold"]) for r in numeric]),
        "n_numeric": len(numeric),
        "refusal_accuracy": _share([not r.get("found") for r in unanswerable]),
        "n_unanswerable": len(unanswerable),
        "answer_rate": _share([bool(r.get("found")) for r in answerable]),
        "wrong_refusal_rate": _share([not r.get("found") for r in answerable]),
        "citation_precision": _share([bool(r["cited_hit"]) for r in cited]),
        # Does the confidence know when the answer is right, and when the question has no answer?
        "auroc_correct": auroc(confidences, [answered_correctly(r) for r in records]),
        "auroc_answerable": auroc(confidences, [bool(r.get("answerable")) for r in records]),
        "mean_confidence": _mean(confidences),
        # A long answer contains more by chance: how much a person reads per answer given.
        "answer_chars_p50": percentile([len(_given_claim(r)) for r in records if r.get("found")], 50),
    }
    return {key: value if key.startswith("n_") else _round(value) for key, value in summary.items()}


def summarize_latency(records: Sequence[dict]) -> dict:
    """p50/p95 of total, retrieval and answer time in milliseconds."""
    def times(stage: str) -> list[float]:
        return [r["timings_ms"][stage] for r in records if stage in (r.get("timings_ms") or {})]

    summary = {}
    for prefix, stage in (("", "total"), ("retrieval_", "retrieval"), ("answer_", "answer")):
        summary[f"{prefix}p50"] = _round(percentile(times(stage), 50))
        summary[f"{prefix}p95"] = _round(percentile(times(stage), 95))
    return summary


def summarize(records: Sequence[dict], ks: Sequence[int] = DEFAULT_KS) -> dict:
    """The contract summary: {"n", "retrieval", "answer", "latency_ms"} for one retriever."""
    return {
        "n": len(records),
        "retrieval": summarize_retrieval(records, ks),
        "answer": summarize_answers(records),
        "latency_ms": summarize_latency(records),
    }


def breakdown(records: Sequence[dict], field: str, ks: Sequence[int] = DEFAULT_KS) -> dict:
    """Summary per value of fields[field] (keys as strings, sorted); records without it are left out."""
    groups: dict[str, list[dict]] = {}
    for record in records:
        fields = record.get("fields") or {}
        if field in fields:
            groups.setdefault(str(fields[field]), []).append(record)
    return {value: summarize(groups[value], ks) for value in sorted(groups)}
