"""Document management for administrators: checked uploads, the article list, removal; live index.

Uploads are read by the normal ingest reader, stored under DATA_DIR/uploads/ and indexed
incrementally; the running QAService then swaps to the new build without a restart. Removed
doc_ids are recorded in DATA_DIR/removed_documents.json, so re-ingesting the samples (or any
folder) does not bring a removed article back; uploading it again does.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import unicodedata
import uuid
from pathlib import Path

UPLOADS = "uploads"
STAGING = ".upload-staging"  # outside uploads/, so a crash mid-upload never leaves a file ingest would find
REMOVED_FILE = "removed_documents.json"
# .docx and .pdf are read once ingest/readers.py supports them; until then the reader refuses them.
ALLOWED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".docx", ".pdf")
_MAGIC = {".pdf": (b"%PDF",), ".docx": (b"PK\x03\x04",)}
REMOVED_REASON = "đã bị quản trị viên xoá khỏi chỉ mục (tải lên lại qua trang web để thêm)"
_WRITE_LOCK = threading.Lock()  # one index build at a time in this process


class LibraryError(ValueError):
    """An upload or removal that cannot be done, with a Vietnamese message for the page."""


def removed_documents(data_dir: Path) -> dict[str, str]:
    """doc_id → reason, for the doc_ids an administrator removed (ingest leaves them out)."""
    path = Path(data_dir) / REMOVED_FILE
    try:
        return {doc_id: REMOVED_REASON for doc_id in json.loads(path.read_text(encoding="utf-8"))}
    except (OSError, ValueError):
        return {}


def _write_removed(data_dir: Path, doc_ids: set[str]) -> None:
    path = Path(data_dir) / REMOVED_FILE
    tmp = path.with_suffix(f".{uuid.uuid4().hex[:6]}.tmp")
    tmp.write_text(json.dumps(sorted(doc_ids), ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def safe_name(filename: str) -> str:
    """The upload's file name reduced to letters, digits, '-', '_' and one suffix (no paths)."""
    name = Path(unicodedata.normalize("NFC", str(filename or "")).replace("\\", "/")).name
    stem, suffix = os.path.splitext(name)
    stem = re.sub(r"[^\w\-]+", "_", stem).strip("_.")[:80]
    return f"{stem}{suffix.lower()}" if stem else ""


class Library:
    """The articles behind a QAService, and the administrator's changes to them."""

    def __init__(self, service):
        self.service = service
        self.settings = service.settings

    @property
    def uploads_dir(self) -> Path:
        return Path(self.settings.data_dir) / UPLOADS

    def origin(self, record: dict) -> str:
        source = Path(record.get("source") or "")
        if source.parent.resolve() == self.uploads_dir.resolve():
            return "tải lên"
        from app.config import SAMPLES_DIR

        return "bài mẫu" if source.parent.resolve() == SAMPLES_DIR.resolve() else "nạp từ dòng lệnh"

    def rows(self) -> list[list]:
        """[title, date, chunks, origin, doc_id] per article, in title order."""
        docs = self.service.documents
        rows = [[r.get("title") or "(không có tiêu đề)", r.get("date") or "—", r.get("chunks", 0), self.origin(r), d]
                for d, r in docs.items()]
        return sorted(rows, key=lambda row: row[0].casefold())

    def check_upload(self, filename: str, path: Path) -> str:
        """The stored name for an acceptable upload; LibraryError says why one is not."""
        name = safe_name(filename)
        suffix = Path(name).suffix
        if not name or suffix not in ALLOWED_SUFFIXES:
            raise LibraryError(f"Loại tệp không được nhận: “{Path(str(filename)).name}”. "
                               f"Chỉ nhận {', '.join(ALLOWED_SUFFIXES)}.")
        size = path.stat().st_size
        limit = self.settings.max_upload_mb * 1024 * 1024
        if size > limit:
            raise LibraryError(f"Tệp quá lớn ({size / 1024 / 1024:.1f} MB); giới hạn {self.settings.max_upload_mb:g} MB.")
        if size == 0:
            raise LibraryError("Tệp rỗng: không có nội dung để nạp.")
        if suffix in _MAGIC:
            with path.open("rb") as fh:
                if not fh.read(8).startswith(_MAGIC[suffix]):
                    raise LibraryError(f"Nội dung tệp không phải {suffix}: hãy kiểm tra lại tệp.")
        doc_id = Path(name).stem
        record = self.service.documents.get(doc_id)
        if record is not None and self.origin(record) != "tải lên":
            raise LibraryError(f"Đã có bài viết mã “{doc_id}” không phải do tải lên; hãy đổi tên tệp.")
        return name

    def add(self, filename: str, path: str | Path) -> str:
        """Check, read (normal ingest reader), store and index one uploaded file; returns the message."""
        from index.manifest import IndexMismatch
        from ingest.documents import load_article
        from ingest.readers import UnreadableFile

        path = Path(path)
        name = self.check_upload(filename, path)
        staging = Path(self.settings.data_dir) / STAGING / uuid.uuid4().hex[:8]
        staging.mkdir(parents=True)
        self.uploads_dir.mkdir(parents=True, exist_ok=True)
        try:
            shutil.copyfile(path, staging / name)
            try:  # read before anything is replaced: a bad file loses nothing
                article = load_article(staging / name, staging)
            except UnreadableFile as exc:
                raise LibraryError(f"Không đọc được “{name}”: {exc}") from None
            with _WRITE_LOCK:
                removed = removed_documents(self.settings.data_dir)
                if article.doc_id in removed:
                    _write_removed(self.settings.data_dir, set(removed) - {article.doc_id})
                os.replace(staging / name, self.uploads_dir / name)
                try:
                    result = self._ingest(self.uploads_dir / name)
                except IndexMismatch as exc:  # e.g. index settings changed since the last build
                    raise LibraryError(str(exc)) from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        if result.skipped:
            raise LibraryError(f"Không nạp được “{name}”: {result.skipped[0][1]}")
        verb = "Đã thêm" if result.added else ("Đã cập nhật" if result.updated else "Không đổi")
        chunks = self.service.documents.get(article.doc_id, {}).get("chunks", 0)
        return f"{verb} bài “{article.title}” (mã {article.doc_id}, {chunks} đoạn)."

    def _ingest(self, file: Path):
        from index.fusion import weights_for
        from index.update import update_index

        # The service's embedder builds too: no second copy of the model in memory.
        result = update_index(self.settings.data_dir, [file], self.settings.index,
                              lambda _settings: self.service.embedder, weights_for, progress=False, exclude=removed_documents(self.settings.data_dir))
        if result.changed:
            self.service.reload()
        return result

    def remove(self, doc_id: str) -> str:
        """Take one article out of the index (and delete its uploaded file); returns the message."""
        from index.manifest import IndexMismatch
        from index.fusion import weights_for
        from index.update import remove_documents

        record = self.service.documents.get(doc_id or "")
        if record is None:
            raise LibraryError("Hãy chọn một bài viết có trong danh sách để xoá.")
        with _WRITE_LOCK:
            try:
                remove_documents(self.settings.data_dir, {doc_id}, self.settings.index,
                                 lambda _settings: self.service.embedder,
                                 weights_for)
            except IndexMismatch as exc:
                raise LibraryError(str(exc)) from None
            _write_removed(self.settings.data_dir, set(removed_documents(self.settings.data_dir)) | {doc_id})
            if self.origin(record) == "tải lên":
                Path(record["source"]).unlink(missing_ok=True)
            self.service.reload()
        return f"Đã xoá bài “{record.get('title') or doc_id}” (mã {doc_id}) khỏi chỉ mục."
