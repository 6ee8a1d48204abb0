"""Load a built index and retrieve passages: BM25 over chunks and over whole articles (accented or
folded field), dense (FAISS), fused.

Fusion (index/fusion.py) adds each retriever's z-scored evidence with weights fitted per model by
`hoidap fit-fusion`; builds made before it keep weighted reciprocal rank fusion. Queries typed
without diacritics use the folded fields.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ingest.textnorm import fold_diacritics, has_diacritics
from index import fusion, tokenize
from index.build import current_build
from index.fusion import SIGNALS, Signal, fuse, standardise, top_rows
from index.settings import RetrievalSettings, changed_settings
from index.manifest import IndexMismatch, IndexMissing, Manifest, check_compatible, expected_build

RETRIEVERS = ("hybrid", "bm25", "dense")


@dataclass
class Passage:
    node_id: str
    doc_id: str
    title: str
    text: str
    score: float
    metadata: dict = field(default_factory=dict)
    ranks: dict = field(default_factory=dict)  # rank in each retriever that found it, 1-based
    sentence_scores: list[float] | None = None  # cosine of the question to each sentence (index/sentences.py)


@dataclass
class QueryForms:
    syllables: list[str]  # as typed (normalised, lower-cased)
    any_accented: bool  # some syllable was typed with a diacritic
    restored: list[str] | None  # diacritics put back; None when the query was typed with them


class LoadedIndex:
    """A build on disk, opened for querying (FAISS via llama-index, BM25 memory-mapped)."""

    def __init__(self, folder: Path, manifest: Manifest, embedder, retrieval: RetrievalSettings | None = None):
        from llama_index.core import StorageContext, load_index_from_storage

        from index.bm25index import load_bm25
        from index.passages import open_docstore
        from index.stores import open_store

        self.folder = folder
        self.manifest = manifest
        self.embedder = embedder
        self.retrieval = retrieval or RetrievalSettings()
        self._restorer = None
        self._rows: dict[str, int] | None = None
        self.reranker = None  # set by open_index when RetrievalSettings.rerank_model is configured
        llama_dir = str(folder / "llama")
        self.vector_store = store = open_store(folder, manifest, self.retrieval)
        # Builds made before the passage store existed keep llama-index's JSON docstore (docstore=None).
        storage = StorageContext.from_defaults(vector_store=store, docstore=open_docstore(folder / "llama"),
                                               persist_dir=llama_dir)
        self.vector_index = load_index_from_storage(storage, embed_model=embedder)
        self.docstore = storage.docstore
        self.node_ids: list[str] = json.loads((folder / "node_ids.json").read_text(encoding="utf-8"))
        self.bm25 = load_bm25(folder / "bm25")
        self.bm25_folded = load_bm25(folder / "bm25_folded")
        # Whole-article BM25 fields (builds from before them have none): chunk rows of article j are
        # chunk_start[j]:chunk_start[j + 1], in node_ids order.
        self.articles = None
        if (folder / fusion.ARTICLE_FIELD).is_dir():
            self.articles = fusion.ArticleFields(folder, load_bm25)
        from index.sentences import open_sentence_vectors

        # None for builds from before sentence vectors, or built without them.
        self.sentences = open_sentence_vectors(folder, manifest.sentences)
        self._query_vector: tuple[str, list[float]] | None = None
        self.query_adapter = self._open_adapter()

    def _open_adapter(self):
        """The query adapter the build's weights were fitted with (None for builds without one)."""
        from index.query_adapter import ADAPTER_FILE, load_adapter

        if not self.fusion.adapter:
            return None
        try:
            return load_adapter(self.folder / ADAPTER_FILE, self.fusion.adapter)
        except ValueError as exc:
            raise IndexMismatch(f"Bộ chuyển câu hỏi (query adapter) của chỉ mục hỏng: {exc}. "
                                "Chạy `hoidap ingest --rebuild` để dựng lại.") from exc

    def document_frequency(self, folded_term: str) -> tuple[int, int]:
        """(chunks containing the accent-folded term, all chunks): for weighting question terms."""
        return _doc_freq(self.bm25_folded, folded_term)

    # -- single retrievers -------------------------------------------------------------------
    def restorer(self):
        from index.restore import DiacriticRestorer

        if self._restorer is None:
            # Chunk counts per vocabulary column, read once from the memory-mapped matrix.
            counts = np.diff(np.asarray(self.bm25.scores["indptr"]))
            vocab = self.bm25.vocab_dict
            self._restorer = DiacriticRestorer(vocab, lambda t: int(counts[vocab[t]]) if t in vocab else 0)
        return self._restorer

    def query_forms(self, query: str) -> QueryForms:
        """The query's syllables and, when it was typed (partly) without diacritics, their restoration."""
        syllables = tokenize.syllables(query)
        accented = [has_diacritics(s) for s in syllables]
        if self.retrieval.accents == "field" or all(a or not s.isalpha() for s, a in zip(syllables, accented)):
            return QueryForms(syllables, any(accented), None)
        restored = self.restorer().restore(syllables, any(accented))
        return QueryForms(syllables, any(accented), restored if restored != syllables else None)

    def bm25_queries(self, query: str, forms: QueryForms | None = None) -> list[tuple[bool, list[str]]]:
        """(folded field?, query tokens) to search. A query typed with its diacritics searches the
        accented fields; one typed (partly) without them, as restoration shows, is searched per
        RetrievalSettings.accents."""
        name, expand, accents = self.manifest.tokenizer, self.retrieval.expand_abbreviations, self.retrieval.accents
        forms = forms or self.query_forms(query)

        def folded():
            syllables = [fold_diacritics(s) for s in forms.syllables]
            return True, tokenize.query_tokens(syllables, name, expand, True, text=query)

        if forms.restored is None:
            if forms.any_accented:
                return [(False, tokenize.query_tokens(forms.syllables, name, expand, text=query))]
            return [folded()]
        if accents == "fold":
            return [folded()]
        accented = (False, tokenize.query_tokens(forms.restored, name, expand))
        return [accented, folded()] if accents == "fuse" else [accented]

    def bm25_ranking(self, query: str, depth: int, allowed: np.ndarray | None = None,
                     forms: QueryForms | None = None) -> list[tuple[str, float]]:
        """Top node ids by BM25 on the accented field, the folded one, or both fused (see bm25_queries)."""
        rankings = {}
        for n, (folded, tokens) in enumerate(self.bm25_queries(query, forms)):
            scores = (self.bm25_folded if folded else self.bm25).get_scores(tokens)
            if allowed is not None:
                scores = np.where(allowed, scores, 0.0)
            rankings[f"bm25-{n}"] = (1.0, self._top(scores, depth))
        if len(rankings) == 1:
            return next(iter(rankings.values()))[1]
        return [(node_id, score) for node_id, score, _ in fuse(rankings, self.manifest.rrf_k)[:depth]]

    def _top(self, scores: np.ndarray, depth: int) -> list[tuple[str, float]]:
        return [(self.node_ids[i], float(scores[i])) for i in top_rows(scores, depth)]

    def dense_ranking(self, query: str, depth: int, allowed_ids: set[str] | None = None) -> list[tuple[str, float]]:
        """(node id, score) from the vector store's own query. Not through llama-index's retriever: it
        lists every node id per query and loads every hit's passage, which the fusion does not need
        (1M synthetic chunks, one bench run: dense p50 44.6 ms through it, 12.2 ms querying the store)."""
        return [(self.node_ids[row], score) for row, score in self._dense_rows(query, depth, allowed_ids)]

    def _dense_rows(self, query: str, depth: int, allowed_ids: set[str] | None = None) -> list[tuple[int, float]]:
        """(chunk row, similarity) of the nearest vectors, best first."""
        from llama_index.core.vector_stores.types import VectorStoreQuery

        fetch = depth if allowed_ids is None else min(len(self.node_ids), depth * 10)
        result = self.vector_store.query(
            VectorStoreQuery(query_embedding=self.retrieval_vector(query), similarity_top_k=fetch))
        if result.nodes:  # stores that keep the nodes (Qdrant) return them; FAISS returns its row ids
            rows = [self.row_of(node.node_id) for node in result.nodes]
        else:  # FAISS rows are the build's chunk order (node_ids.json)
            rows = [int(row) for row in result.ids]
        hits = list(zip(rows, map(float, result.similarities)))
        if allowed_ids is not None:
            hits = [h for h in hits if self.node_ids[h[0]] in allowed_ids]
        return hits[:depth]

    def row_of(self, node_id: str) -> int:
        if self._rows is None:
            self._rows = {nid: i for i, nid in enumerate(self.node_ids)}
        return self._rows[node_id]

    def query_embedding(self, query: str) -> list[float]:
        # Kept for the question's sentence scores after the dense search (one encoding per question).
        memo = self._query_vector  # read once: other threads may replace it meanwhile
        if memo is None or memo[0] != query:
            memo = self._query_vector = (query, self.embedder.get_query_embedding(query))
        return memo[1]

    def retrieval_vector(self, query: str) -> list[float]:
        """The question's vector as retrieval reads it: through the build's query adapter, if any. The
        answer stage keeps the model's own (query_embedding), which its models were trained on."""
        vector = self.query_embedding(query)
        return vector if self.query_adapter is None else self.query_adapter(vector).tolist()

    def node_id_of(self, row_id: str) -> str:
        """The node id llama-index recorded for a vector store's row id when the build added it."""
        return self.vector_index.index_struct.nodes_dict[row_id]

    @property
    def fusion(self) -> fusion.FusionWeights:
        """How this build fuses: recorded at build time; builds from before score fusion used RRF."""
        record = self.manifest.fusion or {"method": "rrf", "dense": self.manifest.dense_weight, "article": 0.0}
        return fusion.FusionWeights(record["method"], float(record["dense"]), float(record["article"]),
                                    float(record.get("sentence", 0.0)), record.get("adapter", ""))

    # -- fused -------------------------------------------------------------------------------
    def retrieve(self, query: str, k: int = 5, mode: str = "hybrid", doc_ids: set[str] | None = None,
                 depth: int = 50) -> list[Passage]:
        allowed = None
        allowed_ids = None
        if doc_ids is not None:
            allowed_ids = {nid for nid in self.node_ids if nid.rsplit("#", 1)[0] in doc_ids}
            allowed = np.array([nid in allowed_ids for nid in self.node_ids])
        forms = self.query_forms(query)
        # Models read the question with its diacritics back, when they were restored.
        model_query = " ".join(forms.restored) if forms.restored else query
        if self.fusion.method == "rrf":
            fused = self._rrf(query, model_query, mode, depth, allowed, allowed_ids, forms)
        else:
            fused = self._score_fusion(query, model_query, mode, depth, allowed, allowed_ids, forms)
        if self.reranker is None:
            passages = [self._passage(node_id, score, ranks) for node_id, score, ranks in fused[:k]]
        else:
            candidates = [self._passage(node_id, score, ranks)
                          for node_id, score, ranks in fused[: max(k, self.reranker.depth)]]
            passages = self.reranker.rerank(model_query, candidates)[:k]
        if self.sentences is not None and passages:
            vector = self.query_embedding(model_query)
            for p in passages:
                p.sentence_scores = self.sentences.similarities(self.row_of(p.node_id), vector)
        return passages

    def _rrf(self, query, model_query, mode, depth, allowed, allowed_ids, forms) -> list[tuple[str, float, dict]]:
        """Weighted reciprocal rank fusion of chunk BM25 and dense (builds made before score fusion)."""
        rankings: dict[str, tuple[float, list[tuple[str, float]]]] = {}
        dense_weight = self.fusion.dense if mode == "hybrid" else 1.0
        if mode in ("hybrid", "bm25"):
            rankings["bm25"] = (1.0, self.bm25_ranking(query, depth, allowed, forms))
        if mode == "dense" or (mode == "hybrid" and dense_weight > 0):
            rankings["dense"] = (dense_weight, self.dense_ranking(model_query, depth, allowed_ids))
        return fuse(rankings, self.manifest.rrf_k)

    def _score_fusion(self, query, model_query, mode, depth, allowed, allowed_ids, forms) -> list[tuple[str, float, dict]]:
        """Chunks ranked by the weighted sum of z-scored chunk BM25, article BM25 and dense similarity."""
        weights = self.fusion
        share = {"bm25": 1.0, "article": weights.article,
                 "dense": 1.0 if mode == "dense" else weights.dense if mode == "hybrid" else 0.0,
                 "sentence": weights.sentence if mode == "hybrid" else 0.0}
        signals = self.signals(query, model_query, depth, {n for n, w in share.items() if w > 0}, mode, allowed,
                               allowed_ids, forms)
        rows, z, ranks = standardise(signals)
        total = np.zeros(len(rows), dtype="float32")
        for name, values in z.items():
            total += share[name] * values
        order = np.argsort(-total, kind="stable")
        return [(self.node_ids[rows[i]], round(float(total[i]), 6), ranks.get(int(rows[i]), {})) for i in order]

    def signals(self, query: str, model_query: str, depth: int, names=SIGNALS, mode="hybrid",
                allowed=None, allowed_ids=None, forms: QueryForms | None = None) -> list["Signal"]:
        """Each retriever's evidence for the fusion (also what `hoidap fit-fusion` fits weights on).

        Each is standardised by its own top `depth` scores (standardise): BM25 scores are exact for
        every candidate, a candidate the vector search did not return gets the lowest similarity it did."""
        forms = forms or self.query_forms(query)
        signals: list[Signal] = []
        if mode in ("hybrid", "bm25"):
            queries = self.bm25_queries(query, forms)
            for folded, tokens in queries:
                scores = (self.bm25_folded if folded else self.bm25).get_scores(tokens)
                if allowed is not None:
                    scores = np.where(allowed, scores, 0.0)
                top = top_rows(scores, depth)
                signals.append(Signal("bm25", 1.0 / len(queries), scores.__getitem__, top, scores[top]))
                if self.articles is not None and "article" in names:
                    signals.append(self._article_signal(folded, tokens, 1.0 / len(queries), depth, allowed))
        if "dense" in names and mode in ("hybrid", "dense"):
            hits = self._dense_rows(model_query, depth, allowed_ids)
            if hits:
                by_row, floor = dict(hits), hits[-1][1]

                def similarity(rows, by_row=by_row, floor=floor):
                    return np.array([by_row.get(int(r), floor) for r in rows], dtype="float32")

                top = np.array([r for r, _ in hits], dtype=np.int64)
                signals.append(Signal("dense", 1.0, similarity, top, np.array([v for _, v in hits])))
        if "sentence" in names and mode == "hybrid" and self.sentences is not None:
            # No candidates of its own: it re-scores the others' by their closest sentence, standardised
            # over the best `depth` of them.
            vector = self.retrieval_vector(model_query)
            signals.append(Signal("sentence", 1.0, lambda rows: self.sentences.best(rows, vector),
                                  np.zeros(0, dtype=np.int64), None, reference_depth=depth))
        return signals

    def _article_signal(self, folded: bool, tokens: list[str], share: float, depth: int, allowed) -> "Signal":
        """Whole-article BM25 as a chunk signal: every chunk carries its article's score, and the chunks
        of the top articles become candidates."""
        articles = self.articles
        scores = (articles.folded if folded else articles.accented).get_scores(tokens)
        if allowed is not None:
            keep = np.zeros(len(scores), dtype=bool)
            keep[articles.article_of(np.flatnonzero(allowed))] = True
            scores = np.where(keep, scores, 0.0)
        top = top_rows(scores, depth)
        candidates = articles.chunk_rows(top)
        if allowed is not None:
            candidates = candidates[allowed[candidates]]

        def per_chunk(rows):
            return scores[articles.article_of(np.asarray(rows))]

        rank_of = {int(a): r for r, a in enumerate(top, 1)}
        return Signal("article", share, per_chunk, candidates, scores[top],
                      lambda: {int(row): rank_of[int(a)] for row, a in zip(candidates, articles.article_of(candidates))})

    def _passage(self, node_id: str, score: float, ranks: dict) -> Passage:
        node = self.docstore.get_node(node_id)
        meta = dict(node.metadata)
        return Passage(node_id, meta.get("doc_id", ""), meta.get("title", ""), node.get_content(), score, meta, ranks)


def _doc_freq(bm25, token: str) -> tuple[int, int]:
    """(chunks containing the token, all chunks) in a bm25s index, from its CSC column pointers."""
    column = bm25.vocab_dict.get(token)
    n_docs = int(bm25.scores["num_docs"])
    if column is None:
        return 0, n_docs
    indptr = bm25.scores["indptr"]
    return int(indptr[column + 1] - indptr[column]), n_docs


def read_manifest(data_dir: Path, settings) -> Manifest:
    """The current build's manifest, checked against the index settings in force now."""
    folder = current_build(data_dir)
    if folder is None:
        raise IndexMissing(
            f"Chưa có chỉ mục trong {data_dir} (no index yet). Chạy `hoidap ingest` để nạp bài viết."
        )
    manifest = Manifest.load(folder)
    changed = changed_settings(manifest.settings, settings)
    if changed:
        raise IndexMismatch(
            f"Chỉ mục được dựng với thiết lập khác ({', '.join(changed)}). "
            "Chạy `hoidap ingest --rebuild` để dựng lại với thiết lập hiện tại."
        )
    return manifest


def open_index(data_dir: Path, embedder, settings, retrieval: RetrievalSettings | None = None,
               reranker=None) -> LoadedIndex:
    """Open the current build under data_dir after checking it matches the settings and model;
    `retrieval` holds the query-time choices (accents, abbreviations, reranking); `reranker`, one
    already loaded (an index swapped in keeps its predecessor's)."""
    from index.build import chunking_record
    from ingest import textnorm

    manifest = read_manifest(data_dir, settings)
    wanted = expected_build(embedder.info.to_dict(), settings.bm25_tokenizer, textnorm.VERSION,
                            chunking_record(settings, embedder.info.max_seq_length))
    check_compatible(manifest, wanted)
    index = LoadedIndex(current_build(data_dir), manifest, embedder, retrieval)
    if reranker is not None:
        index.reranker = reranker
    elif retrieval is not None and retrieval.rerank_model:
        from index.rerank import load_reranker

        index.reranker = load_reranker(retrieval.rerank_model, retrieval.rerank_depth)
    return index
