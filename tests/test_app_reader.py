"""The reader (app/reader.py): its network is e5-small's own arithmetic, its committed weights say how
they were trained and pick the answering sentence on known text, training moves it toward the right
sentence, and missing, corrupt or mismatched files are refused with a clear message."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from app.reader import RECORD_PATH, WEIGHTS_PATH, ReaderError, combine, describe, load_reader, sentence_order
from eval.train_reader import EPOCHS, TRAIN_SENTENCES
from tests.conftest import REPO

BENCHMARKS = REPO.parent / "shared" / "benchmarks"
OCOP = "Mai Sơn có bao nhiêu sản phẩm OCOP?"
OCOP_SENTENCES = [
    "Huyện Mai Sơn tổ chức hội nghị tổng kết công tác xây dựng nông thôn mới năm 2023.",
    "Đến nay, toàn huyện có 20 sản phẩm OCOP (trong đó 10 sản phẩm 4 sao, 10 sản phẩm 3 sao).",
    "Đồng chí Bí thư Huyện ủy phát biểu chỉ đạo hội nghị.",
]


@pytest.fixture(scope="module")
def reader(e5_torch):
    return load_reader()


@pytest.fixture(scope="module")
def torch_reader(e5_torch):
    return load_reader(backend="torch")


@pytest.fixture(scope="module")
def float32_net(e5_torch):
    """The committed network in float32 read from its files: the loaded reader's own Linear weights are
    rounded to bfloat16 on a CPU that computes it, and casting them back does not undo the rounding."""
    from app.reader import _torch_net

    return _torch_net(WEIGHTS_PATH, json.loads(RECORD_PATH.read_text(encoding="utf-8")))


def test_the_network_is_e5_small_s_own_first_layers(e5_torch):
    """Hidden states equal transformers' XLMRobertaModel (first 6 layers) on the real weights and ids."""
    import torch
    from transformers import AutoModel

    from app.reader import base_weights, encode_pairs, pair_tokenizer
    from app.reader_net import from_bundle

    folder, tensors, _ = base_weights()
    net = from_bundle(tensors, 6).eval()
    net.head = torch.nn.Identity()
    theirs = AutoModel.from_pretrained(str(folder))
    theirs.encoder.layer = theirs.encoder.layer[:6]
    ids, mask = encode_pairs(pair_tokenizer(128), OCOP, OCOP_SENTENCES)
    with torch.inference_mode():
        hidden = theirs.eval()(input_ids=ids, attention_mask=mask).last_hidden_state
        weights = mask.unsqueeze(-1).float()
        expected = (hidden * weights).sum(1) / weights.sum(1)
        assert torch.allclose(net(ids, mask), expected, atol=1e-4)


def test_pairs_keep_the_question_and_cut_the_sentence(e5_torch):
    from app.reader import encode_pairs, pair_tokenizer

    ids, mask = encode_pairs(pair_tokenizer(32), OCOP, ["ngắn", "rất dài " * 100])
    assert ids.shape == (2, 32) and mask[1].sum() == 32 and mask[0].sum() < 32
    assert ids[0, 0] == 0 and (ids[1] == 2).sum() == 3  # <s> q </s></s> s </s>: the question whole, both times
    assert ids[0, : int(mask[0].sum())].tolist()[:8] == ids[1, :8].tolist()


def test_the_committed_reader_is_small_and_describes_its_training():
    record = json.loads(RECORD_PATH.read_text(encoding="utf-8"))
    size = WEIGHTS_PATH.stat().st_size + RECORD_PATH.stat().st_size + (REPO / "app" / "answer_model.json").stat().st_size
    assert size < 10 * 1024 * 1024, "the learned artefacts stay under 10 MB together"
    training = record["training"]
    assert "train-reader" in training["command"] and len(training["git_sha"]) >= 7
    assert (training["train_sentences"], training["epochs"]) == (TRAIN_SENTENCES, EPOCHS), \
        "the committed reader was trained with another recipe than the code's: run hoidap train-reader"
    assert {d["name"] for d in training["datasets"]} == {"zalo_qa_squad2", "vinewsqa-dev", "alqac-legal"}
    assert 0.0 < record["confidence"]["threshold"] < 1.0
    assert describe()["recipe"] == record["recipe"]
    if BENCHMARKS.is_dir():
        import hashlib

        for dataset in training["datasets"]:
            path = Path(dataset["path"])
            folder = BENCHMARKS / (path.name if path.is_dir() else path.parent.name)
            for name, digest in dataset["files"].items():
                assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest


def test_the_reader_puts_the_answering_sentence_first(reader):
    scores = reader.scores(OCOP, OCOP_SENTENCES)
    assert int(np.argmax(scores)) == 1, scores
    folded = reader.scores("Mai Son co bao nhieu san pham OCOP?", OCOP_SENTENCES)
    assert int(np.argmax(folded)) == 1, folded
    assert reader.scores(OCOP, []).shape == (0,)
    long_question = "Theo báo cáo của huyện về chương trình xây dựng nông thôn mới " * 30 + OCOP
    assert reader.scores(long_question, OCOP_SENTENCES).shape == (3,), "a question past the token budget is cut, not refused"
    assert load_reader() is reader, "built once per process"


def test_bfloat16_reads_as_float32_does(torch_reader, float32_net):
    """Where the CPU computes bfloat16 the reader runs in it: the same choice, scores within 0.05."""
    from app.reader import score_pairs

    reader = torch_reader
    full = score_pairs(float32_net, reader.tokenizer, OCOP, OCOP_SENTENCES, "float32")
    half = score_pairs(reader.net, reader.tokenizer, OCOP, OCOP_SENTENCES, reader.precision)
    assert int(np.argmax(full)) == int(np.argmax(half)) == 1 and np.abs(full - half).max() < 0.05, (full, half)


def test_onnx_runtime_reads_as_torch_float32_does(torch_reader, float32_net):
    """The ONNX export scores every pair as the torch network in float32 does (to 1e-4), for batches of
    other lengths than the one it was traced on, questions without diacritics included."""
    from app.reader import score_pairs

    onnx = load_reader(backend="onnx")
    assert onnx.backend == "onnx" and describe(backend="onnx")["backend"] == "onnx"
    full = float32_net
    cases = [(OCOP, OCOP_SENTENCES), ("Mai Son co bao nhieu san pham OCOP?", OCOP_SENTENCES[1:]),
             ("Ai phát biểu?", [OCOP_SENTENCES[2]]), (OCOP, ["rất dài " * 100, "ngắn"])]
    for question, sentences in cases:
        expected = score_pairs(full, torch_reader.tokenizer, question, sentences, "float32")
        got = onnx.scores(question, sentences)
        assert got.shape == expected.shape and np.abs(got - expected).max() < 1e-4, (question, got, expected)
    assert onnx.scores(OCOP, []).shape == (0,)


def test_the_onnx_reader_answers_without_torch_and_remakes_a_damaged_export(e5_torch):
    """Once exported, a fresh process reads with ONNX Runtime alone (no torch import: cold `hoidap ask`);
    a damaged export in the model cache is made again instead of failing."""
    import subprocess
    import sys

    from app.reader_onnx import export_path
    from index.e5_bundle import ensure_bundle
    from index.embed import sha256_file

    load_reader(backend="onnx")  # exported by now
    path = export_path(sha256_file(WEIGHTS_PATH), ensure_bundle()[1])
    assert path.is_file()
    script = ("import sys; from app.reader import load_reader; r = load_reader(backend='onnx'); "
              f"s = r.scores({OCOP!r}, {OCOP_SENTENCES!r}); print(int(s.argmax()), 'torch' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert run.stdout.split() == ["1", "False"], run.stderr[-2000:]
    path.write_bytes(b"damaged")
    run = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert run.stdout.split() == ["1", "True"] and "ONNX Runtime (một lần)" in run.stderr, run.stderr[-2000:]
    assert path.stat().st_size > 1_000_000


def test_combining_and_ordering():
    z = np.array([2.0, 1.5, -np.inf, 1.9, 0.1])
    # Candidates 0 and 3 are clauses of one sentence: its best stands for it; -inf never answers.
    assert sentence_order(z, ["a", "b", "c", "a", "d"]) == [0, 1, 4]
    assert sentence_order(np.array([-np.inf]), ["a"]) == []
    pos, top, margin = combine(np.array([2.0, 1.5]), np.array([-1.0, 1.0]), 1.0)
    assert (pos, top, margin) == (1, 2.5, 1.5)
    assert combine(np.array([2.0]), np.array([0.5]), 1.0) == (0, 2.5, 5.0)


def test_training_moves_the_reader_toward_the_right_sentence(e5_torch):
    import torch

    from app.reader import encode_pairs
    from eval.answer_data import Item
    from eval.train_reader import Ranked, train

    item = Item("t", "1", OCOP, ["20 sản phẩm"], "how_many", np.zeros((3, 1)), np.zeros(3), [], [], "")
    lists = [Ranked(item, [0, 1, 2], np.zeros(3), [False, True, False], OCOP_SENTENCES, 0)]
    net, tokenizer = train(lists, epochs=12, label="test")
    with torch.inference_mode():
        scores = net(*encode_pairs(tokenizer, OCOP, OCOP_SENTENCES)).numpy()
    assert int(np.argmax(scores)) == 1 and scores[1] - max(scores[0], scores[2]) > 0.05, scores


def _copy(tmp_path):
    weights = tmp_path / "reader.safetensors"
    shutil.copy(WEIGHTS_PATH, weights)
    shutil.copy(RECORD_PATH, weights.with_suffix(".json"))
    return weights, json.loads(RECORD_PATH.read_text(encoding="utf-8"))


def test_missing_corrupt_or_mismatched_readers_are_refused(tmp_path, e5_torch):
    with pytest.raises(ReaderError, match="train-reader"):
        load_reader(tmp_path / "none.safetensors")
    weights, record = _copy(tmp_path)
    weights.write_bytes(b"not a safetensors file")
    for backend in ("torch", "onnx"):
        with pytest.raises(ReaderError, match="corrupt reader"):
            load_reader(weights, backend=backend)
    with pytest.raises(ReaderError, match="unknown reader backend"):
        load_reader(backend="gpu")
    for change, message in ((("recipe", "reader-v0"), "recipe mismatch"), (("base_sha256", "0" * 64), "base mismatch")):
        folder = tmp_path / change[0]
        folder.mkdir()
        weights, record = _copy(folder)
        record[change[0]] = change[1]
        weights.with_suffix(".json").write_text(json.dumps(record), encoding="utf-8")
        with pytest.raises(ReaderError, match=message):
            load_reader(weights)
