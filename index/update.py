"""Incremental ingest: decide what changed since the current build and rebuild only if needed.

Unchanged files (same bytes, same normaliser) are skipped without loading the embedding model, so
re-ingesting an unchanged corpus costs a file scan. Changed and new files replace their old
versions; documents not named this time stay. `rebuild=True` starts from nothing. An index built
with MiniLM when it was the default keeps MiniLM (never two models in one index) and says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ingest.documents import Article, load_articles
from index.build import build_index, current_build, load_articles_of
from index.embed import MINILM_KEPT_NOTICE, keeps_minilm, settings_for_index
from index.manifest import IndexMismatch, Manifest
from index.settings import IndexSettings, changed_settings


@dataclass
class IngestResult:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    stats: dict = field(default_factory=dict)
    manifest: Manifest | None = None
    notice: str = ""  # said to the user after ingest (e.g. the index keeps its older default model)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated)


def update_index(data_dir: Path, paths: list[Path], settings: IndexSettings, load_embedder, weights_for,
                 rebuild: bool = False, progress: bool = True, exclude: dict[str, str] | None = None) -> IngestResult:
    """Bring the index under data_dir up to date with the files under paths.

    `load_embedder(settings)` returns the Embedder for the IndexSettings given (those of the index
    being extended: see index.embed.settings_for_index). `exclude` maps doc_ids that must stay out (removed by an administrator) to the reason shown."""
    report = load_articles(paths)
    result = IngestResult(skipped=report.skipped)
    if exclude:
        result.skipped += [(a.source, exclude[a.doc_id]) for a in report.articles if a.doc_id in exclude]
        report.articles = [a for a in report.articles if a.doc_id not in exclude]
    build = None if rebuild else current_build(data_dir)
    previous: dict[str, Article] = {}
    manifest = None
    if build is not None:
        manifest = Manifest.load(build)
        previous = {a.doc_id: a for a in load_articles_of(build)}
    for article in report.articles:
        old = previous.get(article.doc_id)
        if old is None:
            result.added.append(article.doc_id)
        elif old.content_hash != article.content_hash:
            result.updated.append(article.doc_id)
        else:
            result.unchanged.append(article.doc_id)
    same_settings = manifest is not None and not changed_settings(manifest.settings, settings)
    if manifest is not None and not same_settings and not rebuild:
        raise IndexMismatch(
            "Thiết lập chỉ mục đã thay đổi so với lần nạp trước (index settings changed). "
            "Chạy `hoidap ingest --rebuild` để dựng lại toàn bộ."
        )
    model_settings = settings
    if manifest is not None and keeps_minilm(manifest.embed_model, settings):
        model_settings = settings_for_index(manifest.embed_model, settings)
        result.notice = MINILM_KEPT_NOTICE
    if not result.changed and manifest is not None:
        result.manifest = manifest
        return result
    if not report.articles and not previous:
        return result
    merged = dict(previous)
    merged.update({a.doc_id: a for a in report.articles})
    embedder = load_embedder(model_settings)
    weights = weights_for(embedder.info.name, settings)
    result.manifest, result.stats = build_index(
        data_dir, list(merged.values()), settings, embedder, weights, progress=progress
    )
    return result


def remove_documents(data_dir: Path, doc_ids: set[str], settings: IndexSettings, load_embedder,
                     weights_for) -> Manifest:
    """A new build without doc_ids (the others' vectors come from the embedding cache)."""
    build = current_build(data_dir)
    if build is None:
        raise IndexMismatch("Chưa có chỉ mục để xoá bài viết (no index yet).")
    kept = [a for a in load_articles_of(build) if a.doc_id not in doc_ids]
    if not kept:
        raise IndexMismatch("Không thể xoá hết mọi bài viết: chỉ mục cần ít nhất một bài.")
    embedder = load_embedder(settings_for_index(Manifest.load(build).embed_model, settings))
    manifest, _ = build_index(data_dir, kept, settings, embedder,
                              weights_for(embedder.info.name, settings), progress=False)
    return manifest
