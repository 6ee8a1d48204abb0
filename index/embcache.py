"""A persistent embedding cache keyed by (model fingerprint, exact text embedded), in SQLite.

Re-ingesting, rebuilding with other BM25 settings, and eval runs over the same passages reuse
vectors instead of paying for the model again. Leaves out eviction: vectors are small next to the
time they cost on a CPU.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import numpy as np


class EmbeddingCache:
    def __init__(self, path: Path, model_fingerprint: str, dimension: int):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path))
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vec BLOB)")
        self._salt = model_fingerprint.encode()
        self._dim = dimension

    def key(self, text: str) -> str:
        return hashlib.sha256(self._salt + b"\0" + text.encode("utf-8")).hexdigest()

    def get_many(self, texts: list[str]) -> dict[int, np.ndarray]:
        """Vectors found, by position in `texts`."""
        keys = [self.key(t) for t in texts]
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), 500):
            batch = keys[start : start + 500]
            marks = ",".join("?" * len(batch))
            for key, blob in self._db.execute(f"SELECT key, vec FROM vectors WHERE key IN ({marks})", batch):
                vec = np.frombuffer(blob, dtype=np.float32)
                if vec.shape[0] == self._dim:
                    found[key] = vec
        return {i: found[k] for i, k in enumerate(keys) if k in found}

    def put_many(self, texts: list[str], vectors: np.ndarray) -> None:
        rows = [(self.key(t), np.asarray(v, dtype=np.float32).tobytes()) for t, v in zip(texts, vectors)]
        self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)", rows)
        self._db.commit()

    def close(self) -> None:
        self._db.close()
