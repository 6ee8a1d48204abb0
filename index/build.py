"""Build an index from articles: chunk, embed (cached), FAISS through llama-index, BM25, manifest.

Every build is written to a fresh folder under DATA/index/builds/ and only then made current by an
atomic rename of the CURRENT pointer, so an interrupted ingest leaves the previous index usable.
Chunk text for embedding and BM25 carries the article's context header (its title), because answer
sentences rarely name the district or topic themselves.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from ingest import textnorm
from ingest.chunk import chunk_paragraphs
from ingest.documents import Article
from index import tokenize
from index.fusion import FusionWeights
from index.embcache import EmbeddingCache
from index.manifest import Manifest
from index.sentences import BATCH as SENTENCE_BATCH, write_sentence_vectors
from index.settings import IndexSettings

INDEX_DIR = "index"
CURRENT = "CURRENT"
# Texts per encode call. torch on the sample chunks (2 cores, one-off script): batch 16 43.7 chunks/s,
# 32 38-40; ONNX backends cut every batch into their own micro-batches anyway (index/onnx_export.py).
INGEST_BATCH = 16
NODE_BATCH = 2048  # llama-index nodes made and inserted at a time


@dataclass
class ChunkRecord:
    node_id: str
    doc_id: str
    text: str  # the passage as shown to people
    header: str  # article context written in front of it for embedding and BM25
    chunk_index: int


def index_root(data_dir: Path) -> Path:
    return data_dir / INDEX_DIR


def current_build(data_dir: Path) -> Path | None:
    pointer = index_root(data_dir) / CURRENT
    if not pointer.exists():
        return None
    folder = index_root(data_dir) / "builds" / pointer.read_text().strip()
    return folder if folder.is_dir() else None


def context_header(article: Article, context_fields: tuple[str, ...]) -> str:
    parts = []
    for name in context_fields:
        if name == "title" and article.title:
            parts.append(article.title)
        elif name == "date" and article.date:
            parts.append(article.date)
        elif name == "places" and article.places:
            parts.append(", ".join(article.places[:3]))
    return " | ".join(parts)


def chunk_articles(articles: list[Article], settings: IndexSettings, count_tokens, max_seq_length: int) -> list[ChunkRecord]:
    """Chunks sized so header + chunk + prompt fit the model's input limit."""
    limit = min(settings.chunk_tokens, max_seq_length)
    records = []
    for article in articles:
        header = context_header(article, tuple(settings.context_fields))
        # count_tokens includes the prompt and special tokens; the joining newline costs about one.
        budget = max(32, limit - count_tokens(header) - 1) if header else limit
        for chunk in chunk_paragraphs(article.paragraphs, budget, count_tokens, settings.chunk_overlap):
            records.append(ChunkRecord(f"{article.doc_id}#{chunk.index}", article.doc_id, chunk.text, header, chunk.index))
    return records


def embed_text(record: ChunkRecord) -> str:
    return f"{record.header}\n{record.text}" if record.header else record.text


def embed_texts(texts: list[str], embedder, cache: EmbeddingCache, progress: bool = True,
                desc: str = "Nhúng đoạn văn (embedding)", batch: int = INGEST_BATCH, unit: str = "đoạn",
                bulk_from: int = 0):
    """Vectors for texts, computing only what the cache lacks (longest first, so batches pad little);
    from `bulk_from` missing texts on, the default model runs on torch (index/bulk_embed.py).

    Returns (vectors, reused, computed, what embedded them: the backend, or "torch-bfloat16" etc.)."""
    import numpy as np
    from tqdm import tqdm

    from index.bulk_embed import bulk_encoder

    vectors = np.zeros((len(texts), embedder.info.dimension), dtype="float32")
    cached = cache.get_many(texts)
    for i, vec in cached.items():
        vectors[i] = vec
    missing = sorted((i for i in range(len(texts)) if i not in cached), key=lambda i: -len(texts[i]))
    bulk = bulk_encoder(embedder, len(missing), bulk_from)
    encode, used = bulk or ((lambda chunk, size: embedder.encode(chunk, is_query=False, batch_size=size)),
                            getattr(embedder.model, "runtime_label", embedder.info.backend))
    desc = f"{desc} · {used}" if bulk else desc  # say that torch, not the query engine, embeds this bulk
    with tqdm(total=len(missing), desc=desc, unit=unit, disable=not progress or not missing) as bar:
        for start in range(0, len(missing), batch):
            ids = missing[start : start + batch]
            new = encode([texts[i] for i in ids], batch)
            vectors[ids] = new
            cache.put_many([texts[i] for i in ids], new)
            bar.update(len(ids))
    return vectors, len(cached), len(missing), used if missing else ""


def _write_vector_index(folder: Path, records: list[ChunkRecord], articles: dict[str, Article], vectors, embedder,
                        settings: IndexSettings) -> dict:
    """Nodes into the configured store through llama-index, passages into the SQLite passage store;
    returns the manifest's record of the vector index."""
    from llama_index.core import StorageContext, VectorStoreIndex

    from index import passages, stores

    llama = folder / "llama"
    store, opened = stores.new_store(folder, settings, vectors)
    docstore = passages.new_docstore(llama)
    storage = StorageContext.from_defaults(vector_store=store, docstore=docstore)
    # store_nodes_override: passages come from the passage store whichever store holds the vectors.
    index = VectorStoreIndex([], storage_context=storage, embed_model=embedder, show_progress=False,
                             store_nodes_override=True)
    # Nodes are made a batch at a time: a node carries its vector as a Python list (~12 KB), so making
    # all of them first would hold every vector twice over. Not through insert_nodes: it re-serialises
    # the whole index struct after every call (quadratic: over 20 minutes at 1M chunks); the constructor
    # and insert_nodes both add through _add_nodes_to_index, and the struct is stored once at the end.
    for start in range(0, len(records), NODE_BATCH):
        batch = zip(records[start : start + NODE_BATCH], vectors[start : start + NODE_BATCH])
        index._add_nodes_to_index(index.index_struct, [_node(r, v, articles[r.doc_id]) for r, v in batch])
    storage.index_store.add_index_struct(index.index_struct)
    storage.persist(persist_dir=str(llama))
    docstore.close()
    return stores.finish_store(store, opened, len(records))


def _node(record: ChunkRecord, vector, article: Article):
    from llama_index.core.schema import TextNode

    meta = {
        "doc_id": record.doc_id, "title": article.title, "date": article.date, "author": article.author,
        "source": article.source, "url": article.url, "chunk_index": record.chunk_index, "header": record.header,
    }
    return TextNode(
        id_=record.node_id, text=record.text, metadata=meta, embedding=vector.tolist(),
        excluded_embed_metadata_keys=list(meta), excluded_llm_metadata_keys=["header", "source", "url", "chunk_index"],
    )


def _write_bm25(folder: Path, records: list[ChunkRecord], articles: dict[str, Article], tokenizer: str) -> None:
    from index.bm25index import bm25_from_tokens
    from index.fusion import save_article_fields

    if tokenizer not in tokenize.TOKENIZERS:
        raise ValueError(f"bm25_tokenizer phải là một trong {tokenize.TOKENIZERS}")
    for name, fn in (("bm25", tokenize.tokenize), ("bm25_folded", tokenize.tokenize_folded)):
        # Tokenised one chunk at a time into ids (index/bm25index.py, tested equal to bm25s.index): at
        # 100k synthetic chunks bm25s.index held every chunk's token strings, 3.6 GB at peak.
        retriever = bm25_from_tokens(fn(f"{r.header}\n{r.text}", tokenizer) for r in records)
        retriever.save(str(folder / name), show_progress=False)
    # Whole articles (title + text), in the order their chunks come: BM25 measured better on longer
    # windows than the model's chunks (docs/retrieval.md), so articles are a field of their own.
    order = list(dict.fromkeys(r.doc_id for r in records))
    counts = [0] * len(order)
    position = {doc_id: i for i, doc_id in enumerate(order)}
    for r in records:
        counts[position[r.doc_id]] += 1
    whole = [f"{articles[d].title}\n{articles[d].text}" for d in order]
    save_article_fields(folder, (tokenize.tokenize(t, tokenizer) for t in whole),
                        (tokenize.tokenize_folded(t, tokenizer) for t in whole), counts)
    (folder / "node_ids.json").write_text(json.dumps([r.node_id for r in records]), encoding="utf-8")


def build_index(
    data_dir: Path,
    articles: list[Article],
    settings: IndexSettings,
    embedder,
    weights: FusionWeights,
    progress: bool = True,
) -> tuple[Manifest, dict]:
    """Write a complete new build and make it current, fused with `weights` (index.fusion.weights_for).
    Returns (manifest, stats)."""
    started = time.perf_counter()
    root = index_root(data_dir)
    builds = root / "builds"
    builds.mkdir(parents=True, exist_ok=True)
    build_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
    tmp = builds / f".tmp-{build_id}"
    tmp.mkdir()
    try:
        # Chunks in doc-id order, however the articles came (a folder scan, an ingest's history, a
        # dataset's file order): equal BM25 scores then break ties alike on every path.
        articles = sorted(articles, key=lambda a: a.doc_id)
        by_id = {a.doc_id: a for a in articles}
        records = chunk_articles(articles, settings, embedder.count_tokens, embedder.info.max_seq_length)
        cache = EmbeddingCache(data_dir / "cache" / "embeddings.sqlite", embedder.info.fingerprint, embedder.info.dimension)
        try:
            vectors, reused, computed, embedded_with = embed_texts(
                [embed_text(r) for r in records], embedder, cache, progress, bulk_from=settings.bulk_embed_from)
            sentences = {}
            if settings.sentence_vectors:
                sentences = write_sentence_vectors(tmp, [r.text for r in records], lambda texts: embed_texts(
                    texts, embedder, cache, progress, "Nhúng câu (sentence embedding)", SENTENCE_BATCH, "câu",
                    settings.bulk_embed_from))
        finally:
            cache.close()
        vector_index = _write_vector_index(tmp, records, by_id, vectors, embedder, settings)
        vector_index["embedded_with"] = embedded_with  # the engine, or torch for a bulk (index/bulk_embed.py)
        _write_bm25(tmp, records, by_id, settings.bm25_tokenizer)
        if weights.adapter:
            from index.query_adapter import copy_packaged

            copy_packaged(tmp, weights.adapter)
        with (tmp / "articles.jsonl").open("w", encoding="utf-8") as fh:
            for article in articles:
                fh.write(json.dumps(article.to_dict(), ensure_ascii=False) + "\n")
        per_doc: dict[str, int] = {}
        for r in records:
            per_doc[r.doc_id] = per_doc.get(r.doc_id, 0) + 1
        manifest = Manifest(
            embed_model=embedder.info.to_dict(),
            tokenizer=settings.bm25_tokenizer,
            normaliser_version=textnorm.VERSION,
            chunking=chunking_record(settings, embedder.info.max_seq_length),
            dense_weight=weights.dense,
            rrf_k=settings.rrf_k,
            fusion=weights.to_dict(),
            sentences=sentences,
            vector_store=settings.vector_store,
            vector_index=vector_index,
            documents={
                a.doc_id: {"hash": a.content_hash, "title": a.title, "date": a.date, "source": a.source, "url": a.url,
                           "chunks": per_doc.get(a.doc_id, 0), "places": a.places[:10]}
                for a in articles
            },
            n_chunks=len(records),
            settings=settings.to_dict(),
            created_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        )
        manifest.save(tmp)
        final = builds / build_id
        tmp.rename(final)
        _point_current(root, build_id)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _remove_old_builds(builds, keep=build_id)
    stats = {"chunks": len(records), "embedded": computed, "reused_vectors": reused,
             "sentences": sentences.get("count", 0), "sentences_embedded": sentences.get("embedded", 0),
             "seconds": round(time.perf_counter() - started, 2)}
    return manifest, stats


def chunking_record(settings: IndexSettings, max_seq_length: int) -> dict:
    return {
        "chunk_tokens": min(settings.chunk_tokens, max_seq_length),
        "chunk_overlap": settings.chunk_overlap,
        "context_fields": list(settings.context_fields),
        "splitter": "ingest.chunk sentence packing v1",
    }


def _point_current(root: Path, build_id: str) -> None:
    tmp_pointer = root / f".{CURRENT}.{uuid.uuid4().hex[:6]}"
    tmp_pointer.write_text(build_id)
    os.replace(tmp_pointer, root / CURRENT)


STALE_TMP_S = 24 * 3600  # a build folder still being written is younger than this


def _remove_old_builds(builds: Path, keep: str) -> None:
    """Older builds go; another process's build in progress (.tmp-*) stays unless it is a day old
    (left by a killed ingest): two ingests into one data dir once deleted each other's folder."""
    for folder in builds.iterdir():
        if folder.name == keep:
            continue
        if folder.name.startswith(".tmp-") and time.time() - folder.stat().st_mtime < STALE_TMP_S:
            continue
        shutil.rmtree(folder, ignore_errors=True)


def load_articles_of(build: Path) -> list[Article]:
    """The articles a build was made from (so re-ingest needs only the changed files)."""
    path = build / "articles.jsonl"
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as fh:
        return [Article(**json.loads(line)) for line in fh if line.strip()]
