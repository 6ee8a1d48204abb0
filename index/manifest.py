"""The record of how an index was built, saved beside it and checked whenever it is loaded.

Holds the embedding model (name, dimension, limit, prompts, backend, weights hash), the BM25 tokenizer,
the normaliser version, chunking, fusion weight, the vector store and index type, and the documents
with their content hashes (for incremental ingest). `check_compatible` turns any difference into a
message saying what to run.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

FORMAT_VERSION = 1
FILENAME = "manifest.json"


class IndexMismatch(Exception):
    """The index on disk was built differently from what is asked now."""


class IndexMissing(Exception):
    """No usable index under the data dir."""


@dataclass
class Manifest:
    embed_model: dict  # ModelInfo.to_dict()
    tokenizer: str
    normaliser_version: str
    chunking: dict  # chunk_tokens (effective), chunk_overlap, context_fields
    dense_weight: float
    rrf_k: int
    vector_store: str
    vector_index: dict = field(default_factory=dict)  # faiss: kind, factory, vectors; qdrant: location, collection
    documents: dict[str, dict] = field(default_factory=dict)  # doc_id -> {hash, title, date, source, chunks}
    n_chunks: int = 0
    settings: dict = field(default_factory=dict)  # IndexSettings as given, to notice a changed config cheaply
    created_at: str = ""
    fusion: dict = field(default_factory=dict)  # FusionWeights.to_dict(); {} = built before score fusion (RRF)
    sentences: dict = field(default_factory=dict)  # index/sentences.py's record; {} = no sentence vectors
    format_version: int = FORMAT_VERSION

    def save(self, folder: Path) -> None:
        (folder / FILENAME).write_text(json.dumps(asdict(self), ensure_ascii=False, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> "Manifest":
        path = folder / FILENAME
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(**data)
        except (OSError, ValueError, TypeError) as exc:
            raise IndexMismatch(
                f"Chỉ mục ở {folder} bị hỏng hoặc không đọc được ({type(exc).__name__}). "
                "Chạy `hoidap ingest --rebuild` để dựng lại."
            ) from exc


def expected_build(model_info: dict, tokenizer: str, normaliser_version: str, chunking: dict) -> dict:
    """The parts of a manifest that must match between build and query time."""
    return {
        "embedding model": model_info["name"],
        "embedding dimension": model_info["dimension"],
        "embedding backend": model_info.get("backend", "torch"),  # indexes from before backends: torch
        "model weights": model_info["fingerprint"],
        "tokenizer": tokenizer,
        "normaliser version": normaliser_version,
        "chunking": chunking,
    }


def check_compatible(manifest: Manifest, wanted: dict) -> None:
    """Raise IndexMismatch naming every difference and the command that fixes it."""
    if manifest.format_version != FORMAT_VERSION:
        raise IndexMismatch(
            f"Chỉ mục có định dạng {manifest.format_version}, phiên bản này cần {FORMAT_VERSION}. "
            "Chạy `hoidap ingest --rebuild`."
        )
    have = expected_build(manifest.embed_model, manifest.tokenizer, manifest.normaliser_version, manifest.chunking)
    diffs = [f"{key}: chỉ mục có {have[key]!r}, cấu hình cần {wanted[key]!r}" for key in wanted if have.get(key) != wanted[key]]
    if diffs:
        raise IndexMismatch(
            "Chỉ mục được dựng với thiết lập khác (index built with other settings):\n  - "
            + "\n  - ".join(diffs)
            + "\nChạy `hoidap ingest --rebuild` để dựng lại với thiết lập hiện tại, "
            f"hoặc đặt lại embed_model = \"{manifest.embed_model['name']}\"."
        )
