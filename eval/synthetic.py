"""Synthetic corpora for `hoidap bench`: sizes no CPU could embed, built by the real build path.

Chunks are sentences drawn from the sample articles' vocabulary with random places and numbers;
random unit vectors of the model's dimension stand in for embeddings. Each size runs in its own
process (`python -m eval.synthetic SPEC`) so its peak memory is its own.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

from eval.bench_common import CHILD_TIMEOUT_S, QUERY_K, SYNTHETIC_DENSE_WEIGHT, SYNTHETIC_MODEL, SYNTHETIC_MODES, \
    folder_bytes, own_peak_rss_mb, pct

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)

# ---------------------------------------------------------------- the random-vector embedder


class RandomVectors:
    """Stands in for a SentenceTransformer: random unit vectors, and a token count of the real
    model's measured tokens per word × words + 2 (special tokens), so synthetic chunks hold as many
    words as real ones without running a tokenizer."""

    def __init__(self, dimension: int, seed: int, tokens_per_word: float):
        import numpy as np

        self._rng = np.random.default_rng(seed)
        self._dimension = dimension
        self._per_word = tokens_per_word

    def tokenizer(self, text: str, **_kwargs) -> dict:
        return {"input_ids": [0] * (math.ceil(self._per_word * len(text.split())) + 2)}

    def encode(self, texts, **_kwargs):
        import numpy as np

        vectors = self._rng.standard_normal((len(texts), self._dimension)).astype("float32")
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def make_random_embedder(dimension: int, max_seq_length: int, seed: int = 0, tokens_per_word: float = 1.0):
    """hoidap's Embedder (the llama-index adapter) over RandomVectors instead of a real model."""
    from index.embed import Embedder, ModelInfo

    info = ModelInfo(name=SYNTHETIC_MODEL, dimension=dimension, max_seq_length=max_seq_length, query_prompt="",
                     passage_prompt="", word_segmented=False, fingerprint=f"{SYNTHETIC_MODEL}-seed{seed}")
    return Embedder(RandomVectors(dimension, seed, tokens_per_word), info)


# ---------------------------------------------------------------- synthetic corpora


def sample_vocabulary(articles) -> dict:
    """Words of the sample articles in running order (so frequent words stay frequent) and their places."""
    words, titles, places = [], [], set()
    for article in articles:
        words.extend(_WORD.findall(article.text))
        titles.extend(_WORD.findall(article.title))
        places.update(p for p in article.places if len(p.split()) <= 4)
    names = sorted({w for w in words if w[:1].isupper() and not w.isupper()})
    return {"words": words, "title_words": titles or words, "places": sorted(places), "names": names}


def synthetic_articles(n_chunks: int, vocab: dict, chunk_limit: int, seed: int = 0,
                       tokens_per_word: float = 1.0) -> list:
    """n_chunks one-chunk articles of sentences drawn from the sample vocabulary, with places and numbers.

    Each article's text is sized to fill most of one chunk under the random embedder's token count,
    so the build makes exactly n_chunks chunks.
    """
    from ingest.documents import Article

    rng = random.Random(seed)
    words, title_words, names = vocab["words"], vocab["title_words"], vocab["names"] or ["Mai", "Sơn"]
    units = ("xã", "huyện", "bản", "thị trấn", "tỉnh")
    measures = ("ha", "%", "hộ", "tấn", "tỷ đồng", "người", "sản phẩm")
    articles = []
    for i in range(n_chunks):
        title = " ".join(rng.choice(title_words) for _ in range(rng.randint(5, 10)))
        title = title[:1].upper() + title[1:]
        budget = int(0.9 * (chunk_limit - (math.ceil(tokens_per_word * len(title.split())) + 2) - 1))
        sentences, used = [], 0
        places = [f"{rng.choice(units)} {rng.choice(names)} {rng.choice(names)}" for _ in range(2)]
        while True:
            start = rng.randrange(0, max(1, len(words) - 30))
            sentence = words[start:start + rng.randint(8, 22)]  # a run of real text keeps word order plausible
            rng.shuffle(sentence)
            if rng.random() < 0.5:
                sentence.insert(rng.randrange(len(sentence) + 1), rng.choice(places))
            if rng.random() < 0.6:
                number = f"{rng.randint(1, 99_999):,}".replace(",", ".")
                sentence.insert(rng.randrange(len(sentence) + 1), f"{number} {rng.choice(measures)}")
            text = " ".join(sentence)
            text = text[:1].upper() + text[1:] + "."
            cost = math.ceil(tokens_per_word * len(text.split())) + 3
            if sentences and used + cost > budget:
                break
            sentences.append(text)
            used += cost
        half = max(1, len(sentences) // 2)
        body = " ".join(sentences[:half]) + ("\n\n" + " ".join(sentences[half:]) if sentences[half:] else "")
        articles.append(Article(doc_id=f"synthetic/{i:06d}", title=title, text=body, source="synthetic",
                                places=places, content_hash=f"{seed}-{i}"))
    return articles


def run_synthetic(size: int, dimension: int, max_seq_length: int, settings: dict, vocab_path: str,
                  questions: list[str], rounds: int, work_dir: str, seed: int = 0, tokens_per_word: float = 1.0) -> dict:
    """Build and query one synthetic corpus (called in a child process); returns its measurements."""
    from index.build import build_index, current_build
    from index.fusion import FusionWeights
    from index.retrieve import open_index
    from index.settings import IndexSettings

    # Sentence vectors serve the answer stage, which the scale runs do not measure (at 1M chunks they
    # would be ~10M random vectors, 7.7 GB): retrieval is what these figures are about.
    index_settings = IndexSettings(**{**settings, "context_fields": tuple(settings["context_fields"]),
                                      "sentence_vectors": False})
    vocab = json.loads(Path(vocab_path).read_text(encoding="utf-8"))
    data_dir = Path(work_dir)
    embedder = make_random_embedder(dimension, max_seq_length, seed, tokens_per_word)
    t0 = time.perf_counter()
    articles = synthetic_articles(size, vocab, min(index_settings.chunk_tokens, max_seq_length), seed,
                                  tokens_per_word)
    generate_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    weights = FusionWeights(index_settings.fusion, SYNTHETIC_DENSE_WEIGHT, 0.0)
    manifest, stats = build_index(data_dir, articles, index_settings, embedder, weights, progress=False)
    build_s = time.perf_counter() - t0
    del articles
    build = current_build(data_dir)
    t0 = time.perf_counter()
    index = open_index(data_dir, embedder, index_settings)
    open_s = time.perf_counter() - t0
    latency, query_s = measure_latency(index, questions, rounds)
    return {
        "size": size, "chunks": manifest.n_chunks, "documents": len(manifest.documents),
        "generate_s": round(generate_s, 2), "build_s": round(build_s, 2),
        "build_chunks_per_s": round(manifest.n_chunks / build_s, 1) if build_s else None,
        "open_s": round(open_s, 2), "query_s": round(query_s, 2),
        "index_bytes": folder_bytes(build), "index_mb": round(folder_bytes(build) / 1024**2, 2),
        "embedding_cache_mb": round(folder_bytes(data_dir / "cache") / 1024**2, 2),
        "parts_mb": {part.name: round(folder_bytes(part) / 1024**2, 2) if part.is_dir() else round(part.stat().st_size / 1024**2, 2)
                     for part in sorted(build.iterdir())},
        "query_latency_ms": latency, "peak_rss_mb": own_peak_rss_mb(), "build_stats": stats,
    }


def measure_latency(index, questions: list[str], rounds: int) -> tuple[dict, float]:
    """Retrieval latency per mode over the questions (one warm-up each); returns (percentiles, seconds)."""
    latency = {}
    t_queries = time.perf_counter()
    for mode in SYNTHETIC_MODES:
        index.retrieve(questions[0], k=QUERY_K, mode=mode)  # warm-up
        times = []
        for _ in range(rounds):
            for question in questions:
                t = time.perf_counter()
                index.retrieve(question, k=QUERY_K, mode=mode)
                times.append((time.perf_counter() - t) * 1000)
        latency[mode] = pct(times)
    return latency, time.perf_counter() - t_queries


def projected_seconds(previous: dict | None, size: int) -> float | None:
    """Time a synthetic size should take, scaled linearly from the previous size (fixed costs kept)."""
    if not previous or not previous.get("chunks"):
        return None
    scaled = sum(previous.get(key, 0.0) for key in ("generate_s", "build_s", "open_s", "query_s"))
    fixed = max(0.0, previous.get("wall_s", scaled) - scaled)
    return round(fixed + scaled * size / previous["chunks"], 1)


def _child_main(argv: list[str]) -> int:
    """Entry of the per-size child process: JSON arguments in, JSON measurements to a file."""
    spec = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    if spec.get("task") == "scale-build":
        from eval.scale import build_scale as task
    elif spec.get("task") == "scale-query":
        from eval.scale import query_scale as task
    else:
        task = run_synthetic
    result = task(**spec["kwargs"])
    Path(spec["result"]).write_text(json.dumps(result), encoding="utf-8")
    return 0


def synthetic_in_child(work: Path, task: str = "build-path", tag: str = "", **kwargs) -> dict:
    """Run one measurement in a fresh process (its peak memory is its own); task names what to run."""
    name = f"{task}-{kwargs.get('size', tag)}"
    spec_path, result_path = work / f"spec-{name}.json", work / f"result-{name}.json"
    spec_path.write_text(json.dumps({"task": task, "kwargs": kwargs, "result": str(result_path)}), encoding="utf-8")
    env = dict(os.environ, TOKENIZERS_PARALLELISM="false")
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "eval.synthetic", str(spec_path)], env=env, capture_output=True,
                          text=True, timeout=CHILD_TIMEOUT_S, cwd=str(Path(__file__).resolve().parent.parent))
    if proc.returncode != 0 or not result_path.is_file():
        tail = (proc.stderr or "").strip().splitlines()[-3:]
        return {"size": kwargs.get("size", tag), "error": f"child exited {proc.returncode}: {' | '.join(tail)}"}
    result = json.loads(result_path.read_text(encoding="utf-8"))
    result["wall_s"] = round(time.perf_counter() - started, 2)
    return result


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))
