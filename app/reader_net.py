"""The reader's network: multilingual-e5-small's first layers reading a question and a sentence as one
sequence, mean-pooled and scored by a linear head.

Written out in torch (XLM-R's layer arithmetic, dropout where XLM-R has it) instead of built through
transformers: XLMRobertaModel takes 3 s to build, this a fraction; tests/test_app_reader.py holds it
equal to transformers' on the real weights. Only app/reader.py and eval/train_reader.py import it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

HIDDEN, HEADS, FFN, MAX_POSITIONS = 384, 12, 1536, 514
EPS = 1e-12  # e5-small's layer_norm_eps
PAD_ID = 1  # XLM-R: positions count from PAD_ID + 1
DROPOUT = 0.1


class Layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.query, self.key, self.value, self.out = (nn.Linear(HIDDEN, HIDDEN) for _ in range(4))
        self.norm1, self.norm2 = nn.LayerNorm(HIDDEN, eps=EPS), nn.LayerNorm(HIDDEN, eps=EPS)
        self.up, self.down = nn.Linear(HIDDEN, FFN), nn.Linear(FFN, HIDDEN)

    def forward(self, x: torch.Tensor, mask_bias: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        p = DROPOUT if self.training else 0.0

        def heads(linear):
            return linear(x).view(b, t, HEADS, HIDDEN // HEADS).transpose(1, 2)

        att = F.scaled_dot_product_attention(heads(self.query), heads(self.key), heads(self.value),
                                             attn_mask=mask_bias, dropout_p=p)
        x = self.norm1(x + F.dropout(self.out(att.transpose(1, 2).reshape(b, t, HIDDEN)), p, self.training))
        return self.norm2(x + F.dropout(self.down(F.gelu(self.up(x))), p, self.training))


class PairReader(nn.Module):
    """Token ids of "query: q" + "passage: s" (XLM-R pair format) → one score per pair."""

    def __init__(self, vocab: int, layers: int):
        super().__init__()
        # float16 like the bundle: 250k rows × 384 are 190 MB; looked-up rows are cast to float32.
        self.register_buffer("words", torch.zeros(vocab, HIDDEN, dtype=torch.float16))
        self.positions = nn.Embedding(MAX_POSITIONS, HIDDEN)
        self.token_type = nn.Parameter(torch.zeros(HIDDEN))
        self.norm = nn.LayerNorm(HIDDEN, eps=EPS)
        self.layers = nn.ModuleList(Layer() for _ in range(layers))
        self.head = nn.Linear(HIDDEN, 1)
        nn.init.zeros_(self.head.weight)  # starts at "no opinion": every sentence scores 0
        nn.init.zeros_(self.head.bias)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.score(F.embedding(ids, self.words).float(), mask)

    def score(self, words: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The scores from the looked-up word vectors (float32): what app/reader_onnx.py exports."""
        positions = torch.cumsum(mask, 1) * mask + PAD_ID
        x = words + self.positions(positions) + self.token_type
        x = F.dropout(self.norm(x), DROPOUT if self.training else 0.0, self.training)
        bias = torch.zeros(mask.shape, dtype=x.dtype).masked_fill(mask == 0, float("-inf"))[:, None, None, :]
        for layer in self.layers:
            x = layer(x, bias)
        weights = mask.unsqueeze(-1).to(x.dtype)
        return self.head((x * weights).sum(1) / weights.sum(1)).squeeze(-1)


_LAYER_NAMES = {
    "attention.self.query": "query", "attention.self.key": "key", "attention.self.value": "value",
    "attention.output.dense": "out", "attention.output.LayerNorm": "norm1",
    "intermediate.dense": "up", "output.dense": "down", "output.LayerNorm": "norm2",
}


def from_bundle(tensors, layers: int) -> PairReader:
    """The network with the bundle's (XLM-R named) weights for its embeddings and first `layers` layers."""
    net = PairReader(tensors("embeddings.word_embeddings.weight").shape[0], layers)
    own = {"words": tensors("embeddings.word_embeddings.weight").half(),
           "positions.weight": tensors("embeddings.position_embeddings.weight"),
           "token_type": tensors("embeddings.token_type_embeddings.weight")[0],
           "norm.weight": tensors("embeddings.LayerNorm.weight"), "norm.bias": tensors("embeddings.LayerNorm.bias")}
    for n in range(layers):
        for theirs, mine in _LAYER_NAMES.items():
            for part in ("weight", "bias"):
                own[f"layers.{n}.{mine}.{part}"] = tensors(f"encoder.layer.{n}.{theirs}.{part}")
    missing, _ = net.load_state_dict({k: v.float() if k != "words" else v for k, v in own.items()}, strict=False)
    assert set(missing) == {"head.weight", "head.bias"}, missing
    return net


def trained_part(net: PairReader, trained_layers: int) -> dict[str, torch.Tensor]:
    """What training changes: the last `trained_layers` layers and the head (the artefact)."""
    first = len(net.layers) - trained_layers
    return {k: v.detach().clone() for k, v in net.state_dict().items()
            if k.startswith("head.") or (k.startswith("layers.") and int(k.split(".")[1]) >= first)}
