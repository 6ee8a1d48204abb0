"""The "llama-index defaults" baselines: what a user gets from a plain llama-index pipeline.

`llamaindex-default`: SentenceSplitter() defaults (1024 tiktoken tokens, overlap 200), title as
metadata, FAISS dense top-k with the same model (chunks past its limit truncated, as for a user).
`llamaindex-bm25`: BM25Retriever defaults (English stemmer, stopwords, `\\w\\w+`) on the same nodes.
Vectors come from hoidap's embedding cache; answering stays hoidap's (eval/run.py).
"""

from __future__ import annotations

import json
import shutil
import sys
import time
import uuid
from pathlib import Path

BASELINE_FORMAT = "llamaindex-baselines-v1"  # bump when the baseline pipeline changes
NAMES = ("llamaindex-default", "llamaindex-bm25")
COMPLETE = "complete.json"


def _hit(node_with_score, titles: dict[str, str]):
    from eval.records import Hit

    node = node_with_score.node
    doc_id = node.ref_doc_id or node.metadata.get("doc_id", "")
    title = node.metadata.get("title") or titles.get(doc_id, "")
    return Hit(node.node_id, doc_id, title, node.get_content(), float(node_with_score.score or 0.0))


class LlamaIndexBaselines:
    """The two baseline retrievers, loaded from their cache folder."""

    def __init__(self, folder: Path, embedder, titles: dict[str, str]):
        from llama_index.core import StorageContext, load_index_from_storage
        from llama_index.retrievers.bm25 import BM25Retriever
        from llama_index.vector_stores.faiss import FaissVectorStore

        self.folder = folder
        vector_dir = str(folder / "vector")
        store = FaissVectorStore.from_persist_dir(vector_dir)
        storage = StorageContext.from_defaults(vector_store=store, persist_dir=vector_dir)
        self.vector_index = load_index_from_storage(storage, embed_model=embedder)
        self.bm25 = BM25Retriever.from_persist_dir(str(folder / "bm25"), show_progress=False)
        self.n_nodes = int(self.bm25.bm25.scores.get("num_docs", 0))
        self._titles = titles
        self._dense = {}

    def retrieve(self, name: str, query: str, k: int) -> list:
        """Ranked chunks (eval.run.Hit) of one baseline for one query."""
        if name == "llamaindex-default":
            if k not in self._dense:
                self._dense[k] = self.vector_index.as_retriever(similarity_top_k=k)
            found = self._dense[k].retrieve(query)
        elif name == "llamaindex-bm25":
            self.bm25.similarity_top_k = max(1, min(k, self.n_nodes))
            found = self.bm25.retrieve(query)
        else:
            raise ValueError(f"unknown baseline {name!r}")
        return [_hit(n, self._titles) for n in found]

    # ------------------------------------------------------------ building

    @classmethod
    def build_or_load(cls, cache_root: Path, articles, corpus_hash: str, embedder, embedding_cache: Path,
                      progress: bool = True) -> tuple["LlamaIndexBaselines", dict]:
        """Load the cached baseline indexes for this corpus and model, building them first if absent."""
        from eval.corpus import cache_key

        key = cache_key(BASELINE_FORMAT, corpus_hash, embedder.info.name, embedder.info.fingerprint,
                        embedder.info.passage_prompt, embedder.info.query_prompt)
        folder = cache_root / f"llamaindex-{key}"
        info = {"folder": str(folder), "splitter": "SentenceSplitter() defaults (chunk_size 1024, overlap 200, "
                "tiktoken cl100k)", "vector_store": "FAISS IndexFlatIP, normalised vectors",
                "bm25": "BM25Retriever.from_defaults (English stemmer + stopwords)"}
        stats: dict = {}
        reused = (folder / COMPLETE).is_file()
        if not reused:
            stats = cls.build(folder, articles, embedder, embedding_cache, progress)
        else:
            stats = json.loads((folder / COMPLETE).read_text(encoding="utf-8"))
        titles = {a.doc_id: a.title for a in articles}
        loaded = cls(folder, embedder, titles)
        return loaded, {**info, "reused": reused, **stats}

    @staticmethod
    def build(folder: Path, articles, embedder, embedding_cache: Path, progress: bool = True) -> dict:
        """Split, embed (through the shared cache), and persist the FAISS index and the stock BM25."""
        import faiss
        from llama_index.core import Document, StorageContext, VectorStoreIndex
        from llama_index.core.node_parser import SentenceSplitter
        from llama_index.core.schema import MetadataMode
        from llama_index.retrievers.bm25 import BM25Retriever
        from llama_index.vector_stores.faiss import FaissVectorStore

        from index.build import embed_texts
        from index.embcache import EmbeddingCache

        started = time.perf_counter()
        print(f"hoidap eval: building the llama-index baselines in {folder}…", file=sys.stderr)
        documents = [Document(id_=a.doc_id, text=a.text, metadata={"title": a.title}) for a in articles]
        nodes = SentenceSplitter().get_nodes_from_documents(documents)
        texts = [node.get_content(metadata_mode=MetadataMode.EMBED) for node in nodes]

        cache = EmbeddingCache(embedding_cache, embedder.info.fingerprint, embedder.info.dimension)
        try:
            vectors, reused, computed, _ = embed_texts(texts, embedder, cache, progress, desc="llama-index baseline: embedding")
        finally:
            cache.close()
        for node, vector in zip(nodes, vectors):
            node.embedding = vector.tolist()

        tmp = folder.parent / f".tmp-{folder.name}-{uuid.uuid4().hex[:6]}"
        tmp.mkdir(parents=True)
        try:
            store = FaissVectorStore(faiss_index=faiss.IndexFlatIP(embedder.info.dimension))
            storage = StorageContext.from_defaults(vector_store=store)
            index = VectorStoreIndex(nodes, storage_context=storage, embed_model=embedder, show_progress=False)
            index.storage_context.persist(persist_dir=str(tmp / "vector"))
            bm25 = BM25Retriever.from_defaults(nodes=nodes)
            (tmp / "bm25").mkdir()
            bm25.persist(str(tmp / "bm25"), show_progress=False)
            stats = {"n_nodes": len(nodes), "embedded": computed, "reused_vectors": reused,
                     "seconds": round(time.perf_counter() - started, 2)}
            (tmp / COMPLETE).write_text(json.dumps(stats), encoding="utf-8")
            if folder.exists():
                shutil.rmtree(folder)
            tmp.rename(folder)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return stats
