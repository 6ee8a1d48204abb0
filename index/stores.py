"""The vector store behind llama-index, chosen by IndexSettings.vector_store: FAISS or Qdrant.

Building and querying go through llama-index's VectorStoreIndex for both; this module only makes
the store for a new build and reopens it for a built one. FAISS lives in the build folder; Qdrant in
an embedded folder (qdrant-client local mode) or on a server (URL, API key from the environment).
"""

from __future__ import annotations

import os
import uuid
from dataclasses import replace
from pathlib import Path

STORES = ("faiss", "qdrant")
QDRANT_API_KEY_ENV = "HOIDAP_QDRANT_API_KEY"
_POINT_NAMESPACE = uuid.UUID("6f1d7c1e-3c1a-4c55-9a57-0d7c6e1f2a90")


def check_store(name: str) -> None:
    if name not in STORES:
        raise ValueError(f"vector_store phải là một trong {STORES} (got {name!r})")


def point_id(node_id: str) -> str:
    """Qdrant accepts only UUIDs or integers as point ids; node ids ("doc#3") map to a stable UUID."""
    return str(uuid.uuid5(_POINT_NAMESPACE, node_id))


def _batched_faiss_store_class():
    from llama_index.vector_stores.faiss import FaissVectorStore

    class BatchedFaissVectorStore(FaissVectorStore):
        """FaissVectorStore that adds a whole batch of nodes in one faiss call (it adds one by one),
        so trained approximate indexes fill in parallel; the stored index is an ordinary faiss file."""

        def add(self, nodes, **_kwargs):
            import numpy as np

            from index.vectors import add_vectors

            start = self._faiss_index.ntotal
            add_vectors(self._faiss_index, np.array([n.get_embedding() for n in nodes], dtype="float32"))
            return [str(start + i) for i in range(len(nodes))]

    return BatchedFaissVectorStore


def _qdrant_store_class():
    from llama_index.vector_stores.qdrant import QdrantVectorStore

    class HoidapQdrantStore(QdrantVectorStore):
        """QdrantVectorStore with UUID point ids derived from node ids (the node id stays in the payload,
        which is what queries return)."""

        def _build_points(self, nodes, sparse_vector_name):
            points, ids = super()._build_points(nodes, sparse_vector_name)
            for point in points:
                point.id = point_id(str(point.id))
            return points, ids

        def query(self, query, **kwargs):
            # VectorStoreIndex.as_retriever restricts every query to all the index's node ids; the
            # collection holds exactly those, so the filter (a million ids at scale) only costs.
            return super().query(replace(query, node_ids=None), **kwargs)

    return HoidapQdrantStore


def _qdrant_client(location: str):
    from qdrant_client import QdrantClient

    if location.startswith(("http://", "https://")):
        return QdrantClient(url=location, api_key=os.environ.get(QDRANT_API_KEY_ENV) or None)
    Path(location).mkdir(parents=True, exist_ok=True)
    return QdrantClient(path=location)


def _qdrant_location(folder: Path, configured: str) -> str:
    # Embedded by default inside the build folder, so write-then-swap and old-build removal cover it
    # (recorded as "" because the folder is renamed when the build becomes current).
    return configured or str(folder / "qdrant")


def new_store(folder: Path, settings, vectors) -> tuple[object, dict]:
    """An empty store for a new build in folder, sized/trained for vectors; returns (store, record)."""
    check_store(settings.vector_store)
    if settings.vector_store == "faiss":
        from index.vectors import choose_kind, new_faiss_index

        kind = choose_kind(settings.faiss_index, len(vectors), settings.faiss_exact_below)
        index, factory = new_faiss_index(vectors, kind)
        return _batched_faiss_store_class()(faiss_index=index), {"kind": kind, "factory": factory}
    collection = f"{settings.qdrant_collection}_{folder.name.removeprefix('.tmp-')}"
    location = _qdrant_location(folder, settings.qdrant_location)
    # A doc_id payload index serves deletes on a server; embedded mode cannot use one (and warns).
    store = _qdrant_store_class()(collection_name=collection, client=_qdrant_client(location),
                                  index_doc_id=location.startswith(("http://", "https://")))
    return store, {"location": settings.qdrant_location, "collection": collection}


def finish_store(store, record: dict, n_vectors: int) -> dict:
    """After the nodes went in: release what the build held (an embedded Qdrant folder is locked
    while a client has it open), and return the manifest's record of the vector index."""
    if "collection" in record:
        store.client.close()
        return {**record, "vectors": n_vectors}
    from index.vectors import describe

    return describe(record["kind"], record["factory"], store.client)


def open_store(folder: Path, manifest, retrieval):
    """The store of a built index, with the query-time FAISS parameters of `retrieval`
    (RetrievalSettings) applied."""
    name = manifest.vector_store
    check_store(name)
    if name == "faiss":
        from llama_index.vector_stores.faiss import FaissVectorStore

        from index.vectors import tune_for_search

        store = FaissVectorStore.from_persist_dir(str(folder / "llama"))
        tune_for_search(store.client, retrieval)
        return store
    record = manifest.vector_index
    location = _qdrant_location(folder, record.get("location", ""))
    if not location.startswith(("http://", "https://")) and not Path(location).is_dir():
        from index.manifest import IndexMismatch

        raise IndexMismatch(f"Không tìm thấy dữ liệu Qdrant ở {location}. Chạy `hoidap ingest --rebuild`.")
    return _qdrant_store_class()(collection_name=record["collection"], client=_qdrant_client(location))
