"""Building, loading and updating the index: manifest checks, incremental ingest, write-then-swap."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.cli import run_ingest
from app.config import load_settings
from index.build import current_build
from index.embed import load_embedder
from index.manifest import IndexMismatch, Manifest
from index.retrieve import open_index
from tests.conftest import OCOP_DOC, SAMPLES

REPO = Path(__file__).resolve().parent.parent


def test_manifest_records_how_the_index_was_built(sample_settings):
    manifest = Manifest.load(current_build(sample_settings.data_dir))
    assert manifest.embed_model["name"] == "intfloat/multilingual-e5-small"
    assert manifest.embed_model["dimension"] == 384
    assert manifest.tokenizer == "syllable-bigram-v1"
    assert manifest.normaliser_version and manifest.chunking["chunk_tokens"] <= 256
    assert set(manifest.documents) == {p.stem for p in SAMPLES.glob("*.txt")}
    assert manifest.fusion["method"] == "zscore" and manifest.fusion["dense"] == manifest.dense_weight


def test_no_chunk_exceeds_the_model_limit(service):
    limit = service.embedder.info.max_seq_length
    docstore = service.index.docstore
    for node_id in service.index.node_ids:
        node = docstore.get_node(node_id)
        text = f"{node.metadata['header']}\n{node.get_content()}"
        assert service.embedder.count_tokens(text) <= limit, node_id
    assert all(docstore.get_node(n).metadata["title"] for n in service.index.node_ids)


@pytest.mark.parametrize("mode", ["bm25", "hybrid", "dense"])
def test_retrieval_modes_return_ranked_passages(service, mode):
    passages = service.index.retrieve("Mai Sơn có bao nhiêu sản phẩm OCOP?", k=5, mode=mode)
    assert len(passages) == 5
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)
    if mode != "dense":  # the bundled English model is weak on Vietnamese; lexical must find it
        assert passages[0].doc_id == OCOP_DOC and "20 sản phẩm OCOP" in passages[0].text


def test_accent_free_query_uses_the_folded_field(service):
    passages = service.index.retrieve("Mai Son co bao nhieu san pham OCOP", k=3, mode="bm25")
    assert passages[0].doc_id == OCOP_DOC and "20 sản phẩm OCOP" in passages[0].text


def test_filter_to_documents(service):
    passages = service.index.retrieve("sản phẩm OCOP", k=3, mode="hybrid", doc_ids={"000_4f69736f366c6fd8"})
    assert passages and {p.doc_id for p in passages} == {"000_4f69736f366c6fd8"}


def _copy_samples(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for path in SAMPLES.glob("*.txt"):
        (folder / path.name).write_bytes(path.read_bytes())
    return folder


def test_incremental_ingest_skips_unchanged_and_updates_changed(tmp_path):
    corpus = _copy_samples(tmp_path / "corpus")
    settings = load_settings(data_dir=tmp_path / "data", env={})
    first = run_ingest(settings, [corpus], progress=False)
    assert len(first.added) == 5 and first.stats["embedded"] > 0
    again = run_ingest(settings, [corpus], progress=False)
    assert not again.changed and len(again.unchanged) == 5 and again.stats == {}
    article = corpus / "003_9ff04f2eb14f6f33.txt"
    article.write_text(article.read_text(encoding="utf-8").replace("98,95%", "99,12%"), encoding="utf-8")
    (corpus / "new.txt").write_text("Xã Mới thành lập\n\nXã Mới có 9 hợp tác xã kiểu mới.", encoding="utf-8")
    third = run_ingest(settings, [corpus], progress=False)
    assert third.updated == ["003_9ff04f2eb14f6f33"] and third.added == ["new"]
    # Only the changed article's chunks and the new one were embedded; the rest came from the cache.
    assert 0 < third.stats["embedded"] < first.stats["embedded"] and third.stats["reused_vectors"] > 0
    index = open_index(settings.data_dir, load_embedder("default"), settings.index)
    top = index.retrieve("Mỹ Xuyên tổ chức 3 hội nghị triển khai nghị quyết theo hình thức trực tuyến", k=3, mode="bm25")
    assert any("99,12%" in p.text for p in top) and not any("98,95%" in p.text for p in top)
    assert index.retrieve("Xã Mới có bao nhiêu hợp tác xã", k=1, mode="bm25")[0].doc_id == "new"


def test_loading_with_other_settings_says_what_to_run(sample_settings, tmp_path):
    from tests.tinymodels import build_bert_model

    other = load_embedder(str(build_bert_model(tmp_path)))
    with pytest.raises(IndexMismatch, match="hoidap ingest --rebuild"):
        open_index(sample_settings.data_dir, other, sample_settings.index)


def test_an_index_built_before_newer_settings_still_opens(tmp_path):
    """Upgrading hoidap must not force a rebuild: a manifest that predates a setting (here the
    FAISS, Qdrant and fusion ones, and the embedding backend) counts as built with its default. Such
    manifests come from MiniLM, the default model then, recorded as embed_model "default"."""
    from dataclasses import replace

    from app.qa import QAService

    settings = load_settings(data_dir=tmp_path / "data", env={})
    built_then = replace(settings, index=replace(settings.index, embed_model="minilm", embed_backend="torch"))
    run_ingest(built_then, [SAMPLES / "001_ad2f1263791dfcf2.txt"], progress=False)
    path = current_build(settings.data_dir) / "manifest.json"
    old = json.loads(path.read_text(encoding="utf-8"))
    for key in ("faiss_index", "faiss_exact_below", "qdrant_location", "qdrant_collection", "fusion",
                "article_weight"):
        del old["settings"][key]
    old["settings"]["embed_model"] = "default"
    del old["vector_index"], old["embed_model"]["backend"], old["fusion"]
    path.write_text(json.dumps(old, ensure_ascii=False), encoding="utf-8")
    result = QAService.open(settings).ask("Mai Sơn có bao nhiêu sản phẩm OCOP?")
    assert result["found"] and "20 sản phẩm" in result["answer"]
    # A setting that really differs is still refused, naming it.
    settings.index = replace(settings.index, faiss_index="hnsw")
    with pytest.raises(IndexMismatch, match="faiss_index"):
        QAService.open(settings)


def test_passages_are_sqlite_rows_and_a_json_docstore_build_still_opens(tmp_path):
    from llama_index.core.storage.docstore import SimpleDocumentStore

    from app.qa import QAService
    from index.passages import FILENAME, open_docstore

    settings = load_settings(data_dir=tmp_path / "data", env={})
    run_ingest(settings, [SAMPLES / f"{OCOP_DOC}.txt"], progress=False)
    llama = current_build(settings.data_dir) / "llama"
    assert (llama / FILENAME).exists() and not (llama / "docstore.json").exists()
    passages = open_docstore(llama)
    first = passages.get_node(f"{OCOP_DOC}#0")
    assert first.metadata["doc_id"] == OCOP_DOC and first.embedding is None and "Mai Sơn" in first.get_content()
    # The same build as hoidap wrote it before the passage store: llama-index's JSON docstore.
    old = SimpleDocumentStore()
    old.add_documents(list(passages.docs.values()))
    old.persist(str(llama / "docstore.json"))
    (llama / FILENAME).unlink()
    result = QAService.open(settings).ask("Mai Sơn có bao nhiêu sản phẩm OCOP?")
    assert result["found"] and "20 sản phẩm" in result["answer"]


def test_corrupt_manifest_is_reported(tmp_path):
    settings = load_settings(data_dir=tmp_path / "data", env={})
    run_ingest(settings, [SAMPLES / "001_ad2f1263791dfcf2.txt"], progress=False)
    (current_build(settings.data_dir) / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(IndexMismatch, match="hoidap ingest --rebuild"):
        open_index(settings.data_dir, load_embedder("default"), settings.index)


def test_interrupted_ingest_leaves_the_previous_index_usable(tmp_path):
    data = tmp_path / "data"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    hoidap = [sys.executable, "-m", "app.cli"]
    subprocess.run([*hoidap, "ingest", str(SAMPLES), "--data-dir", str(data)], check=True, env=env,
                   capture_output=True, cwd=REPO)
    before = current_build(data).name
    # A corpus big enough that embedding takes a while; kill the ingest while it works.
    big = tmp_path / "big"
    big.mkdir()
    for i in range(150):
        (big / f"bai{i}.txt").write_text(
            f"Bài số {i}\n\n" + " ".join(f"Xã số {i} có {j} hợp tác xã và {j + 3} trường học đạt chuẩn." for j in range(60)),
            encoding="utf-8")
    proc = subprocess.Popen([*hoidap, "ingest", str(big), "--data-dir", str(data)], env=env, cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    builds = data / "index" / "builds"
    deadline = time.time() + 120
    while time.time() < deadline and not any(p.name.startswith(".tmp-") for p in builds.iterdir()):
        time.sleep(0.05)
    time.sleep(1.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert current_build(data).name == before
    out = subprocess.run([*hoidap, "ask", "--json", "Mai Sơn có bao nhiêu sản phẩm OCOP?", "--data-dir", str(data)],
                         env=env, capture_output=True, text=True, cwd=REPO, check=True)
    answer = json.loads(out.stdout)
    assert answer["found"] and "20" in answer["answer"] and answer["sources"][0]["doc_id"] == OCOP_DOC


def test_a_build_leaves_another_ingest_s_folder_in_progress_alone(tmp_path):
    data = tmp_path / "data"
    settings = load_settings(data_dir=data, env={})
    run_ingest(settings, [SAMPLES / f"{OCOP_DOC}.txt"], progress=False)
    builds = data / "index" / "builds"
    working = builds / ".tmp-20261201-000000-aaaaaa"  # another process writing its build now
    working.mkdir()
    (working / "sentence_vectors.npy").write_bytes(b"")
    killed = builds / ".tmp-20261130-000000-bbbbbb"  # left by an ingest killed a day ago
    killed.mkdir()
    os.utime(killed, (time.time() - 2 * 86400, time.time() - 2 * 86400))
    run_ingest(settings, [SAMPLES], progress=False)
    assert working.is_dir() and not killed.exists()
    assert sorted(p.name for p in builds.iterdir()) == sorted([working.name, current_build(data).name])
