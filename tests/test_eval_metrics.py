"""Hand-computed cases for eval/metrics.py: ranking metrics, answer matching, numbers, confidence
(AUROC, the refusal curve), summaries."""

import math
import random
import unicodedata

import numpy as np
import pytest

from eval.metrics import (
    auroc,
    breakdown,
    contains_answer,
    contains_gold,
    dedupe_ranked,
    exact_match,
    mrr_at_k,
    ndcg_at_k,
    normalize_answer,
    numeric_match,
    parse_numbers,
    percentile,
    recall_at_k,
    records_curve,
    refusal_curve,
    summarize,
    token_f1,
)


def test_dedupe_ranked_keeps_first_occurrence():
    assert dedupe_ranked(["d2", "d1", "d2", "d3", "d1"]) == ["d2", "d1", "d3"]
    assert dedupe_ranked([]) == []


def test_ranking_metrics_one_relevant_at_rank_two():
    hits = [False, True, False]
    assert recall_at_k(hits, 1, 1) == 0.0
    assert recall_at_k(hits, 1, 5) == 1.0
    assert mrr_at_k(hits, 10) == 0.5
    assert mrr_at_k(hits, 1) == 0.0
    assert ndcg_at_k(hits, 1, 10) == pytest.approx(1 / math.log2(3))


def test_ranking_metrics_two_relevant():
    hits = [True, False, True]
    assert recall_at_k(hits, 2, 1) == 0.5
    assert recall_at_k(hits, 2, 3) == 1.0
    assert recall_at_k(hits, 4, 3) == 0.5  # relevant passages never retrieved still count
    assert mrr_at_k(hits, 10) == 1.0
    # DCG = 1 + 1/log2(4) = 1.5; ideal = 1 + 1/log2(3)
    assert ndcg_at_k(hits, 2, 10) == pytest.approx(1.5 / (1 + 1 / math.log2(3)))
    # ideal DCG is cut at k: one slot, one hit → perfect
    assert ndcg_at_k(hits, 2, 1) == 1.0


def test_ranking_metrics_without_labels_are_zero():
    assert recall_at_k([True], 0, 5) == 0.0
    assert ndcg_at_k([True], 0, 5) == 0.0
    assert mrr_at_k([], 10) == 0.0


def test_normalize_answer():
    assert normalize_answer("  Hoà  Bình, (tỉnh)! ") == "hòa bình tỉnh"
    assert normalize_answer("1.373,7 ha") == "1.373,7 ha"
    assert normalize_answer("91,48%.") == "91,48"
    assert normalize_answer("Moon Jae-in") == normalize_answer("Moon Jae In") == "moon jae in"
    assert normalize_answer("“Uỷ ban”") == "ủy ban"


def test_exact_match_across_tone_conventions():
    assert exact_match("Hoà Bình", ["Hòa Bình"])
    assert exact_match("hòa bình.", ["Sơn La", "Hòa Bình"])
    assert not exact_match("Hòa Bình tỉnh", ["Hòa Bình"])
    assert not exact_match("Hòa Bình", [])


def test_token_f1():
    # pred tokens {thủ, đô, hà, nội}, gold {hà, nội}: P = 2/4, R = 1 → F1 = 2/3
    assert token_f1("Thủ đô Hà Nội", ["Hà Nội"]) == pytest.approx(2 / 3)
    assert token_f1("Thủ đô Hà Nội", ["TP HCM", "Hà Nội"]) == pytest.approx(2 / 3)
    assert token_f1("Hoà Bình", ["Hòa Bình"]) == 1.0
    assert token_f1("", ["Hà Nội"]) == 0.0
    assert token_f1("Hà Nội", []) == 0.0


def test_contains_answer_on_word_boundaries():
    assert contains_answer("Ông ấy sinh ở Hoà Bình năm 1950.", ["Hòa Bình"])
    assert not contains_answer("Năm 2020", ["20"])
    assert not contains_answer("Sài Gòn", ["Sai"])
    assert not contains_answer("anything", [""])


def test_contains_gold_on_token_boundaries_ignoring_case_and_accents():
    assert not contains_gold("Năm 2023", ["3"])  # a figure inside another is not the answer
    assert not contains_gold("năm 2023", ["202"])
    assert contains_gold("Mai Sơn có 20 sản phẩm OCOP.", ["20 sản phẩm"])
    assert not contains_gold("Mai Sơn có 120 sản phẩm OCOP.", ["20 sản phẩm"])
    assert contains_gold("1.373,7 ha", ["1.373,7 ha"])
    assert not contains_gold("1.373 ha", ["1.373,7 ha"])
    assert contains_gold("Diện tích 1.373,7 ha.", ["999", "1.373,7 ha"])  # any gold
    assert contains_gold("TỈNH HOÀ BÌNH", ["hòa bình"])  # case, and the two tone conventions
    assert contains_gold("tinh Hoa Binh", ["Hòa Bình"])  # typed without diacritics
    assert contains_gold(unicodedata.normalize("NFD", "huyện Mỹ Xuyên (Sóc Trăng)"), ["Sóc Trăng"])
    assert contains_gold("Đảng bộ", ["dang bo"])  # đ folds to d
    assert not contains_gold("Sóc Trăng", [])
    assert not contains_gold("Sóc Trăng", [""])
    assert not contains_gold("", ["Sóc Trăng"])


def test_em_and_f1_on_syllables_best_gold():
    # pred {có, 20, sản, phẩm}, gold {20, sản, phẩm, ocop}: 3 in common, P = R = 3/4
    assert token_f1("có 20 sản phẩm", ["20 sản phẩm OCOP"]) == pytest.approx(0.75)
    assert token_f1("có 20 sản phẩm", ["Hà Nội", "20 sản phẩm OCOP", "sản phẩm"]) == pytest.approx(0.75)
    assert token_f1("1.373,7 ha", ["1.373,7 ha"]) == 1.0  # a figure is one token
    assert token_f1("1.373 ha", ["1.373,7 ha"]) == pytest.approx(0.5)
    assert exact_match("20 sản phẩm OCOP.", ["20 sản phẩm ocop"])
    assert not exact_match("có 20 sản phẩm OCOP", ["20 sản phẩm OCOP"])


def test_auroc_on_a_known_tiny_example():
    # positives 0.9 and 0.7, negatives 0.8 and 0.6: 3 of the 4 pairs ordered right
    assert auroc([0.9, 0.8, 0.7, 0.6], [True, False, True, False]) == pytest.approx(0.75)
    assert auroc([0.9, 0.1], [True, False]) == 1.0
    assert auroc([0.1, 0.9], [True, False]) == 0.0
    assert auroc([0.5, 0.5, 0.5], [True, False, False]) == 0.5  # ties count one half
    # positive 1.0 vs negatives 1.0 and 0.0: one tie, one win
    assert auroc([1.0, 1.0, 0.0], [True, False, False]) == pytest.approx(0.75)
    assert auroc([0.3, 0.4], [True, True]) is None
    assert auroc([], []) is None


def test_auroc_equals_the_pairwise_count():
    rng = random.Random(13)
    scores = [round(rng.random(), 1) for _ in range(60)]  # rounded: many ties
    labels = [rng.random() < 0.4 for _ in scores]
    pos = [s for s, label in zip(scores, labels) if label]
    neg = [s for s, label in zip(scores, labels) if not label]
    pairwise = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg) / (len(pos) * len(neg))
    assert auroc(scores, labels) == pytest.approx(pairwise)


def test_refusal_curve_points():
    # q1 answerable, right (0.9); q2 answerable, wrong (0.2); q3, q4 unanswerable (0.6, 0.1)
    points = refusal_curve([0.9, 0.2, 0.6, 0.1], [True, True, False, False], [True, False, False, False])
    as_tuples = [(p["threshold"], p["declined_answerable"], p["declined_unanswerable"], p["answered_correctly"])
                 for p in points]
    assert as_tuples == [
        (0.1, 0.0, 0.0, 0.5),  # declines nothing
        (0.2, 0.0, 0.5, 0.5),  # q4 declined
        (0.6, 0.5, 0.5, 0.5),  # q2 too
        (0.9, 0.5, 1.0, 0.5),  # q3 too
        (None, 1.0, 1.0, 0.0),  # declines everything
    ]
    no_unanswerable = refusal_curve([0.5, 0.5], [True, True], [True, True])
    assert [(p["declined_answerable"], p["declined_unanswerable"]) for p in no_unanswerable] == [(0.0, None), (1.0, None)]


def test_parse_numbers_vietnamese_writing():
    assert parse_numbers("1.373,7 ha") == [1373.7]
    assert parse_numbers("11.200 người") == [11200]
    assert parse_numbers("91,48%") == [91.48]
    assert parse_numbers("6,92") == [6.92]
    assert parse_numbers("ngày 06/19") == [6, 19]
    assert parse_numbers("2020-2025") == [2020, 2025]
    assert parse_numbers("20") == [20]
    assert parse_numbers("1.000.000 đồng") == [1_000_000]
    assert parse_numbers("1,373.7") == [1373.7]
    assert parse_numbers("không có số") == []


def test_numeric_match():
    assert numeric_match("khoảng 1373.7 hecta", ["1.373,7 ha"])
    assert numeric_match("1.373,7", ["1373.7"])
    assert numeric_match("1,375 tấn", ["1.375 tấn"])  # English thousands vs Vietnamese thousands
    assert numeric_match("tỷ lệ 91,48 phần trăm", ["91,48%"])
    assert numeric_match("giai đoạn 2020 đến 2025", ["2020-2025"])
    assert not numeric_match("năm 2020", ["2020-2025"])  # every gold number must appear
    assert not numeric_match("1 người", ["1.000 người"])  # "1.000" is never the decimal 1.0
    assert not numeric_match("Hà Nội", ["Hà Nội"])  # a gold without numbers never matches
    assert numeric_match("20 năm", ["Hà Nội", "20 năm"])


def test_percentile_matches_numpy():
    values = [5.0, 1.0, 3.0, 10.0]
    for q in (0, 25, 50, 95, 100):
        assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))
    assert percentile([], 50) is None


def _record(rid, gold, hits, n_relevant, answer, found, cited_hit, total, retrieval, variant):
    return {
        "id": rid,
        "question": f"câu hỏi {rid}",
        "gold": gold,
        "answerable": bool(gold),
        "n_relevant": n_relevant,
        "fields": {"variant": variant},
        "ranked": [{"id": f"d{i}", "hit": h, "score": 1.0 - i / 10, "title": "", "text": ""} for i, h in enumerate(hits)],
        "answer": answer,
        "found": found,
        "cited_hit": cited_hit,
        "timings_ms": {"retrieval": retrieval, "answer": total - retrieval, "total": total},
    }


@pytest.fixture
def three_records():
    return [
        _record("q1", ["Hòa Bình"], [False, True, False], 1, "Hoà Bình", True, True, 100.0, 40.0, "a"),
        _record("q2", ["1.373,7 ha"], [True, False, True], 2, "khoảng 1373.7 hecta", True, False, 200.0, 50.0, "b"),
        _record("q3", [], [False], 0, "", False, None, 300.0, 60.0, "a"),
    ]


def test_summarize_by_hand(three_records):
    summary = summarize(three_records)
    assert summary == {
        "n": 3,
        "retrieval": {
            # q1: recall@1 0, @5 1; q2: recall@1 1/2, @5 2/2; q3 has no labels
            "recall@1": 0.25, "recall@5": 1.0, "recall@10": 1.0, "recall@20": 1.0,
            "mrr@10": 0.75,  # (1/2 + 1) / 2
            # (1/log2(3) + 1.5/(1 + 1/log2(3))) / 2 = (0.63093 + 0.91972) / 2
            "ndcg@10": 0.7753,
            "n": 2,
        },
        "answer": {
            "em": 0.5, "f1": 0.5, "accuracy": 0.5,  # q1 right (tone marks differ), q2 written differently
            "numeric_match": 1.0, "n_numeric": 1,  # only q2's gold holds a number
            "refusal_accuracy": 1.0, "n_unanswerable": 1,
            "answer_rate": 1.0, "wrong_refusal_rate": 0.0,
            "citation_precision": 0.5,
            "contains_gold": 0.5, "contains_gold_span": 0.5, "n_answerable": 2,
            # no confidence recorded: 1.0 found (q1 right, q2 wrong), 0.0 declined (q3 unanswerable);
            # correct q1 (1.0) vs q2 (1.0, a tie) and q3 (0.0): (0.5 + 1) / 2
            "auroc_correct": 0.75,
            "auroc_answerable": 1.0,  # q1, q2 at 1.0 above q3 at 0.0
            "mean_confidence": 0.6667,
            "answer_chars_p50": 13.5,  # "Hoà Bình" (8) and "khoảng 1373.7 hecta" (19)
        },
        "latency_ms": {
            # totals 100/200/300: p95 at position 1.9 → 200 + 0.9 * 100
            "p50": 200.0, "p95": 290.0,
            "retrieval_p50": 50.0, "retrieval_p95": 59.0,
            "answer_p50": 150.0, "answer_p95": 231.0,
        },
    }


def test_summarize_declined_answer_counts_as_wrong():
    declined = _record("q", ["Hòa Bình"], [True], 1, "Hòa Bình", False, None, 10.0, 5.0, "a")
    answer = summarize([declined])["answer"]
    assert answer["em"] == 0.0 and answer["accuracy"] == 0.0
    assert answer["answer_rate"] == 0.0 and answer["wrong_refusal_rate"] == 1.0
    assert answer["citation_precision"] is None
    assert answer["refusal_accuracy"] is None and answer["n_unanswerable"] == 0
    assert answer["numeric_match"] is None and answer["n_numeric"] == 0


def test_summarize_without_records_uses_nulls():
    summary = summarize([])
    assert summary["n"] == 0
    assert summary["retrieval"]["recall@10"] is None and summary["retrieval"]["n"] == 0
    assert summary["answer"]["em"] is None
    assert summary["latency_ms"]["p50"] is None


def test_breakdown_groups_by_field(three_records):
    groups = breakdown(three_records, "variant")
    assert list(groups) == ["a", "b"]
    assert groups["a"]["n"] == 2 and groups["b"]["n"] == 1
    assert groups["a"]["retrieval"]["mrr@10"] == 0.5
    assert groups["b"]["answer"]["em"] == 0.0
    assert breakdown(three_records, "missing") == {}


def test_confidence_recorded_drives_auroc_and_curve(three_records):
    # q1 right at 0.3, q2 wrong at 0.8, q3 unanswerable (declined) at 0.1
    for record, confidence in zip(three_records, (0.3, 0.8, 0.1)):
        record["confidence"] = confidence
    answer = summarize(three_records)["answer"]
    assert answer["auroc_correct"] == 0.5  # above q3, below q2
    assert answer["auroc_answerable"] == 1.0
    assert answer["mean_confidence"] == 0.4
    curve = records_curve(three_records)
    assert [p["threshold"] for p in curve] == [0.1, 0.3, 0.8, None]
    assert curve[1] == {"threshold": 0.3, "declined_answerable": 0.0, "declined_unanswerable": 1.0,
                        "answered_correctly": 0.5}
    assert curve[2]["declined_answerable"] == 0.5 and curve[2]["answered_correctly"] == 0.0


def test_contains_gold_reads_the_claim_and_the_span_apart():
    record = _record("q", ["20 sản phẩm"], [True], 1, "20", True, True, 10.0, 5.0, "a")
    record["claim"] = "Mai Sơn có 20 sản phẩm OCOP"  # what a person reads, without "(theo bài …)"
    answer = summarize([record])["answer"]
    assert answer["contains_gold"] == answer["accuracy"] == 1.0
    assert answer["contains_gold_span"] == 0.0  # the span "20" lacks the unit the gold holds
    assert answer["em"] == 0.0 and answer["f1"] == 0.5  # {20} vs {20, sản, phẩm}: P 1, R 1/3
