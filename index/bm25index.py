"""Build a bm25s index from token ids with numpy, block by block: the same scores and files as bm25s.

bm25s.BM25.index walks every document and token in Python (about 9 minutes per million chunks per
field here); this computes the same Lucene BM25 matrix with vectorised numpy, hands it to a bm25s.BM25
object (saved, loaded memory-mapped and queried by bm25s itself), and is checked against bm25s.index.
"""

from __future__ import annotations

BLOCK_DOCS = 10_000  # documents per numpy block: bounds the temporary arrays (~100 MB)


def token_ids(docs, vocab: dict[str, int]):
    """Flat int32 token ids and int64 document offsets for token lists (vocab grows). `docs` may be
    a generator: only the ids are kept (4 bytes a token), never all documents' token strings at once."""
    from array import array

    import numpy as np

    ids, offsets = array("i"), array("q", [0])
    for doc in docs:
        ids.extend(vocab.setdefault(t, len(vocab)) for t in doc)
        offsets.append(len(ids))
    return np.frombuffer(ids, dtype=np.int32), np.frombuffer(offsets, dtype=np.int64)


def bm25_from_ids(ids, offsets, vocab: dict[str, int], k1: float = 1.5, b: float = 0.75):
    """A bm25s.BM25 (method lucene, bm25s's defaults) over documents ids[offsets[i]:offsets[i+1]].

    The index keeps `vocab` itself (with "" added, as bm25s does)."""
    import bm25s
    import numpy as np

    n_docs, n_vocab = len(offsets) - 1, len(vocab)
    lengths = np.diff(offsets)
    avg_len = float(lengths.mean()) if n_docs else 0.0
    docs_parts, terms_parts, tf_parts = [], [], []
    for start in range(0, n_docs, BLOCK_DOCS):
        stop = min(n_docs, start + BLOCK_DOCS)
        block = ids[offsets[start]:offsets[stop]].astype(np.int64)
        local = np.repeat(np.arange(stop - start, dtype=np.int64), lengths[start:stop])
        keys, counts = np.unique(local * n_vocab + block, return_counts=True)
        docs_parts.append((keys // n_vocab + start).astype(np.int32))
        terms_parts.append((keys % n_vocab).astype(np.int32))
        tf_parts.append(counts.astype(np.float32))
    docs = np.concatenate(docs_parts) if docs_parts else np.zeros(0, np.int32)
    terms = np.concatenate(terms_parts) if terms_parts else np.zeros(0, np.int32)
    tf = np.concatenate(tf_parts) if tf_parts else np.zeros(0, np.float32)
    del docs_parts, terms_parts, tf_parts
    df = np.bincount(terms, minlength=n_vocab).astype(np.float64)
    idf = np.log(1.0 + (n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
    doc_norm = k1 * ((1 - b) + b * lengths / avg_len) if n_docs else np.zeros(0)
    scores = np.empty(len(terms), dtype=np.float32)
    step = 1 << 20  # slices of 1M postings: float64 temporaries stay ~8 MB each
    for i in range(0, len(terms), step):
        part = slice(i, i + step)
        scores[part] = idf[terms[part]] * (tf[part] / (doc_norm[docs[part]] + tf[part]))
    del tf
    order = np.argsort(terms, kind="stable")  # column-major (CSC), documents ascending in a column
    indptr = np.zeros(n_vocab + 1, dtype=np.int64)
    np.cumsum(np.bincount(terms, minlength=n_vocab), out=indptr[1:])
    retriever = bm25s.BM25()
    retriever.scores = {"data": scores[order], "indices": docs[order], "indptr": indptr, "num_docs": n_docs}
    retriever.vocab_dict = vocab  # taken over, not copied (millions of entries at scale)
    if "" not in retriever.vocab_dict:  # as bm25s.index(create_empty_token=True) does
        retriever.vocab_dict[""] = n_vocab
    retriever.unique_token_ids_set = set(retriever.vocab_dict.values())
    retriever.nonoccurrence_array = None  # only BM25L/BM25+ use it
    return retriever


def bm25_from_tokens(docs):
    """bm25s index over token lists, a list or a generator (what build.py writes for each BM25 field)."""
    vocab: dict[str, int] = {}
    ids, offsets = token_ids(docs, vocab)
    return bm25_from_ids(ids, offsets, vocab)


# Above this many chunks, score with bm25s's numba backend when numba is installed (the `scale` extra):
# 1M synthetic chunks, gold questions: get_scores p50 28 → 11 ms. Below it, the JIT's ~1.4 s
# compilation at start-up would cost more than it saves.
NUMBA_MIN_DOCS = 200_000


def load_bm25(path, numba_min_docs: int = NUMBA_MIN_DOCS):
    """A saved bm25s index, memory-mapped; large ones score with the numba backend if available."""
    import bm25s

    retriever = bm25s.BM25.load(str(path), mmap=True, show_progress=False)
    if int(retriever.scores["num_docs"]) >= numba_min_docs:
        try:
            import numba  # noqa: F401
        except ImportError:
            return retriever
        retriever.activate_numba_scorer()
        if len(retriever.scores["indptr"]) > 1:
            # Compile now, not at the first question (bm25s's own warmup_numba_scorer reads past its
            # dummy arrays and can crash).
            retriever.get_scores_from_ids([0])
    return retriever
