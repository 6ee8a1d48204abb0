"""`hoidap eval` end to end, in process: a tiny jsonl set over the sample corpus, a tiny BEIR folder and a
tiny SQuAD file (their own passages, isolated and cached index), and bad input.

One data dir is shared by the module so the embedding model's vectors are computed once; it starts
with the session's sample-index embedding cache (conftest), so the sample chunks are not re-embedded.
"""

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import json  # noqa: E402
import shutil  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from eval.metrics import normalize_answer  # noqa: E402

OCOP_DOC = "001_ad2f1263791dfcf2"
SONG_MA_DOC = "002_fb14a67d0406c0de"
TA_TONG_DOC = "004_1e938f9e399ad7c0"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

TINY_JSONL = [
    {"id": "t1", "question": "Mai Sơn có bao nhiêu sản phẩm OCOP?", "answers": ["20 sản phẩm OCOP"],
     "doc_id": OCOP_DOC, "variant": "diacritics", "type": "how_many"},
    {"id": "t2", "question": "Năm 2021 huyện Sông Mã vận động nhân dân trồng bao nhiêu ha dứa?",
     "answers": ["150 ha dứa"], "doc_id": SONG_MA_DOC, "variant": "diacritics", "type": "how_many"},
    {"id": "t3", "question": "Đảng bộ xã Tà Tổng có bao nhiêu đảng viên?", "answers": ["212 đảng viên"],
     "evidence": "212 đảng viên", "variant": "diacritics", "type": "how_many"},  # evidence, no doc id
    {"id": "t4", "question": "Huyện Yên Châu có bao nhiêu sản phẩm OCOP?", "answers": [],
     "variant": "unanswerable", "type": "how_many"},
]

BEIR_CORPUS = [
    {"_id": "b1", "title": "Lúa gạo Sóc Trăng",
     "text": "Năm 2023, tỉnh Sóc Trăng xuất khẩu 1,2 triệu tấn gạo thơm ST25. Giá lúa tăng mạnh so với năm trước."},
    {"_id": "b2", "title": "Cà phê Tây Nguyên",
     "text": "Diện tích cà phê của tỉnh Đắk Lắk đạt 210.000 ha.\nNăng suất bình quân 2,9 tấn mỗi ha."},
    {"_id": "b3", "title": "Du lịch Hạ Long",
     "text": "Vịnh Hạ Long đón 4,5 triệu lượt khách trong năm 2023. Khách quốc tế chiếm 40%."},
]
BEIR_QUERIES = [
    {"_id": "q1", "text": "Diện tích cà phê của tỉnh Đắk Lắk là bao nhiêu?", "answers": ["210.000 ha"]},
    {"_id": "q2", "text": "Vịnh Hạ Long đón bao nhiêu lượt khách năm 2023?", "answers": ["4,5 triệu lượt khách"]},
    {"_id": "q3", "text": "Sóc Trăng xuất khẩu bao nhiêu tấn gạo?", "answers": ["1,2 triệu tấn"]},
]
BEIR_QRELS = "query-id\tcorpus-id\tscore\nq1\tb2\t1\nq2\tb3\t1\nq3\tb1\t1\n"

SQUAD = {"version": "v2.0", "data": [{"title": "Sông Mê Kông", "paragraphs": [
    {"context": "Sông Mê Kông dài khoảng 4.350 km, chảy qua sáu quốc gia.",
     "qas": [{"id": "s1", "question": "Sông Mê Kông dài bao nhiêu km?", "is_impossible": False,
              "answers": [{"text": "4.350 km", "answer_start": 20}]}]},
    {"context": "Đồng bằng sông Cửu Long có 13 tỉnh, thành phố với khoảng 17 triệu dân.",
     "qas": [{"id": "s2", "question": "Đồng bằng sông Cửu Long có bao nhiêu tỉnh, thành phố?", "is_impossible": False,
              "answers": [{"text": "13 tỉnh, thành phố", "answer_start": 26}]}]},
    {"context": "Cầu Mỹ Thuận bắc qua sông Tiền, khánh thành năm 2000.",
     "qas": [{"id": "s3", "question": "Sông Mê Kông có bao nhiêu nhà máy thủy điện?", "is_impossible": True,
              "answers": []}]},
]}]}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, sample_settings):
    folder = tmp_path_factory.mktemp("eval-data")
    shared = Path(sample_settings.data_dir) / "cache"
    if shared.is_dir():
        shutil.copytree(shared, folder / "cache")
    return folder


def run_eval(*argv) -> int:
    from app.cli import main

    return main(["eval", *map(str, argv)])


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def _per_query(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "per_query.jsonl").read_text(encoding="utf-8").splitlines()]


NEW_ANSWER_KEYS = {"contains_gold", "contains_gold_span", "answer_rate", "auroc_correct", "auroc_answerable",
                   "mean_confidence", "n_answerable"}


def _check_contract_shape(metrics: dict, retrievers: list[str], n: int) -> None:
    assert list(metrics) == retrievers + ["naive"]  # the naive answerer beside hoidap's, always
    for entry in metrics.values():
        assert entry["n"] == n
        assert {"recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10"} <= set(entry["retrieval"])
        assert {"em", "f1", "accuracy", "refusal_accuracy"} <= set(entry["answer"])
        assert NEW_ANSWER_KEYS <= set(entry["answer"])
        assert {"p50", "p95", "answer_p50", "answer_p95"} <= set(entry["latency_ms"])
        assert entry["latency_ms"]["p50"] > 0


def test_jsonl_over_sample_corpus(tmp_path, data_dir, capsys):
    dataset = _write_jsonl(tmp_path / "tiny.jsonl", TINY_JSONL)
    out = tmp_path / "out"
    assert run_eval(dataset, "--retriever", "bm25", "hybrid", "--out", out, "--data-dir", data_dir) == 0
    printed = capsys.readouterr().out
    assert "bm25" in printed and str(out / "report.md") in printed

    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    _check_contract_shape(metrics, ["bm25", "hybrid"], n=4)
    bm25 = metrics["bm25"]
    assert bm25["retrieval"]["n"] == 3  # t1, t2 by doc id, t3 by evidence; t4 has no label
    assert bm25["retrieval"]["recall@5"] == 1.0
    assert bm25["answer"]["n_unanswerable"] == 1

    records = _per_query(out)
    assert len(records) == 3 * len(TINY_JSONL)
    by_key = {(r["retriever"], r["id"]): r for r in records}
    for r in records:
        assert {"id", "question", "gold", "answerable", "n_relevant", "ranked", "answer", "found", "confidence",
                "cited_hit", "timings_ms", "fields"} <= set(r)
        assert 0.0 <= r["confidence"] <= 1.0
        ids = [item["id"] for item in r["ranked"]]
        assert len(ids) == len(set(ids)), "ranked items are deduplicated documents"
        assert set(r["timings_ms"]) == {"retrieval", "answer", "total"}
    ocop = by_key[("bm25", "t1")]
    assert ocop["ranked"][0]["id"] == OCOP_DOC and ocop["ranked"][0]["hit"]
    assert ocop["found"] and "20" in ocop["answer"]
    evidence = by_key[("bm25", "t3")]
    assert evidence["n_relevant"] == 1
    assert [item["id"] for item in evidence["ranked"] if item["hit"]] == [TA_TONG_DOC]
    assert by_key[("bm25", "t4")]["n_relevant"] == 0 and not by_key[("bm25", "t4")]["answerable"]

    # recall@5 recomputed by hand from the per-query records
    for name in ("bm25", "hybrid"):
        labelled = [r for r in records if r["retriever"] == name and r["n_relevant"] > 0]
        by_hand = sum(sum(item["hit"] for item in r["ranked"][:5]) / r["n_relevant"] for r in labelled) / len(labelled)
        assert metrics[name]["retrieval"]["recall@5"] == round(by_hand, 4)

    # The naive answerer: the hybrid run's very passages, the top one's best sentence, never declined.
    for rid in ("t1", "t2", "t3", "t4"):
        naive, hybrid = by_key[("naive", rid)], by_key[("hybrid", rid)]
        assert naive["ranked"] == hybrid["ranked"] and naive["found"]
        assert naive["answer"] == naive["claim"] == naive["reply"]
        assert naive["timings_ms"]["retrieval"] == hybrid["timings_ms"]["retrieval"]
    ocop_naive = by_key[("naive", "t1")]
    assert "20 sản phẩm OCOP" in ocop_naive["answer"] and ocop_naive["confidence"] > 0.5
    naive = metrics["naive"]["answer"]
    assert naive["answer_rate"] == 1.0 and naive["refusal_accuracy"] == 0.0  # it never declines
    assert naive["contains_gold"] == round(sum(
        f" {normalize_answer(r['gold'][0])} " in f" {normalize_answer(r['answer'])} "
        for r in records if r["retriever"] == "naive" and r["answerable"]) / 3, 4)
    assert metrics["naive"]["retrieval"] == metrics["hybrid"]["retrieval"]
    curves = json.loads((out / "refusal_curve.json").read_text(encoding="utf-8"))
    assert list(curves) == ["bm25", "hybrid", "naive"]
    assert curves["naive"][-1] == {"threshold": None, "declined_answerable": 1.0, "declined_unanswerable": 1.0,
                                   "answered_correctly": 0.0}

    report = (out / "report.md").read_text(encoding="utf-8")
    assert "| bm25 |" in report and "## Retrieval" in report
    assert "| naive · hybrid |" in report and "### naive · hybrid" in report
    pngs = list(out.glob("*.png"))
    assert pngs and all(p.read_bytes()[:8] == PNG_MAGIC for p in pngs)
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["dataset"]["format"] == "jsonl" and run["dataset"]["n_questions"] == 4
    assert run["embedding_model"]["name"] and run["index_settings"]["chunk_tokens"]
    assert run["git_sha"]


def _build_id(out: Path) -> str:
    return json.loads((out / "run.json").read_text(encoding="utf-8"))["index"]["build_id"]


def test_beir_folder_isolated_cached_index_and_baselines(tmp_path, data_dir):
    folder = tmp_path / "beir"
    folder.mkdir()
    _write_jsonl(folder / "corpus.jsonl", BEIR_CORPUS)
    _write_jsonl(folder / "queries.jsonl", BEIR_QUERIES)
    (folder / "qrels.tsv").write_text(BEIR_QRELS, encoding="utf-8")
    retrievers = ["bm25", "llamaindex-default", "llamaindex-bm25"]
    first, second = tmp_path / "first", tmp_path / "second"
    assert run_eval(folder, "--retriever", *retrievers, "--out", first, "--data-dir", data_dir) == 0
    assert run_eval(folder, "--retriever", *retrievers, "--out", second, "--data-dir", data_dir) == 0

    run1 = json.loads((first / "run.json").read_text(encoding="utf-8"))
    run2 = json.loads((second / "run.json").read_text(encoding="utf-8"))
    assert run1["dataset"]["format"] == "beir" and run1["corpus"]["n_passages"] == 3
    assert run2["index"]["reused"] and run2["index"]["build_id"] == run1["index"]["build_id"]
    assert run2["baselines"]["reused"]
    cache = Path(run1["index"]["folder"])
    assert cache.parent == data_dir / "eval-cache"
    assert (data_dir / "cache" / "embeddings.sqlite").is_file()  # the shared embedding cache

    metrics = json.loads((second / "metrics.json").read_text(encoding="utf-8"))
    _check_contract_shape(metrics, retrievers, n=3)
    assert metrics["bm25"]["retrieval"]["recall@1"] == 1.0
    for record in _per_query(second):  # the naive answerer retrieved its own hybrid passages
        assert {item["id"] for item in record["ranked"]} <= {"b1", "b2", "b3"}
        assert record["n_relevant"] == 1
    answers = {r["id"]: r for r in _per_query(second) if r["retriever"] == "bm25"}
    assert answers["q1"]["found"] and normalize_answer("210.000 ha") in normalize_answer(answers["q1"]["answer"])


def test_squad_file(tmp_path, data_dir):
    path = tmp_path / "tiny_squad.json"
    path.write_text(json.dumps(SQUAD, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "out"
    assert run_eval(path, "--retriever", "bm25", "--out", out, "--data-dir", data_dir, "--limit", "3") == 0
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["dataset"]["format"] == "squad" and not run["index"]["reused"]
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    _check_contract_shape(metrics, ["bm25"], n=3)
    assert metrics["bm25"]["retrieval"]["n"] == 2  # the impossible question has no relevant passage
    assert metrics["bm25"]["retrieval"]["recall@1"] == 1.0
    assert metrics["bm25"]["answer"]["n_unanswerable"] == 1
    assert run_eval(path, "--retriever", "bm25", "--out", out, "--data-dir", data_dir) == 0
    again = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert again["index"]["reused"] and again["index"]["build_id"] == run["index"]["build_id"]


@pytest.mark.parametrize("argv", [
    ["/no/such/dataset.jsonl"],
    ["{tmp}/bad.txt"],
    ["{tmp}/tiny.jsonl", "--retriever", "nonsense"],
    ["{tmp}/tiny.jsonl", "--format", "squad"],
])
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, argv):
    _write_jsonl(tmp_path / "tiny.jsonl", TINY_JSONL[:1])
    (tmp_path / "bad.txt").write_text("not a dataset", encoding="utf-8")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert run_eval(*argv, "--out", tmp_path / "out", "--data-dir", tmp_path / "data") == 2
    err = capsys.readouterr().err.strip()
    assert err and len(err.splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_questions_can_be_asked_as_typed_without_diacritics(tmp_path, data_dir):
    from eval.run import typed_as
    from ingest.textnorm import has_diacritics

    question = "Huyện Mai Sơn có bao nhiêu sản phẩm OCOP được công nhận?"
    assert typed_as(question, "folded", "x") == "Huyen Mai Son co bao nhieu san pham OCOP duoc cong nhan?"
    mixed = typed_as(question, "mixed", "t1")
    assert mixed == typed_as(question, "mixed", "t1"), "seeded by the question id: runs repeat"
    words = [w for w in mixed.split() if w != "Mai" and w != "OCOP"]
    assert any(has_diacritics(w) for w in words) and not all(has_diacritics(w) for w in words)

    dataset = _write_jsonl(tmp_path / "tiny.jsonl", TINY_JSONL)
    out = tmp_path / "out"
    assert run_eval(dataset, "--retriever", "bm25", "--queries", "folded", "--out", out, "--data-dir", data_dir) == 0
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["queries"] == "folded" and run["retrieval_settings"]["accents"] == "fold"
    ocop = {r["id"]: r for r in _per_query(out) if r["retriever"] == "bm25"}["t1"]
    assert not has_diacritics(ocop["asked"]) and ocop["question"] != ocop["asked"]
    assert ocop["ranked"][0]["id"] == OCOP_DOC and "20" in ocop["answer"]
    # t3 gives an evidence sentence: its passage-level rank is recorded and summarised
    evidence = {r["id"]: r for r in _per_query(out) if r["retriever"] == "bm25"}["t3"]
    assert 1 <= evidence["evidence_rank"] <= 5
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["bm25"]["retrieval"]["evidence@5"] == 1.0 and metrics["bm25"]["retrieval"]["n_evidence"] == 1


def test_half_keeps_the_questions_train_reader_left_out(tmp_path, data_dir):
    """`--half H` evaluates exactly the questions `hoidap train-reader --hold-half H` kept out of training."""
    from eval.datasets import load_dataset
    from eval.train_reader import half_of

    path = tmp_path / "tiny_squad.json"
    path.write_text(json.dumps(SQUAD, ensure_ascii=False), encoding="utf-8")
    dataset = load_dataset(path)
    expected = {h: sorted(q.id for q in dataset.questions if half_of(f"{dataset.name}:{q.id}") == h) for h in (0, 1)}
    assert sorted(expected[0] + expected[1]) == sorted(q.id for q in dataset.questions)
    for half, ids in expected.items():
        out = tmp_path / f"half{half}"
        code = run_eval(path, "--retriever", "bm25", "--out", out, "--data-dir", data_dir, "--half", str(half))
        if not ids:  # nothing of this small set in that half: said, not an empty report
            assert code == 2
            continue
        assert code == 0
        assert sorted({r["id"] for r in _per_query(out)}) == ids
        run = json.loads((out / "run.json").read_text(encoding="utf-8"))
        assert run["dataset"]["half"] == half and run["reader"]["recipe"] == "reader-v1"


def test_the_eval_cache_is_shared_by_settings_that_only_change_speed(e5_embedder):
    """e5_runtime and bulk_embed_from change how fast the vectors are made, not which: one cached eval
    index serves them all; a setting that changes the index (chunk size) gets its own."""
    from dataclasses import replace

    from eval.corpus import index_key
    from index.settings import IndexSettings

    base = IndexSettings()
    key = index_key(base, e5_embedder.info, "corpus")
    assert index_key(replace(base, e5_runtime="engine", bulk_embed_from=0), e5_embedder.info, "corpus") == key
    assert index_key(replace(base, chunk_tokens=128), e5_embedder.info, "corpus") != key
    assert index_key(base, e5_embedder.info, "other corpus") != key
