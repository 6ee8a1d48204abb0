"""The corpus an eval answers over, and its cached index under DATA_DIR/eval-cache/<hash>/.

A dataset's own passages are read exactly as the same text in a .txt file would be (title on the
first line), so `hoidap eval` and `hoidap ingest` + `ask --batch` index the same thing; `jsonl`
datasets are answered over --corpus (default: the sample articles).
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

EVAL_CACHE = "eval-cache"
CACHE_FORMAT = "eval-index-v3"  # bump when what goes into a cached eval index changes


class UsageError(Exception):
    """Bad input: reported on one line, exit code 2."""


@dataclass
class CorpusIndex:
    """The eval's own index: where it lives and whether this run built it."""

    folder: Path
    build_id: str
    reused: bool
    stats: dict = field(default_factory=dict)


def passage_file_text(title: str, text: str) -> str:
    """A dataset passage as the .txt file a user would write for it: the title on the first line."""
    return f"{title.strip()}\n{text}" if title.strip() else text


def articles_from_passages(passages, source: str) -> list:
    """Dataset passages as Articles, each read exactly as its .txt file (passage_file_text) is by
    `hoidap ingest` (ingest.documents.article_from_text), so eval ranks what users' files get."""
    from ingest.documents import PARSER_VERSION, article_from_text
    from ingest.readers import UnreadableFile
    from ingest.textnorm import VERSION

    articles, seen, empty = [], set(), 0
    for passage in passages:
        if passage.id in seen:
            continue
        seen.add(passage.id)
        text = passage_file_text(passage.title, passage.text)
        digest = hashlib.sha256(f"{text}\0{VERSION}/{PARSER_VERSION}".encode("utf-8")).hexdigest()[:16]
        try:
            articles.append(article_from_text(passage.id, text, source, content_hash=digest))
        except UnreadableFile:
            empty += 1  # ingest would skip its file too
    if empty:
        print(f"hoidap eval: {empty} passage(s) have no text once read as files; left out as ingest would",
              file=sys.stderr)
    return articles


def load_corpus(dataset, corpus_arg: str | None) -> tuple[list, dict]:
    """(articles, description) for the dataset: its own passages, or the --corpus folder for jsonl."""
    from app.config import SAMPLES_DIR
    from ingest.documents import load_articles

    if dataset.passages is not None:
        if corpus_arg:
            print(f"hoidap eval: --corpus is ignored: {dataset.format} datasets bring their own passages",
                  file=sys.stderr)
        articles = articles_from_passages(dataset.passages, dataset.path)
        if not articles:
            raise UsageError(f"{dataset.path}: the dataset has no passage with text")
        return articles, {"kind": "dataset passages", "path": dataset.path, "n_passages": len(articles)}
    path = Path(corpus_arg) if corpus_arg else SAMPLES_DIR
    if not path.exists():
        raise UsageError(f"--corpus {path}: no such file or folder")
    report = load_articles([path])
    for skipped, reason in report.skipped:
        print(f"hoidap eval: skipped {skipped}: {reason}", file=sys.stderr)
    if not report.articles:
        raise UsageError(f"--corpus {path}: no readable article")
    return report.articles, {"kind": "articles", "path": str(path), "n_articles": len(report.articles)}


def corpus_hash(articles) -> str:
    """Hash of what is indexed (ids, titles, cleaned text, metadata), not of file paths."""
    digest = hashlib.sha256()
    for article in sorted(articles, key=lambda a: a.doc_id):
        record = [article.doc_id, article.title, article.text, article.date, article.author, article.places]
        digest.update(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n")
    return digest.hexdigest()


def cache_key(*parts) -> str:
    blob = json.dumps(parts, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:20]


def _share_embedding_cache(folder: Path, data_dir: Path) -> None:
    """folder/cache → DATA_DIR/cache, so build_index's embedding cache is the data dir's shared one."""
    shared = (data_dir / "cache").resolve()
    shared.mkdir(parents=True, exist_ok=True)
    link = folder / "cache"
    if link.is_symlink() or link.exists():
        return
    try:
        link.symlink_to(shared, target_is_directory=True)
    except OSError:
        pass  # no symlinks here: build_index falls back to a private cache inside the folder


def index_key(settings, info, chash: str) -> str:
    """The eval index's cache key: the corpus, every build setting but those that change how fast vectors
    are made and not which (NO_REBUILD: e5_runtime, bulk_embed_from), the model, tokenizer and weights."""
    from index import tokenize
    from index.build import chunking_record
    from index.fusion import weights_for
    from index.settings import NO_REBUILD
    from ingest import textnorm

    weights = weights_for(info.name, settings)  # resolved: re-fitted weights rebuild
    built = {k: v for k, v in settings.to_dict().items() if k not in NO_REBUILD}
    return cache_key(CACHE_FORMAT, chash, built, info.to_dict(), tokenize.NAME, textnorm.VERSION,
                     chunking_record(settings, info.max_seq_length), weights.to_dict())


def ensure_index(data_dir: Path, articles, settings, embedder, chash: str) -> CorpusIndex:
    """The eval index for this corpus, settings and model: reused when cached, else built."""
    from index.build import build_index, current_build
    from index.fusion import weights_for

    key = index_key(settings, embedder.info, chash)
    folder = data_dir / EVAL_CACHE / key
    folder.mkdir(parents=True, exist_ok=True)
    build = current_build(folder)
    if build is not None:
        return CorpusIndex(folder, build.name, reused=True)
    _share_embedding_cache(folder, data_dir)
    print(f"hoidap eval: building the eval index in {folder} ({len(articles)} documents)…", file=sys.stderr)
    _, stats = build_index(folder, articles, settings, embedder, weights_for(embedder.info.name, settings), progress=True)
    return CorpusIndex(folder, current_build(folder).name, reused=False, stats=stats)


