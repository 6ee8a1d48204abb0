"""The reader: a small cross-encoder that reads the question with each of the answer model's best few
sentences and reorders them; the answer and its confidence come from both (docs/answers.md).

Its embeddings and first layers are multilingual-e5-small's (the model bundle, index/e5_bundle.py); its
last layers and head are app/reader_model.safetensors, written with app/reader_model.json (base weights'
hash, data hashes, command, SHA, the confidence fitted with it) by `hoidap train-reader`; checked on load.
"""

from __future__ import annotations

import functools
import json
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

WEIGHTS_PATH = Path(__file__).with_name("reader_model.safetensors")
RECORD_PATH = Path(__file__).with_name("reader_model.json")
RECIPE = "reader-v1"  # bump when the network, its input or the combination changes
QUERY, PASSAGE = "query: ", "passage: "  # e5's prompts, question first
_LOCK = threading.Lock()
_CACHE: dict[str, Reader] = {}


class ReaderError(RuntimeError):
    """The reader's files are missing, corrupt, or made for other base weights."""


@dataclass
class Reader:
    net: object  # app/reader_net.PairReader, in eval mode
    tokenizer: object  # index/e5_pieces.PieceTokenizer, pair-truncated to record["max_tokens"]
    record: dict
    precision: str = "float32"  # or "bfloat16" where the CPU computes it natively (machine_precision)
    backend: str = "torch"  # or "onnx": net is app/reader_onnx.OnnxReaderNet (float32, no torch)

    @property
    def top(self) -> int:
        return int(self.record["top_sentences"])

    @property
    def weight(self) -> float:
        return float(self.record["weight"])

    def scores(self, question: str, sentences: list[str]) -> np.ndarray:
        """One score per sentence: how well it answers the question (higher is better)."""
        if self.backend == "onnx":
            return self.net(*pair_ids(self.tokenizer, question, sentences)).astype(np.float64) if sentences else np.zeros(0)
        return score_pairs(self.net, self.tokenizer, question, sentences, self.precision)

    def confidence(self, top: float, margin: float, row) -> float:
        """Calibrated probability that the chosen sentence answers: as app/answer_model.AnswerModel's
        (row = its confidence features of the candidate), over the combined score and its margin."""
        from app.answer_model import platt_probability

        return platt_probability(self.record["confidence"]["platt"], top, margin, row)

    @property
    def threshold(self) -> float:
        return float(self.record["confidence"]["threshold"])


def pair_ids(tokenizer, question: str, sentences: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(ids, mask) int64 arrays of the question paired with each sentence, cut to the token budget."""
    out = tokenizer.encode_batch([(QUERY + question, PASSAGE + s) for s in sentences])
    return (np.array([e.ids for e in out], dtype=np.int64), np.array([e.attention_mask for e in out], dtype=np.int64))


def encode_pairs(tokenizer, question: str, sentences: list[str]):
    """pair_ids as torch tensors."""
    import torch

    return tuple(torch.from_numpy(a) for a in pair_ids(tokenizer, question, sentences))


def score_pairs(net, tokenizer, question: str, sentences: list[str], precision: str = "float32") -> np.ndarray:
    """The network's score of each sentence with the question, on every core, in `precision`."""
    import torch

    if not sentences:
        return np.zeros(0)
    if torch.get_num_threads() != _cores():  # faiss's OpenMP setting may have left torch one thread
        torch.set_num_threads(_cores())
    ids, mask = encode_pairs(tokenizer, question, sentences)
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bfloat16"):
        return net(ids, mask).float().numpy().astype(np.float64)


@functools.cache
def _cores() -> int:
    """Read once: index/onnx_export.physical_cores reads sysfs per CPU, too much for every question."""
    from index.onnx_export import physical_cores

    return physical_cores()


def machine_precision() -> str:
    """bfloat16 where the CPU has it (AVX-512 BF16 or AMX): 48 → 22 ms for 4 sentences here, the same
    choices as float32 (docs/answers.md); float32 elsewhere, where bfloat16 would be emulated."""
    from index.bulk_embed import native_bfloat16

    return "bfloat16" if native_bfloat16() else "float32"


def pair_tokenizer(max_tokens: int):
    """The bundle's tokenizer for (question, sentence) pairs, cut longest first to `max_tokens` and padded:
    index/e5_pieces (the same ids as tokenizers, built in 0.25–0.4 s instead of about a second)."""
    from index.e5_pieces import bundle_tokenizer

    # longest_first cuts the sentence first (as only_second, with which it was trained) but also a question
    # longer than the budget, which only_second refuses with an error.
    return bundle_tokenizer().with_budget(max_tokens)


def sentence_order(z: np.ndarray, sentence_of) -> list[int]:
    """The best candidate of each sentence (by the answer model's logit z, -inf = may not answer), best first."""
    best: dict = {}
    for j, key in enumerate(sentence_of):
        if np.isfinite(z[j]) and (key not in best or z[j] > z[best[key]]):
            best[key] = j
    return sorted(best.values(), key=lambda j: -z[j])


def combine(z_top: np.ndarray, reader_scores: np.ndarray, weight: float) -> tuple[int, float, float]:
    """(chosen position, its combined score, margin over the next) for the answer model's logits of its
    best sentences and the reader's scores of them."""
    combined = np.asarray(z_top, float) + weight * np.asarray(reader_scores, float)
    best = int(np.argmax(combined))
    rest = np.delete(combined, best)
    margin = min(float(combined[best] - rest.max()), 5.0) if len(rest) else 5.0
    return best, float(combined[best]), margin


def base_weights():
    """(bundle folder, a tensor getter over its safetensors, their sha256)."""
    from safetensors import safe_open

    from index.e5_bundle import ensure_bundle

    folder, sha = ensure_bundle()
    handle = safe_open(str(folder / "model.safetensors"), framework="pt")
    return folder, handle.get_tensor, sha


def describe(weights: Path | str | None = None, backend: str = "auto") -> dict:
    """What a report says of the reader: its recipe, precision, backend and training run (the record alone)."""
    record = json.loads(Path(weights or WEIGHTS_PATH).with_suffix(".json").read_text(encoding="utf-8"))
    keep = ("recipe", "layers", "trained_layers", "top_sentences", "weight", "base_sha256")
    backend = resolve_backend(backend)
    return {**{k: record.get(k) for k in keep}, "precision": machine_precision() if backend == "torch" else "float32",
            "backend": backend, "git_sha": record.get("training", {}).get("git_sha"),
            "command": record.get("training", {}).get("command")}


BACKENDS = ("auto", "torch", "onnx")


def resolve_backend(backend: str) -> str:
    """"auto": torch where the CPU computes bfloat16 natively (the precision the confidence is fitted in),
    else ONNX Runtime in float32 (about twice torch's float32 speed on an AVX2 machine; no torch import)."""
    if backend not in BACKENDS:
        raise ReaderError(f"reader_backend phải là một trong {BACKENDS}, không phải {backend!r} (unknown reader backend).")
    if backend == "auto":
        return "torch" if machine_precision() == "bfloat16" else "onnx"
    return backend


def load_reader(weights: Path | str | None = None, backend: str = "auto") -> Reader:
    """The committed reader (or the one at `weights`, its record beside it), built once per process."""
    weights = Path(weights or WEIGHTS_PATH)
    backend = resolve_backend(backend)
    key = f"{weights.resolve()}:{backend}"
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = _build(weights, weights.with_suffix(".json"), backend)
        return _CACHE[key]


def _build(weights: Path, record_path: Path, backend: str) -> Reader:
    from app.answer_model import load_model
    from index.e5_bundle import ensure_bundle

    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReaderError(f"Không tìm thấy bộ đọc {weights}: hãy chạy `hoidap train-reader` (reader missing).") from None
    except (OSError, ValueError) as exc:
        raise ReaderError(f"Không đọc được bộ đọc {weights} ({exc}) (corrupt reader).") from exc
    if not isinstance(record, dict) or record.get("recipe") != RECIPE:
        raise ReaderError(f"Bộ đọc {weights} làm theo công thức {record.get('recipe') if isinstance(record, dict) else None!r}, "
                          f"mã hiện tại dùng {RECIPE!r}: hãy chạy lại `hoidap train-reader` (reader recipe mismatch).")
    folder, sha = ensure_bundle()
    if record.get("base_sha256") != sha:
        raise ReaderError(f"Bộ đọc {weights} được huấn luyện trên trọng số gốc khác ({str(record.get('base_sha256'))[:12]}… "
                          f"≠ {sha[:12]}…): hãy chạy lại `hoidap train-reader` (reader base mismatch).")
    if record.get("confidence", {}).get("features", [])[2:] != load_model().record["model"]["confidence_features"]:
        raise ReaderError(f"Bộ đọc {weights} đọc các đặc trưng độ tin cậy khác mô hình trả lời: hãy chạy lại "
                          "`hoidap train-reader` (reader/answer model mismatch).")
    tokenizer = pair_tokenizer(int(record["max_tokens"]))
    if backend == "onnx":
        return Reader(_onnx_net(weights, record, folder, sha), tokenizer, record, "float32", "onnx")
    net = _torch_net(weights, record)
    precision = machine_precision()
    if precision == "bfloat16":  # cast once, not at every call (autocast's own cast cost 3.5 ms of 21)
        import torch

        for module in net.layers.modules():
            if isinstance(module, torch.nn.Linear):
                module.to(torch.bfloat16)
    return Reader(net, tokenizer, record, precision, "torch")


def _torch_net(weights: Path, record: dict):
    """The network in torch, float32, eval mode: the bundle's first layers with the trained ones loaded."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from app.reader_net import from_bundle

    try:
        trained = load_file(str(weights))
    except FileNotFoundError:
        raise ReaderError(f"Không tìm thấy bộ đọc {weights}: hãy chạy `hoidap train-reader` (reader missing).") from None
    except (OSError, ValueError, SafetensorError) as exc:
        raise ReaderError(f"Không đọc được bộ đọc {weights} ({exc}) (corrupt reader).") from exc
    net = from_bundle(base_weights()[1], int(record["layers"]))
    try:
        unexpected = net.load_state_dict({k: v.float() for k, v in trained.items()}, strict=False).unexpected_keys
    except RuntimeError as exc:
        unexpected = [str(exc)]
    if unexpected or not any(k.startswith("head.") for k in trained):
        raise ReaderError(f"Bộ đọc {weights} không khớp mạng ({unexpected[:3]}) (corrupt reader).")
    return net.eval()


def _onnx_net(weights: Path, record: dict, folder: Path, base_sha: str):
    """The network on ONNX Runtime, exported into the model cache (through torch) the first time these
    weights are read; an export ONNX Runtime cannot open is made again once."""
    from app.reader_onnx import OnnxReaderNet, export, export_path
    from index.e5_onnx import WORDS, mapped_tensor
    from index.embed import sha256_file

    try:
        path = export_path(sha256_file(weights), base_sha)
    except FileNotFoundError:
        raise ReaderError(f"Không tìm thấy bộ đọc {weights}: hãy chạy `hoidap train-reader` (reader missing).") from None
    words = mapped_tensor(folder / "model.safetensors", WORDS)
    for attempt in range(2):
        if not path.is_file():
            print(f"Chuyển bộ đọc sang ONNX Runtime (một lần) → {path.parent}", file=sys.stderr)
            export(_torch_net(weights, record), path)
        try:
            return OnnxReaderNet(path, words, _cores())
        except Exception as exc:  # onnxruntime raises its own types for a damaged file
            if attempt:
                raise ReaderError(f"ONNX Runtime không mở được bộ đọc {path} ({exc}).") from exc
            path.unlink(missing_ok=True)
