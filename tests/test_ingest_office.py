"""Word (.docx) and PDF articles: read with diacritics intact, answerable, and bad ones reported by name.

The files are built here with python-docx and fpdf2 (Vietnamese text in matplotlib's DejaVuSans).
"""

import json
import unicodedata
from pathlib import Path

import pytest

from ingest.readers import UnreadableFile, read_file
from tests.test_app_cli import hoidap

DOCX_TITLE = "Huyện Đồi Chè nâng cao chất lượng y tế cơ sở"
DOCX_FACT = "Đến nay, toàn huyện Đồi Chè có 36 trạm y tế xã đạt chuẩn quốc gia về y tế, tăng 9 trạm so với năm 2020."
PDF_TITLE = "Xã Suối Ngọc phát triển hợp tác xã kiểu mới"
PDF_FACT = "Năm 2023, xã Suối Ngọc có 47 hợp tác xã kiểu mới, thu hút hơn 1.200 thành viên tham gia sản xuất."
FILLER = ("Ủy ban nhân dân huyện đã chỉ đạo các phòng, ban chuyên môn phối hợp chặt chẽ với các xã, thị trấn "
          "triển khai đồng bộ các giải pháp, tạo chuyển biến rõ nét trong đời sống của Nhân dân.")


def make_docx(path: Path, *, core_title: str = "", heading: str = DOCX_TITLE) -> Path:
    import docx

    document = docx.Document()
    document.core_properties.title = core_title
    document.add_heading(heading, level=1)
    document.add_paragraph("Chủ nhật - 04/06/2023")
    document.add_paragraph(FILLER)
    document.add_paragraph(DOCX_FACT)
    table = document.add_table(rows=2, cols=2)
    for row, cells in zip(table.rows, [("Xã", "Số trạm đạt chuẩn"), ("Xã Bình Minh", "4")]):
        for cell, value in zip(row.cells, cells):
            cell.text = value
    document.add_paragraph(FILLER)
    document.save(str(path))
    return path


def make_pdf(path: Path, *, body: list[str] | None = None, user_password: str = "", owner_password: str = "") -> Path:
    import matplotlib
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title(PDF_TITLE)
    pdf.add_page()
    pdf.add_font("DejaVu", fname=str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"))
    pdf.set_font("DejaVu", size=12)
    for text in body if body is not None else [PDF_TITLE, FILLER, PDF_FACT, FILLER]:
        pdf.multi_cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")
    if body == []:
        pdf.rect(20, 20, 100, 60, style="F")  # a page with only a drawing, like a scan without OCR
    if user_password or owner_password:
        pdf.set_encryption(owner_password=owner_password or user_password, user_password=user_password or None)
    pdf.output(str(path))
    return path


def test_docx_text_title_and_table(tmp_path):
    raw = read_file(make_docx(tmp_path / "bai.docx"))
    assert raw.title == DOCX_TITLE
    assert DOCX_FACT in raw.text and "Xã Bình Minh | 4" in raw.text
    assert read_file(make_docx(tmp_path / "b.docx", core_title="Tiêu đề trong thuộc tính")).title == "Tiêu đề trong thuộc tính"


def test_pdf_text_and_title(tmp_path):
    raw = read_file(make_pdf(tmp_path / "bai.pdf"))
    assert raw.title == PDF_TITLE
    # Lines the PDF wrapped are joined again: the fact is one sentence, diacritics intact.
    assert PDF_FACT in unicodedata.normalize("NFC", raw.text)


def test_pdf_locked_only_against_editing_is_read(tmp_path):
    assert PDF_FACT in read_file(make_pdf(tmp_path / "owner.pdf", owner_password="chu-so-huu")).text


@pytest.mark.parametrize(("name", "build", "reason"), [
    ("mat-khau.pdf", lambda p: make_pdf(p, user_password="bi-mat"), "mật khẩu"),
    ("scan.pdf", lambda p: make_pdf(p, body=[]), "không có lớp chữ"),
    ("cut.pdf", lambda p: p.write_bytes(make_pdf(p).read_bytes()[:3000]), "PDF bị hỏng"),
    ("not-a-pdf.pdf", lambda p: p.write_text("chỉ là văn bản", encoding="utf-8"), "PDF bị hỏng"),
    ("broken.docx", lambda p: p.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4), ".docx bị hỏng"),
    ("old.docx", lambda p: p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512)), "mật khẩu hoặc là định dạng .doc"),
    ("empty.docx", lambda p: p.write_bytes(b""), "rỗng"),
])
def test_bad_office_files_have_a_vietnamese_reason(tmp_path, name, build, reason):
    path = tmp_path / name
    build(path)
    with pytest.raises(UnreadableFile, match=reason):
        read_file(path)


def test_ingest_folder_of_office_files_then_ask(tmp_path):
    folder = tmp_path / "van-ban"
    folder.mkdir()
    make_docx(folder / "y-te.docx")
    make_pdf(folder / "hop-tac-xa.pdf")
    (folder / "hong.docx").write_bytes(b"PK\x03\x04 not really a zip archive")
    (folder / "dang-do.pdf").write_bytes(make_pdf(tmp_path / "full.pdf").read_bytes()[:2500])
    data = tmp_path / "data"
    out = hoidap("ingest", folder, "--data-dir", data)
    assert out.returncode == 0, out.stderr
    assert "Thêm mới 2" in out.stdout and "bỏ qua 2 tệp" in out.stdout
    assert f"Bỏ qua {folder / 'hong.docx'}: tệp .docx bị hỏng" in out.stderr
    assert f"Bỏ qua {folder / 'dang-do.pdf'}: tệp PDF bị hỏng" in out.stderr

    for question, expected, doc_id, title in [
        ("Huyện Đồi Chè có bao nhiêu trạm y tế đạt chuẩn quốc gia?", "36 trạm y tế", "y-te", DOCX_TITLE),
        ("Xã Suối Ngọc có bao nhiêu hợp tác xã kiểu mới?", "47 hợp tác xã", "hop-tac-xa", PDF_TITLE),
    ]:
        answer = json.loads(hoidap("ask", "--json", question, "--data-dir", data, check=True).stdout)
        assert answer["found"] and expected in answer["answer"], answer["answer"]
        assert answer["sources"][0]["doc_id"] == doc_id and answer["sources"][0]["title"] == title
        assert unicodedata.is_normalized("NFC", answer["answer"] + answer["sources"][0]["text"])
