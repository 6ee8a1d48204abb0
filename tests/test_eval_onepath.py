"""One retrieval for every path: `hoidap eval` on a BEIR folder or a SQuAD file ranks exactly as
`hoidap ingest` of the same passages written as .txt files (title on the first line) + `ask --batch`.

A tiny model (tests/tinymodels.py) stands in for the default: it is unmeasured, so the fusion runs
with dense weight 1 and both halves of hybrid retrieval take part, whichever model is the default.
Some passages carry the short lines the portal cleaner used to drop (a statute's heading under its
title, "Điện thoại …", "Hôm nay, …", a "Chia sẻ …" sub-heading).
"""

import json
from pathlib import Path

import pytest

from tests.tinymodels import build_bert_model

LONG_TITLE = ("Luật Hợp tác xã - Điều 9. Quyền và nghĩa vụ của thành viên hợp tác xã, liên hiệp hợp tác xã, "
              "tổ hợp tác trong việc góp vốn, sử dụng dịch vụ, hưởng lợi nhuận và tham gia quản lý")
CORPUS = [
    {"_id": "luat_d1", "title": "Luật Hợp tác xã - Điều 1. Phạm vi điều chỉnh",
     "text": "Phạm vi điều chỉnh\n\nLuật này quy định về việc thành lập, tổ chức và hoạt động của hợp tác xã.\n\n"
             "Luật này áp dụng với thành viên và tổ chức có liên quan.\n\n(Đã ký)"},
    {"_id": "luat_d2", "title": "Luật Hợp tác xã - Điều 2. Giải thích từ ngữ",
     "text": "Giải thích từ ngữ\n\nTrong Luật này, các từ ngữ dưới đây được hiểu như sau:\n\n"
             "1. Hợp tác xã là tổ chức kinh tế tập thể do ít nhất 05 thành viên tự nguyện thành lập.\n\n"
             "2. Tổ hợp tác là tổ chức không có tư cách pháp nhân."},
    {"_id": "luat_d9", "title": LONG_TITLE,
     "text": "Thành viên có quyền góp vốn tối đa 30% vốn điều lệ của hợp tác xã.\n\n"
             "Thành viên có nghĩa vụ sử dụng dịch vụ của hợp tác xã theo hợp đồng."},
    {"_id": "tin_dienthoai", "title": "Điện thoại đang sạc pin phát nổ làm bỏng tay bé trai",
     "text": "Điện thoại đang sạc pin phát nổ khi bé trai 12 tuổi cầm chơi ở nhà một mình.\n\n"
             "Bé được đưa đến bệnh viện huyện Mai Sơn cấp cứu sáng 22/9."},
    {"_id": "tin_caphe", "title": "Nông dân Sơn La trồng cà phê",
     "text": "Huyện Mai Sơn có 5.000 ha cà phê.\n\nChia sẻ kinh nghiệm\n\n"
             "Ông Lò Văn Tám trồng 4 ha cà phê xen cây ăn quả, thu nhập 600 triệu đồng mỗi năm."},
    {"_id": "tin_truonghoc", "title": "Xã Chiềng Ban khánh thành trường học",
     "text": "Hôm nay, xã Chiềng Ban khánh thành trường mầm non 8 phòng học.\n\n"
             "Trường có 240 cháu theo học, đạt chuẩn quốc gia."},
    {"_id": "tin_dulich", "title": "Du lịch Mộc Châu",
     "text": "Năm 2023, Mộc Châu đón 3,8 triệu lượt khách du lịch.\n\nDoanh thu du lịch đạt 3.000 tỷ đồng."},
    {"_id": "tin_lua", "title": "Lúa gạo Sóc Trăng",
     "text": "Năm 2023, tỉnh Sóc Trăng xuất khẩu 1,2 triệu tấn gạo thơm ST25.\n\nGiá lúa tăng so với năm trước."},
]
QUERIES = [
    ("q1", "Hợp tác xã do ít nhất bao nhiêu thành viên thành lập?", "luat_d2"),
    ("q2", "Thành viên được góp vốn tối đa bao nhiêu phần trăm vốn điều lệ?", "luat_d9"),
    ("q3", "Bé trai bị bỏng vì điện thoại phát nổ được cấp cứu ở đâu?", "tin_dienthoai"),
    ("q4", "Ông Lò Văn Tám trồng bao nhiêu ha cà phê?", "tin_caphe"),
    ("q5", "Trường mầm non xã Chiềng Ban có bao nhiêu phòng học?", "tin_truonghoc"),
    ("q6", "Mộc Châu đón bao nhiêu lượt khách năm 2023?", "tin_dulich"),
]
SQUAD = {"version": "v2.0", "data": [
    {"title": "Luật Hợp tác xã - Điều 2. Giải thích từ ngữ", "paragraphs": [
        {"context": CORPUS[1]["text"], "qas": [{"id": "s1", "question": QUERIES[0][1], "is_impossible": False,
                                                "answers": [{"text": "05 thành viên", "answer_start": 0}]}]}]},
    {"title": "", "paragraphs": [  # no title: the first line or clause stands in, on both paths
        {"context": "Huyện Mai Sơn có 5.000 ha cà phê, trong đó ông Lò Văn Tám trồng 4 ha cà phê xen cây ăn quả.",
         "qas": [{"id": "s2", "question": QUERIES[3][1], "is_impossible": False,
                  "answers": [{"text": "4 ha", "answer_start": 0}]}]},
        {"context": CORPUS[6]["text"], "qas": [{"id": "s3", "question": QUERIES[5][1], "is_impossible": False,
                                                 "answers": [{"text": "3,8 triệu lượt khách", "answer_start": 0}]}]},
    ]},
]}


def hoidap(*argv) -> int:
    from app.cli import main

    return main([str(a) for a in argv])


def _jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def _beir(folder: Path) -> tuple[Path, dict[str, str]]:
    folder.mkdir()
    _jsonl(folder / "corpus.jsonl", CORPUS)
    _jsonl(folder / "queries.jsonl", [{"_id": q, "text": text} for q, text, _ in QUERIES])
    (folder / "qrels.tsv").write_text("".join(f"{q}\t{d}\t1\n" for q, _, d in QUERIES), encoding="utf-8")
    return folder, {p["_id"]: f"{p['title']}\n{p['text']}" for p in CORPUS}


def _squad(folder: Path) -> tuple[Path, dict[str, str]]:
    folder.mkdir()
    path = folder / "tiny_squad.json"
    path.write_text(json.dumps(SQUAD, ensure_ascii=False), encoding="utf-8")
    contexts = [(a["title"], p["context"]) for a in SQUAD["data"] for p in a["paragraphs"]]
    # SQuAD passages are numbered in file order (eval/datasets.py); an untitled one is just its text.
    return path, {f"p{i:05d}": f"{t}\n{c}" if t else c for i, (t, c) in enumerate(contexts)}


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tiny-model")
    model = build_bert_model(folder)
    path = folder / "hoidap.toml"
    path.write_text(f'[index]\nembed_model = "{model.as_posix()}"\n', encoding="utf-8")
    return path


def _ranked_ids(sources: list[dict]) -> list[str]:
    """doc ids in the order the sources list them, first occurrence kept (as eval scores them)."""
    return list(dict.fromkeys(s["doc_id"] for s in sources))


@pytest.mark.parametrize("make", [_beir, _squad], ids=["beir", "squad"])
def test_eval_ranks_as_ingested_files_and_ask_batch(tmp_path, config, capsys, make):
    dataset, files = make(tmp_path / "dataset")
    out = tmp_path / "eval-out"
    assert hoidap("eval", dataset, "--retriever", "hybrid", "bm25", "--config", config,
                  "--data-dir", tmp_path / "eval-data", "--out", out) == 0
    records = [json.loads(line) for line in (out / "per_query.jsonl").read_text(encoding="utf-8").splitlines()]
    evaluated = {r["id"]: [item["id"] for item in r["ranked"]] for r in records if r["retriever"] == "hybrid"}

    folder = tmp_path / "files"
    folder.mkdir()
    for doc_id, text in files.items():
        (folder / f"{doc_id}.txt").write_text(text, encoding="utf-8")
    questions = tmp_path / "questions.jsonl"
    assert hoidap("eval-batch", dataset, "--write-questions", questions) == 0
    assert hoidap("ingest", folder, "--config", config, "--data-dir", tmp_path / "user-data") == 0
    capsys.readouterr()
    assert hoidap("ask", "--batch", questions, "-k", 30, "--config", config, "--data-dir", tmp_path / "user-data") == 0
    answers = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    asked = [json.loads(line)["id"] for line in questions.read_text(encoding="utf-8").splitlines()]
    user = {qid: _ranked_ids(a["sources"]) for qid, a in zip(asked, answers)}

    assert set(evaluated) == set(user) and len(user) >= 3
    for qid, ranking in evaluated.items():
        assert ranking, qid
        assert user[qid][: len(ranking)] == ranking, qid  # both list 30 chunks (eval.run.DEPTH)

    # The user's answers, scored by eval-batch, measure what eval measured.
    batch_out, answers_file = tmp_path / "batch-out", tmp_path / "answers.jsonl"
    _jsonl(answers_file, answers)
    assert hoidap("eval-batch", dataset, answers_file, "--out", batch_out) == 0
    measured = json.loads((out / "metrics.json").read_text(encoding="utf-8"))["hybrid"]["retrieval"]
    scored = json.loads((batch_out / "metrics.json").read_text(encoding="utf-8"))["ask-batch"]["retrieval"]
    for key in ("recall@1", "recall@5", "recall@10", "mrr@10"):
        assert scored[key] == measured[key], key
    # Both report the questions by how much they name their article, over the same passages.
    by_eval = json.loads((out / "metrics.json").read_text(encoding="utf-8"))["hybrid"]["breakdown"]["specificity"]
    by_batch = json.loads((batch_out / "metrics.json").read_text(encoding="utf-8"))["ask-batch"]["breakdown"]["specificity"]
    assert by_eval and {g: (s["n"], s["retrieval"]) for g, s in by_eval.items()} == {
        g: (s["n"], s["retrieval"]) for g, s in by_batch.items()}

    # Known answers (BM25 is deterministic): the lines the cleaner used to drop are indexed and found.
    bm25_first = {r["id"]: r["ranked"][0]["id"] for r in records if r["retriever"] == "bm25"}
    if make is _beir:
        assert {q: bm25_first[q] for q in ("q3", "q4", "q5")} == {"q3": "tin_dienthoai", "q4": "tin_caphe",
                                                                   "q5": "tin_truonghoc"}
    else:
        assert bm25_first["s2"] == "p00001"


def test_cleaner_keeps_dataset_lines_and_drops_portal_furniture():
    from ingest.documents import article_from_text

    statute = article_from_text("d2", f"{CORPUS[1]['title']}\n{CORPUS[1]['text']}", "x")
    assert statute.title == CORPUS[1]["title"] and statute.paragraphs[0] == "Giải thích từ ngữ"
    phone = article_from_text("p", f"{CORPUS[3]['title']}\n{CORPUS[3]['text']}", "x")
    assert phone.title == CORPUS[3]["title"] and phone.paragraphs[0].startswith("Điện thoại đang sạc")
    coffee = article_from_text("c", f"{CORPUS[4]['title']}\n{CORPUS[4]['text']}", "x")
    assert "Chia sẻ kinh nghiệm" in coffee.paragraphs and "Ông Lò Văn Tám" in coffee.text
    portal = article_from_text("x", "Xã A có 5 trường\nXã A có 5 trường đạt chuẩn.\nHôm nay: 245\n"
                               "Điện thoại: 022.3836132\nChia sẻ\nBài khác", "x")
    assert portal.paragraphs == ["Xã A có 5 trường đạt chuẩn."]
