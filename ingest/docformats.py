"""Text out of office formats: Word .docx (python-docx) and .pdf with a text layer (pypdf).

Called by readers.read_file; returns the same RawText as the plain-text readers. Every failure of
the libraries (corrupt, encrypted, scanned without text) becomes UnreadableFile with a Vietnamese
reason, so one bad file never stops an ingest.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from ingest.readers import RawText, UnreadableFile

_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # old .doc files and password-protected Office files
_SENTENCE_END = re.compile(r"[.!?:;…\"”’)\]]$")
_FILE_NAME_TITLE = re.compile(r"(^microsoft (word|powerpoint) - )|(\.(docx?|pdf|odt|rtf)$)|^untitled$", re.IGNORECASE)
MIN_PDF_LETTERS = 20  # fewer letters than this in the whole file: no usable text layer


def read_docx(path: Path) -> RawText:
    """Paragraphs and table rows in document order; the title from core properties or the first heading."""
    with path.open("rb") as handle:
        if handle.read(4) == _OLE_MAGIC:
            raise UnreadableFile("tệp Word có mật khẩu hoặc là định dạng .doc cũ; hãy lưu lại thành .docx "
                                 "không mật khẩu (encrypted or legacy Word file)")
    import docx
    from docx.table import Table

    try:
        document = docx.Document(str(path))
        lines, heading = [], ""
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                lines.extend(_table_rows(block))
                continue
            text = block.text.strip()
            style = (block.style.name if block.style is not None else "") or ""
            if text and not heading and style.lower().startswith(("title", "heading")):
                heading = text
            lines.append(text)
        declared = (document.core_properties.title or "").strip()
    except Exception as exc:  # zip, XML and python-docx errors all mean "not a readable .docx"
        raise UnreadableFile(f"tệp .docx bị hỏng hoặc không phải tệp Word ({type(exc).__name__}: {exc}) "
                             "(corrupt .docx)") from exc
    text = "\n".join(lines)
    if not text.strip():
        raise UnreadableFile("tệp .docx không có chữ (empty .docx)")
    title = declared if declared and not _FILE_NAME_TITLE.search(declared) else heading
    return RawText(text, "docx", title=title)


def _table_rows(table) -> list[str]:
    rows = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            value = " ".join(cell.text.split())
            if value and (not cells or cells[-1] != value):  # merged cells repeat their text
                cells.append(value)
        if cells:
            rows.append(" | ".join(cells))
    return rows


def read_pdf(path: Path) -> RawText:
    """The text layer page by page, wrapped lines joined back into paragraphs; title from metadata."""
    from pypdf import PdfReader

    # pypdf logs each repair it attempts on a damaged file; the one-line reason below is what users need.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted and not _open_without_password(reader):
            raise UnreadableFile("tệp PDF được bảo vệ bằng mật khẩu; hãy gỡ mật khẩu rồi nạp lại (encrypted PDF)")
        pages = [page.extract_text() or "" for page in reader.pages]
        declared = str((reader.metadata.title if reader.metadata else "") or "").strip()
    except UnreadableFile:
        raise
    except Exception as exc:  # pypdf raises many kinds on damaged files
        raise UnreadableFile(f"tệp PDF bị hỏng hoặc không đầy đủ ({type(exc).__name__}: {exc}) (corrupt PDF)") from exc
    if sum(ch.isalpha() for page in pages for ch in page) < MIN_PDF_LETTERS:
        raise UnreadableFile("tệp PDF không có lớp chữ (có thể là bản scan ảnh); cần nhận dạng chữ (OCR) trước "
                             "khi nạp (PDF without a text layer)")
    text = "\n\n".join(_paragraphs(page) for page in pages if page.strip())
    title = declared if declared and not _FILE_NAME_TITLE.search(declared) else ""
    return RawText(text, "pdf", title=title)


def _open_without_password(reader) -> bool:
    """Files locked only against editing open with the empty password, as every viewer does."""
    try:
        return bool(reader.decrypt(""))
    except Exception:  # noqa: BLE001 - e.g. AES without the cryptography package: treat as locked
        return False


def _paragraphs(page: str) -> str:
    """Join lines the PDF wrapped: a line that doesn't end a sentence continues when the next starts
    in lower case or the line runs (nearly) the full width, as wrapped body text does."""
    lines = [" ".join(line.split()) for line in page.splitlines()]
    lines = [line for line in lines if line]
    width = max((len(line) for line in lines), default=0)
    out: list[str] = []
    for line in lines:
        if out and not _SENTENCE_END.search(out[-1]) and (line[0].islower() or len(out[-1]) >= 0.8 * width):
            out[-1] += " " + line
        else:
            out.append(line)
    return "\n".join(out)
