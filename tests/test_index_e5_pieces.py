"""The reader's plain-Python tokenizer (index/e5_pieces.py) gives the ids of the bundle's `tokenizers`
tokenizer: on the samples, on the tokenizer's edge cases, on texts of the shared sets when they are
beside the repository, with special tokens written in the text, and when a pair is cut to its budget."""

import json

import pytest

from tests.conftest import REPO
from tests.test_index_e5 import EDGE_CASES, sample_texts

BENCHMARKS = REPO.parent / "shared" / "benchmarks"


@pytest.fixture(scope="module")
def both(e5_torch):
    """(the bundle's tokenizers.Tokenizer, the PieceTokenizer of the same .bin), both pair-cut to 48."""
    from pathlib import Path

    from tokenizers import Tokenizer

    from index.e5_pieces import PieceTokenizer

    theirs = Tokenizer.from_file(str(Path(e5_torch.model[0].model.name_or_path) / "tokenizer.json"))
    theirs.enable_truncation(max_length=48, strategy="longest_first")
    theirs.enable_padding(pad_id=1, pad_token="<pad>")
    return theirs, PieceTokenizer.from_bin(48)


def shared_texts(limit: int = 3000) -> list[str]:
    texts = []
    zalo = BENCHMARKS / "zalo-qa" / "zalo_qa_squad2.json"
    if zalo.is_file():
        for article in json.loads(zalo.read_text(encoding="utf-8"))["data"]:
            for paragraph in article["paragraphs"]:
                texts += paragraph["context"].split(". ") + [q["question"] for q in paragraph["qas"]]
    for name in ("vinewsqa-dev", "alqac-legal"):
        corpus = BENCHMARKS / name / "corpus.jsonl"
        if corpus.is_file():
            with corpus.open(encoding="utf-8") as lines:
                for line, _ in zip(lines, range(200)):
                    texts += json.loads(line)["text"].split(". ")[:10]
    return texts[:limit]


def test_single_texts_have_the_same_ids(both):
    theirs, ours = both
    texts = sample_texts() + EDGE_CASES + shared_texts() + [
        "<s> đặc biệt </s> và <unk>x<mask>", "\x00\x01 điều khiển", "a" * 300, "陳濟昌 Trần Tế Xương",
        "𓀀𓀁𓀂 và ꙮꙮ x𐌰𐌱𐌲y"]  # runs of characters no piece holds: one <unk> each
    theirs.no_truncation()
    theirs.no_padding()
    expected = [e.ids[1:-1] for e in theirs.encode_batch(texts)]  # without <s> … </s>
    theirs.enable_truncation(max_length=48, strategy="longest_first")
    theirs.enable_padding(pad_id=1, pad_token="<pad>")
    differing = [t for t, ids in zip(texts, expected) if ours.tokenize(t) != ids]
    assert len(texts) > 600 and not differing, differing[:5]


def test_pairs_are_cut_and_padded_the_same(both):
    theirs, ours = both
    short, long = "Mai Sơn có bao nhiêu sản phẩm OCOP?", "Huyện Mai Sơn có 20 sản phẩm OCOP được công nhận. " * 8
    pairs = [("query: " + a, "passage: " + b) for a, b in
             ((short, long), (long, short), (long, long), (short, short), ("", long), (short, ""))]
    for mine, expected in zip(ours.encode_batch(pairs), theirs.encode_batch(pairs)):
        assert (mine.ids, mine.attention_mask) == (expected.ids, expected.attention_mask)
    assert max(len(e.ids) for e in ours.encode_batch(pairs)) == 48
