"""Tiny sentence-transformers models built on the spot (random weights), standing in for hub models.

Same kinds as the real ones: a BERT/e5-style model (WordPiece) and a PhoBERT-style model (RoBERTa
with PhobertTokenizer's BPE files), so the code paths that load and feed them run for real offline.
"""

from pathlib import Path

SYLLABLES = (
    "mai sơn có bao nhiêu sản phẩm ocop xã huyện tà tổng sông mã hợp tác đạt chuẩn quốc gia "
    "trường học năm nông thôn mới đảng viên tỷ lệ ha query passage : ?"
).split()


def build_bert_model(folder: Path, max_seq_length: int = 128) -> Path:
    """A 1-layer BERT sentence-transformer with a WordPiece vocabulary of Vietnamese syllables."""
    from sentence_transformers import SentenceTransformer, models
    from transformers import BertConfig, BertModel, BertTokenizer

    raw = folder / "raw"
    raw.mkdir(parents=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *dict.fromkeys(SYLLABLES), *"abcdefghijklmnopqrstuvwxyz0123456789"]
    (raw / "vocab.txt").write_text("\n".join(vocab), encoding="utf-8")
    tokenizer = BertTokenizer(str(raw / "vocab.txt"), do_lower_case=True, strip_accents=False)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=max_seq_length)
    BertModel(config).save_pretrained(raw)
    tokenizer.save_pretrained(raw)
    transformer = models.Transformer(str(raw), max_seq_length=max_seq_length)
    model = SentenceTransformer(modules=[transformer, models.Pooling(32, "mean")], device="cpu")
    out = folder / "model"
    model.save(str(out))
    return out


def build_phobert_model(folder: Path) -> Path:
    """A 1-layer RoBERTa with PhobertTokenizer files: a model that wants word-segmented input."""
    from sentence_transformers import SentenceTransformer, models
    from transformers import PhobertTokenizer, RobertaConfig, RobertaModel

    raw = folder / "raw"
    raw.mkdir(parents=True)
    words = [*dict.fromkeys(SYLLABLES), "sản_phẩm", "hợp_tác", "nông_thôn", "đảng_viên"]
    (raw / "vocab.txt").write_text("\n".join(f"{w} 1" for w in words), encoding="utf-8")
    (raw / "bpe.codes").write_text("s ả 1\n", encoding="utf-8")
    tokenizer = PhobertTokenizer(str(raw / "vocab.txt"), str(raw / "bpe.codes"))
    config = RobertaConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                           intermediate_size=64, max_position_embeddings=258, pad_token_id=tokenizer.pad_token_id)
    RobertaModel(config).save_pretrained(raw)
    tokenizer.save_pretrained(raw)
    transformer = models.Transformer(str(raw), max_seq_length=256)
    model = SentenceTransformer(modules=[transformer, models.Pooling(32, "mean")], device="cpu")
    out = folder / "vietnamese-bi-encoder-tiny"
    model.save(str(out))
    return out


def build_cross_encoder(folder: Path) -> Path:
    """A 1-layer BERT cross-encoder (one relevance logit per pair), like the hub's rerankers."""
    from sentence_transformers import CrossEncoder
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    raw = folder / "raw-ce"
    raw.mkdir(parents=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *dict.fromkeys(SYLLABLES), *"abcdefghijklmnopqrstuvwxyz0123456789"]
    (raw / "vocab.txt").write_text("\n".join(vocab), encoding="utf-8")
    BertTokenizer(str(raw / "vocab.txt"), do_lower_case=True, strip_accents=False).save_pretrained(raw)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=256, num_labels=1)
    BertForSequenceClassification(config).save_pretrained(raw)
    out = folder / "reranker-tiny"
    CrossEncoder(str(raw), device="cpu").save(str(out))
    return out
