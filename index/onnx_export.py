"""ONNX Runtime backends for the embedding model (fp32 "onnx", int8 "onnx-int8"), exported here once.

sentence-transformers' own backend="onnx" needs optimum-onnx, whose releases pin transformers < 4.58
while this project runs transformers 5; so torch.onnx exports the transformer, onnxruntime quantises
it, and the ONNX network replaces the torch one inside the SentenceTransformer (tokenising,
length-sorted batching, pooling and normalising stay sentence-transformers' own).
"""

from __future__ import annotations

import logging
import math
import os
import re
import sys
import uuid
import warnings
from pathlib import Path
from typing import Any

from index.embed import ModelUnavailable

BACKENDS = ("torch", "onnx", "onnx-int8")
EXPORT_VERSION = 2  # in the folder name: a changed export recipe exports afresh instead of reusing
FILES = {"onnx": "model.onnx", "onnx-int8": "model_qint8_per_channel.onnx"}
OPSET = 17
MICRO_BATCH = 2  # texts per ONNX Runtime run; see OnnxNetwork
INSTALL_HINT = "Cài ONNX Runtime: `pip install onnxruntime onnx` (the onnx backends need them)."


def physical_cores() -> int:
    """Cores this process may use, counting SMT siblings once and honouring a cgroup CPU quota."""
    cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else range(os.cpu_count() or 1)
    cores = set()
    for cpu in cpus:
        topology = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology")
        try:
            cores.add(((topology / "physical_package_id").read_text().strip(), (topology / "core_id").read_text().strip()))
        except OSError:
            cores.add(("cpu", str(cpu)))
    count = len(cores) or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if quota != "max":
            count = min(count, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return count


def model_cache_root() -> Path:
    """Where exported models live: $HOIDAP_MODEL_CACHE, else the user's cache folder (shared by data dirs)."""
    if os.environ.get("HOIDAP_MODEL_CACHE"):
        return Path(os.environ["HOIDAP_MODEL_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hoidap" / "models"


def export_folder(name: str, source_fingerprint: str, root: Path | None = None) -> Path:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", name.strip("/").split("/")[-1])[:60]
    return (root or model_cache_root()) / f"{slug}-{source_fingerprint[:16]}-onnx-v{EXPORT_VERSION}"


def use_onnx(model: Any, name: str, source_fingerprint: str, backend: str, root: Path | None = None) -> Path:
    """Swap `model`'s transformer for its ONNX export (made now if missing); returns the .onnx file used."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError as exc:
        raise ModelUnavailable(f"embed_backend = \"{backend}\" nhưng chưa cài onnxruntime. {INSTALL_HINT}") from exc
    folder = export_folder(name, source_fingerprint, root)
    path = ensure_exported(model, folder, backend)
    try:
        attach(model, path, physical_cores())
    except Exception as exc:
        raise ModelUnavailable(
            f"ONNX Runtime không mở được {path} ({type(exc).__name__}: {exc}). Xoá thư mục {folder} để xuất lại, "
            "hoặc đặt embed_backend = \"torch\"."
        ) from exc
    return path


def ensure_exported(model: Any, folder: Path, backend: str) -> Path:
    """The backend's .onnx file in folder, exporting (fp32) and quantising (int8) only what is missing."""
    if backend not in FILES:
        raise ModelUnavailable(f"embed_backend '{backend}' không hợp lệ: chọn một trong {', '.join(BACKENDS)}.")
    fp32, target = folder / FILES["onnx"], folder / FILES[backend]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not fp32.exists():
            print(f"Xuất mô hình nhúng sang ONNX (một lần) → {fp32}", file=sys.stderr)
            _atomic(fp32, lambda tmp: export_fp32(model, tmp))
        if not target.exists():
            print(f"Lượng tử hoá int8 (một lần) → {target}", file=sys.stderr)
            _atomic(target, lambda tmp: quantise_int8(fp32, tmp))
    except ModelUnavailable:
        raise
    except Exception as exc:
        raise ModelUnavailable(
            f"Không xuất được mô hình sang {backend} ({type(exc).__name__}: {exc}). "
            "Đặt embed_backend = \"torch\" để dùng mô hình gốc."
        ) from exc
    return target


def _atomic(path: Path, write) -> None:
    """Write through a private temporary name, so concurrent or interrupted exports never leave half a file."""
    tmp = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.onnx")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def export_fp32(model: Any, path: Path) -> None:
    """torch.onnx export of the transformer (token ids in, last hidden state out), batch and length dynamic."""
    import torch

    network = model[0].model
    sample = model.tokenizer(["xin chào", "mai sơn có bao nhiêu sản phẩm ocop"], padding=True, return_tensors="pt")
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]

    class Encoder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.network = network

        def forward(self, *tensors):
            return self.network(**dict(zip(names, tensors))).last_hidden_state

    axes = {n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]}
    network.eval()
    # Exported SDPA attention carries a NaN guard (IsNaN + Where over every batch x heads x tokens x tokens
    # score): 28 % of the int8 model's time here. Eager attention exports without it (int8 1.3-1.6x faster).
    attention = getattr(network.config, "_attn_implementation", None)
    _set_attention(network, "eager")
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the TorchScript exporter's tracer notes are expected here
            # dynamo=False: the TorchScript exporter takes seconds and its graph runs faster in onnxruntime.
            torch.onnx.export(Encoder().eval(), tuple(sample[n] for n in names), str(path), input_names=names,
                              output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=OPSET,
                              dynamo=False)
    finally:
        if attention:
            _set_attention(network, attention)


def _set_attention(network: Any, implementation: str) -> None:
    if hasattr(network, "set_attn_implementation"):
        network.set_attn_implementation(implementation)
    else:
        network.config._attn_implementation = implementation


def quantise_int8(source: Path, path: Path) -> None:
    """Dynamic int8 quantisation of the weights, per output channel (per-tensor loses too much: cosine 0.93)."""
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:
        raise ModelUnavailable(f"Lượng tử hoá int8 cần gói onnx. {INSTALL_HINT}") from exc
    logging.disable(logging.WARNING)  # it advises pre-processing on the root logger for every model
    try:
        quantize_dynamic(str(source), str(path), weight_type=QuantType.QInt8, per_channel=True)
    finally:
        logging.disable(logging.NOTSET)


def session_options():
    """One intra-op thread per run: the cores are used by running micro-batches side by side instead."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return options


def attach(model: Any, path: Path, workers: int) -> None:
    """Replace the transformer network of a loaded SentenceTransformer with an ONNX Runtime session."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), session_options(), providers=["CPUExecutionProvider"])
    transformer = model[0]
    transformer.model = _network_class()(session, transformer.model.config, workers)


def _network_class():
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np
    import torch

    class OnnxNetwork(torch.nn.Module):
        """Called by sentence-transformers like a transformers model: token tensors in, hidden states out.

        A batch is cut into micro-batches of MICRO_BATCH texts, each trimmed to its own longest text and
        run single-threaded, `workers` at a time on the one session (ONNX Runtime runs are thread-safe).
        Measured here on the sample chunks (int8, 2 cores): 32 texts as one run on 2 intra-op threads
        59-63 texts/s; micro-batches of 2 on 2 workers 89-94, because a micro-batch's activations stay
        in cache and no operator waits for a second thread."""

        def __init__(self, session, config, workers: int):
            super().__init__()
            self.session, self.config, self.workers = session, config, max(1, workers)
            self.input_names = [i.name for i in session.get_inputs()]
            # Threads start on first use only, so loading stays cheap and a query-only process starts none.
            self.pool = ThreadPoolExecutor(self.workers, thread_name_prefix="hoidap-onnx")

        def forward(self, input_ids, attention_mask=None, token_type_ids=None, **_ignored):
            if attention_mask is None:
                attention_mask = torch.ones_like(input_ids)
            if token_type_ids is None:
                token_type_ids = torch.zeros_like(input_ids)
            given = {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids}
            feed = {n: given[n].cpu().numpy().astype(np.int64) for n in self.input_names}
            mask = attention_mask.cpu().numpy()
            parts = [slice(i, i + MICRO_BATCH) for i in range(0, len(mask), MICRO_BATCH)]
            if len(parts) == 1 or self.workers == 1:
                outputs = [self._run(feed, mask, part) for part in parts]
            else:
                outputs = list(self.pool.map(lambda part: self._run(feed, mask, part), parts))
            hidden = np.zeros((*mask.shape, outputs[0].shape[-1]), dtype=np.float32)
            for part, out in zip(parts, outputs):
                hidden[part, : out.shape[1]] = out  # positions past a micro-batch's own length stay masked zeros
            return {"last_hidden_state": torch.from_numpy(hidden)}

        def _run(self, feed, mask, part):
            length = max(1, int(mask[part].sum(axis=1).max()))
            (out,) = self.session.run(["last_hidden_state"], {n: a[part, :length] for n, a in feed.items()})
            return out

    return OnnxNetwork
