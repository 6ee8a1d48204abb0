"""The query adapter: a linear map, fitted on the shared benchmarks, that moves a question's vector
towards the passages that answer it (q + q·W, unit length). Passages keep the model's own vectors,
so no index needs re-embedding; the fusion's dense and closest-sentence signals read the adapted
vector, the answer stage the model's. Fitted by `hoidap fit-fusion` (eval/fit_adapter.py).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

ADAPTER_FILE = "query_adapter.npy"  # in index/ beside fusion_weights.json, and copied into each build using it
PACKAGED = Path(__file__).with_name(ADAPTER_FILE)


class QueryAdapter:
    """W of q ↦ (q + q·W) / |q + q·W|, stored as float16 (its entries are small corrections)."""

    def __init__(self, delta: np.ndarray):
        self.delta = np.asarray(delta, dtype=np.float16)
        self._matrix = self.delta.astype(np.float32)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.delta.tobytes()).hexdigest()

    def __call__(self, vector) -> np.ndarray:
        q = np.asarray(vector, dtype=np.float32)
        adapted = q + q @ self._matrix
        norm = float(np.linalg.norm(adapted))
        return adapted / norm if norm > 0 else adapted

    def save(self, path: Path) -> None:
        np.save(path, self.delta)


def load_adapter(path: Path, sha256: str) -> QueryAdapter:
    """The adapter at `path`, checked against the hash its fusion record names (ValueError otherwise)."""
    try:
        adapter = QueryAdapter(np.load(path, allow_pickle=False))
    except (OSError, ValueError, EOFError) as exc:  # EOFError: an empty file
        raise ValueError(f"{path} không đọc được ({type(exc).__name__})") from exc
    if adapter.sha256 != sha256:
        raise ValueError(f"{path} không khớp bản ghi (sha256 {adapter.sha256[:12]}…, cần {sha256[:12]}…)")
    return adapter


def copy_packaged(folder: Path, sha256: str) -> None:
    """Put the packaged adapter into a build, so the build keeps the one its weights were fitted with."""
    load_adapter(PACKAGED, sha256).save(folder / ADAPTER_FILE)
