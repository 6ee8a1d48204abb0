"""Document management: checked uploads through the ingest reader, removal, the live index swap."""

import pytest

from app.cli import run_ingest
from app.config import SAMPLES_DIR
from app.library import Library, LibraryError, removed_documents
from tests.webfixtures import copied_service

NEW_ARTICLE = ("Xã Bản Thử Mới hoàn thành đường giao thông nông thôn\n\n"
               "Ngày 12/03/2024, xã Bản Thử Mới đã hoàn thành 37 km đường giao thông nông thôn được bê tông hoá.\n")
NEW_QUESTION = "Xã Bản Thử Mới đã hoàn thành bao nhiêu km đường giao thông nông thôn?"
OCOP = "Mai Sơn có bao nhiêu sản phẩm OCOP?"
MAI_SON = "001_ad2f1263791dfcf2"


@pytest.fixture(scope="module")
def library(sample_settings, tmp_path_factory):
    service, _ = copied_service(sample_settings, tmp_path_factory.mktemp("library"), max_upload_mb=0.05)
    return Library(service)


def write(folder, name, content):
    path = folder / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def test_upload_is_answered_without_restart_and_listed(library, tmp_path):
    service = library.service
    before = service.n_documents
    assert service.ask(NEW_QUESTION)["found"] is False
    message = library.add("ban thu moi.txt", write(tmp_path, "x.txt", NEW_ARTICLE))
    assert message.startswith("Đã thêm") and "ban_thu_moi" in message, message
    assert service.n_documents == before + 1
    result = service.ask(NEW_QUESTION)
    assert result["found"] is True and "37 km" in result["answer"], result
    assert result["sources"][0]["doc_id"] == "ban_thu_moi"
    assert (library.uploads_dir / "ban_thu_moi.txt").is_file()
    row = next(r for r in library.rows() if r[4] == "ban_thu_moi")
    assert row[0].startswith("Xã Bản Thử Mới") and row[2] >= 1 and row[3] == "tải lên"
    assert next(r for r in library.rows() if r[4] == MAI_SON)[3] == "bài mẫu"


@pytest.mark.parametrize(("name", "content"), [
    ("bao-cao.md", "# Báo cáo xã Đồi Thông\n\nXã Đồi Thông có **58** tổ hợp tác chè.\n"),
    ("bao-cao.html", ("<html><head><title>Báo cáo xã Đồi Thông</title></head><body><h1>Báo cáo xã Đồi Thông</h1>"
                      "<p>Xã Đồi Thông có 58 tổ hợp tác chè.</p><script>alert(1)</script></body></html>")),
])
def test_markdown_and_html_uploads(library, tmp_path, name, content):
    library.add(name, write(tmp_path, name, content))
    result = library.service.ask("Xã Đồi Thông có bao nhiêu tổ hợp tác chè?")
    assert result["found"] is True and "58" in result["answer"], result
    library.remove("bao-cao")


@pytest.mark.parametrize(("name", "content", "words"), [
    ("virus.exe", b"MZ\x90\x00", "Loại tệp không được nhận"),
    ("khong-ten", b"abc", "Loại tệp không được nhận"),
    ("rong.txt", b"", "Tệp rỗng"),
    ("lon.txt", ("Một câu rất dài. " * 4000).encode(), "Tệp quá lớn"),
    ("nhi-phan.txt", bytes(range(256)) * 10, "Không đọc được"),
    ("gia.pdf", b"<html>not a pdf</html>", "không phải .pdf"),
    ("gia.docx", b"plain text", "không phải .docx"),
    ("001_ad2f1263791dfcf2.txt", b"Tieu de\n\nNoi dung moi.", "không phải do tải lên"),
])
def test_bad_uploads_get_a_message_and_change_nothing(library, tmp_path, name, content, words):
    docs = dict(library.service.documents)
    with pytest.raises(LibraryError, match=words):
        library.add(name, write(tmp_path, "upload.bin", content))
    assert library.service.documents == docs
    assert not list((library.settings.data_dir / ".upload-staging").iterdir())


def test_bad_replacement_keeps_the_old_upload(library, tmp_path):
    library.add("giu-nguyen.txt", write(tmp_path, "a.txt", NEW_ARTICLE.replace("Bản Thử Mới", "Giữ Nguyên")))
    with pytest.raises(LibraryError):
        library.add("giu-nguyen.txt", write(tmp_path, "b.txt", b"\x00\x01binary" * 50))
    assert (library.uploads_dir / "giu-nguyen.txt").read_text(encoding="utf-8").startswith("Xã Giữ Nguyên")
    assert library.service.ask(NEW_QUESTION.replace("Bản Thử Mới", "Giữ Nguyên"))["found"] is True
    library.remove("giu-nguyen")


def test_remove_upload_deletes_file_and_answer(library, tmp_path):
    library.add("tam-thoi.txt", write(tmp_path, "t.txt", NEW_ARTICLE.replace("Bản Thử Mới", "Tạm Thời")))
    old_index = library.service.index
    message = library.remove("tam-thoi")
    assert "Đã xoá" in message
    assert not (library.uploads_dir / "tam-thoi.txt").exists()
    assert "tam-thoi" not in library.service.documents
    assert library.service.ask(NEW_QUESTION.replace("Bản Thử Mới", "Tạm Thời"))["found"] is False
    # A question that started before the swap still finishes on the index it began with.
    assert old_index.retrieve("Tạm Thời 37 km", k=1)[0].doc_id == "tam-thoi"
    with pytest.raises(LibraryError, match="Hãy chọn"):
        library.remove("tam-thoi")


def test_removed_sample_stays_out_of_later_ingests(library, tmp_path):
    assert library.service.ask(OCOP)["found"] is True
    library.remove(MAI_SON)
    assert MAI_SON not in library.service.documents
    # Nothing of the removed article answers or is cited. (Whether the answer stage then declines is
    # its own measured question, tests/test_app_answers.py: it now answers from Sông Mã's article.)
    after = library.service.ask(OCOP)
    assert "20 sản phẩm" not in after["answer"] and all(s["doc_id"] != MAI_SON for s in after["sources"])
    assert MAI_SON in removed_documents(library.settings.data_dir)
    result = run_ingest(library.settings, [SAMPLES_DIR], progress=False)  # what `hoidap ingest` does
    assert MAI_SON not in result.added and any("quản trị viên xoá" in reason for _, reason in result.skipped)
    library.service.reload()
    assert MAI_SON not in library.service.documents
    # Uploading the article again brings it back (and clears the record).
    library.add(f"{MAI_SON}.txt", SAMPLES_DIR / f"{MAI_SON}.txt")
    assert MAI_SON not in removed_documents(library.settings.data_dir)
    assert "20" in library.service.ask(OCOP)["answer"]


def test_web_questions_follow_an_ingest_from_the_command_line(library, tmp_path):
    from app.ui import ask_object

    folder = tmp_path / "cli"
    folder.mkdir()
    write(folder, "dong-lenh.txt", NEW_ARTICLE.replace("Bản Thử Mới", "Dòng Lệnh"))
    run_ingest(library.settings, [folder], progress=False)  # as `hoidap ingest` in another process would
    assert "dong-lenh" not in library.service.documents  # the running service has not looked yet
    result = ask_object(library.service, NEW_QUESTION.replace("Bản Thử Mới", "Dòng Lệnh"))
    assert result["found"] is True and "37 km" in result["answer"], result
    assert next(r for r in library.rows() if r[4] == "dong-lenh")[3] == "nạp từ dòng lệnh"


def test_rebuild_keeps_uploaded_articles(library, tmp_path, capsys):
    from app.cli import main

    library.add("con-lai.txt", write(tmp_path, "c.txt", NEW_ARTICLE.replace("Bản Thử Mới", "Còn Lại")))
    assert main(["ingest", "--rebuild", "--data-dir", str(library.settings.data_dir)]) == 0
    assert "gồm cả các bài đã tải lên" in capsys.readouterr().out
    assert library.service.follow_current() is True
    assert "con-lai" in library.service.documents
    assert library.service.ask(NEW_QUESTION.replace("Bản Thử Mới", "Còn Lại"))["found"] is True


def test_upload_names_are_reduced_to_a_safe_file_name():
    import unicodedata

    from app.library import safe_name

    assert safe_name(unicodedata.normalize("NFD", "Báo cáo năm 2024.TXT")) == "Báo_cáo_năm_2024.txt"
    assert safe_name("../../etc/passwd") == "passwd"  # no suffix: refused by the type check
    assert safe_name("C:\\Users\\x\\bai viet.md") == "bai_viet.md"
    assert safe_name("..") == "" and safe_name("") == ""
