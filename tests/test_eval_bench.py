"""`hoidap bench` runs end to end and writes its files. Its numbers are reported, never asserted.

A tiny random-weight model (tests/tinymodels.py) stands in for the real one through a config file,
so the cold ingest inside the bench takes seconds; one round of ten questions keeps it short.
"""

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import json  # noqa: E402
from argparse import Namespace  # noqa: E402

from tests.tinymodels import build_bert_model  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_bench_writes_its_report(tmp_path, monkeypatch):
    from eval.bench import main

    monkeypatch.setenv("HOIDAP_MODEL_CACHE", str(tmp_path / "models"))  # the ONNX exports of the tiny model
    model = build_bert_model(tmp_path / "model")
    config = tmp_path / "hoidap.toml"
    config.write_text(f'[index]\nembed_model = "{model.as_posix()}"\n', encoding="utf-8")
    out = tmp_path / "bench"
    args = Namespace(out=str(out), sizes=[200], data_dir=str(tmp_path / "data"), config=str(config),
                     rounds=1, limit=10, encode_texts=30)
    assert main(args) == 0

    result = json.loads((out / "bench.json").read_text(encoding="utf-8"))
    assert set(result) == {"run", "real", "cold_start", "encoding", "synthetic", "scale"}
    cold = result["cold_start"]
    assert cold["ask"]["answered"] and 0 < cold["ask"]["best_s"] < 60 and cold["serve"]["ready_s"] > 0
    run, real = result["run"], result["real"]
    assert {"git_sha", "model", "index_settings", "machine", "versions", "started_at", "finished_at"} <= set(run)
    assert run["machine"]["cpu_count"] >= 1 and run["model"]["name"] == model.as_posix()
    assert {"ingest", "reingest", "query_latency_ms", "query_encoding_ms", "peak_rss_mb"} <= set(real)
    assert real["ingest"]["chunks"] > 0 and real["ingest"]["wall_s"] > 0 and real["ingest"]["chunks_per_s"] > 0
    assert real["reingest"]["wall_s"] > 0 and not real["reingest"]["rebuilt"]
    for mode in ("hybrid", "dense"):
        for stage in ("retrieval", "answer", "end_to_end"):
            assert real["query_latency_ms"][mode][stage]["p50"] > 0
    assert real["query_encoding_ms"]["p50"] > 0 and real["peak_rss_mb"] > 0

    encoding = result["encoding"]
    assert encoding["texts"] == 30 and set(encoding["chunks_per_s"]) == {"torch-plain-encode", "torch", "onnx-int8", "onnx"}
    assert all(rate > 0 for rate in encoding["chunks_per_s"].values())
    assert encoding["cosine_to_torch"]["onnx"]["min"] > 0.9999  # fp32 ONNX computes the torch vectors
    assert 0.9 < encoding["cosine_to_torch"]["onnx-int8"]["mean"] < 1.0

    [synthetic] = result["synthetic"]
    assert "error" not in synthetic, synthetic
    assert synthetic["chunks"] == 200
    assert synthetic["build_s"] > 0 and synthetic["index_bytes"] > 0 and synthetic["peak_rss_mb"] > 0
    for mode in ("bm25", "dense", "hybrid"):
        assert synthetic["query_latency_ms"][mode]["p50"] > 0

    # The direct scale path at the same size: exact search below the threshold finds the exact top 10.
    [scale] = result["scale"]
    assert "error" not in scale, scale
    assert scale["chunks"] == 200 and scale["vector_index"]["kind"] == "flat" and scale["recall_at_10"] == 1.0
    assert scale["peak_rss_mb"] > 0 and scale["build_peak_rss_mb"] > 0 and scale["bm25_s"] > 0
    for mode in ("bm25", "dense", "hybrid"):
        assert scale["query_latency_ms"][mode]["p50"] > 0

    report = (out / "bench.md").read_text(encoding="utf-8")
    assert "random unit vectors" in report and run["git_sha"] in report and "Encoding speed" in report
    fusion = real["fusion"]  # the weights the sample build fuses with, all of them named in the report
    assert f"fused with dense {fusion['dense']}, article {fusion['article']}, sentence {fusion['sentence']}" in report
    assert (out / "bench.png").read_bytes()[:8] == PNG_MAGIC
