"""Reading and cleaning articles: boilerplate out, metadata in, bad files reported, legacy encodings decoded."""

import unicodedata
from pathlib import Path

import pytest

from ingest.chunk import chunk_paragraphs, split_sentences
from ingest.documents import load_articles
from ingest.readers import UnreadableFile, read_file

SAMPLES = Path(__file__).resolve().parent.parent / "samples"

# Everything the portals wrap around the articles; none of it is content.
BOILERPLATE = [
    "Thống kê truy cập", "Đang online", "Hôm nay", "Tất cả: 923,751", "Chịu trách nhiệm nội dung",
    "CƠ QUAN CHỦ QUẢN", "Điện thoại: 022", "banbientap.songma", "Chung nhan Tin Nhiem Mang",
    "Phản hồi", "Các tin khác", "Mới nhất", "Liên kết website", "Văn bản mới", "TT-BTC", "lượt xem",
    "Tổng số điểm của bài viết", "Đang truy cập", "Bạn đã không sử dụng Site", "hienphapvn",
    "(Tăng cường chế biến sản phẩm Long Nhãn)", "Lớp tập huấn nghiệp vụ công tác đảng, công tác chính quyền đi thực tế",
    "Ảnh: H.Lan", "Lãnh đạo huyện Sông Mã kiểm tra các dự án", "ra mắt Đại hội, quyết tâm lãnh đạo",
    "Tác giả", "Nguyễn Thị Bình", "Trường Giang", "Chủ nhật - 04/06/2023",
]


@pytest.fixture(scope="module")
def articles():
    report = load_articles([SAMPLES])
    assert report.skipped == []
    return {a.doc_id: a for a in report.articles}


def test_doc_ids_are_relative_paths_without_extension(articles):
    assert sorted(articles) == sorted(p.stem for p in SAMPLES.glob("*.txt"))


@pytest.mark.parametrize("phrase", BOILERPLATE)
def test_no_boilerplate_in_article_text(articles, phrase):
    for article in articles.values():
        assert phrase not in article.text, f"{phrase!r} left in {article.doc_id}"


def test_article_facts_survive_cleaning(articles):
    assert "có 20 sản phẩm OCOP (trong đó 10 sản phẩm 4 sao, 10 sản phẩm 3 sao)" in articles["001_ad2f1263791dfcf2"].text
    assert "376/411 bản, tổ dân phố" in articles["000_4f69736f366c6fd8"].text
    assert "kết nạp được 73 đảng viên mới" in articles["004_1e938f9e399ad7c0"].text


def test_metadata(articles):
    ta_tong = articles["004_1e938f9e399ad7c0"]
    assert ta_tong.title == "Tà Tổng phấn đấu ra khỏi xã đặc biệt khó khăn vào năm 2025"
    assert ta_tong.date == "2023-06-04"
    assert ta_tong.author == "Trường Giang"
    assert "xã Tà Tổng" in ta_tong.places
    song_ma = articles["000_4f69736f366c6fd8"]
    assert song_ma.author == "Nguyễn Thị Bình" and song_ma.places[0] == "huyện Sông Mã"
    # The Mai Sơn file has no title line: the opening clause, which names the district, stands in.
    assert "Mai Sơn" in articles["001_ad2f1263791dfcf2"].title


def test_one_tone_mark_convention_in_text(articles):
    text = "\n".join(a.text for a in articles.values())
    assert "uỷ" not in text and "Tỉnh ủy" in text


def to_cp1258(text: str) -> bytes:
    """Encode as Windows-1258 does: base letters precomposed (ơ, ư, â), tone marks combining."""
    tones = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
    out = []
    for ch in text:
        parts = unicodedata.normalize("NFD", ch)
        base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in tones))
        out.append(base + "".join(c for c in parts if c in tones))
    return "".join(out).encode("cp1258")


def test_windows_1258_file_is_decoded(tmp_path):
    # Windows-1258 stores tone marks as combining characters; they must come back as NFC text.
    text = "Xã Thử Nghiệm có 77 hợp tác xã kiểu mới, đạt 91,48% kế hoạch."
    (tmp_path / "legacy.txt").write_bytes(to_cp1258("Tin thử\n\n" + text))
    report = load_articles([tmp_path])
    assert report.skipped == []
    (article,) = report.articles
    assert article.encoding == "cp1258"
    assert text in article.text


def test_bad_files_are_reported_and_the_rest_ingested(tmp_path):
    (tmp_path / "good.txt").write_text("Tiêu đề\n\nXã A có 5 trường học đạt chuẩn.", encoding="utf-8")
    (tmp_path / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    (tmp_path / "empty.md").write_text("   \n", encoding="utf-8")
    (tmp_path / "notes.xyz").write_text("không hỗ trợ", encoding="utf-8")
    report = load_articles([tmp_path, tmp_path / "missing-folder"])
    assert [a.doc_id for a in report.articles] == ["good"]
    reasons = dict(report.skipped)
    assert "nhị phân" in reasons[str(tmp_path / "image.txt")]
    assert "rỗng" in reasons[str(tmp_path / "empty.md")]
    assert str(tmp_path / "notes.xyz") in reasons
    assert str(tmp_path / "missing-folder") in reasons


def test_html_scripts_and_chrome_removed(tmp_path):
    page = tmp_path / "bai.html"
    page.write_text(
        "<html><head><title>Cổng TTĐT</title><script>var x = 'Thống kê';</script></head><body>"
        "<nav>Trang chủ | Tin tức</nav><h1>Huyện B đạt chuẩn nông thôn mới</h1>"
        "<p>Huyện B có <b>12</b> xã đạt chuẩn nông thôn mới.</p><footer>Điện thoại: 0123</footer>"
        "<style>p{color:red}</style></body></html>", encoding="utf-8")
    art = read_file(page)
    assert art.title == "Huyện B đạt chuẩn nông thôn mới"
    assert "Huyện B có 12 xã đạt chuẩn nông thôn mới." in art.text
    for junk in ("var x", "color:red", "Trang chủ", "0123"):
        assert junk not in art.text


def test_markdown_reader(tmp_path):
    md = tmp_path / "bai.md"
    md.write_text("# Xã C phát triển\n\nXã C có **3** [hợp tác xã](http://x) mới. ![ảnh](a.png)", encoding="utf-8")
    art = read_file(md)
    assert art.title == "Xã C phát triển" and "Xã C có 3 hợp tác xã mới." in art.text


def test_unsupported_suffix_raises(tmp_path):
    with pytest.raises(UnreadableFile):
        read_file(tmp_path / "x.odt")


def test_sentences_split_on_vietnamese_punctuation_not_numbers():
    text = "Diện tích đạt 1.373,7 ha. Tỷ lệ đạt 91,48%. TP. hồ chí minh không tách. Năm 2020 có 5 xã."
    assert split_sentences(text) == [
        "Diện tích đạt 1.373,7 ha.", "Tỷ lệ đạt 91,48%.", "TP. hồ chí minh không tách.", "Năm 2020 có 5 xã.",
    ]


def test_chunks_respect_budget_and_overlap():
    paragraphs = [" ".join(f"Câu số {i} có năm từ." for i in range(j, j + 10)) for j in range(0, 40, 10)]
    count = lambda t: len(t.split())  # noqa: E731
    chunks = chunk_paragraphs(paragraphs, budget=30, count=count, overlap=6)
    assert all(count(c.text) <= 30 for c in chunks)
    assert chunks[0].text.startswith("Câu số 0 có năm từ.")
    # every sentence is in some chunk, and consecutive chunks share their boundary sentence
    joined = " ".join(c.text for c in chunks)
    assert all(f"Câu số {i} có năm từ." in joined for i in range(40))
    assert chunks[1].text.split(".")[0] == chunks[0].text.split(". ")[-1].split(".")[0]


def test_overlong_sentence_is_cut_at_clauses():
    sentence = "; ".join(f"mệnh đề {i} có sáu từ" for i in range(20)) + "."
    chunks = chunk_paragraphs([sentence], budget=25, count=lambda t: len(t.split()), overlap=0)
    assert len(chunks) > 1 and all(len(c.text.split()) <= 25 for c in chunks)


@pytest.mark.parametrize("head, url", [
    ('<link rel="canonical" href="https://maison.sonla.gov.vn/tin-tuc/ocop-2023">',
     "https://maison.sonla.gov.vn/tin-tuc/ocop-2023"),
    ('<meta property="og:url" content="http://songma.sonla.gov.vn/bai/12">', "http://songma.sonla.gov.vn/bai/12"),
    ('<link rel="canonical" href="javascript:alert(1)">', ""),  # never a link that runs code
    ("", ""),
])
def test_html_declares_its_web_address(tmp_path, head, url):
    page = tmp_path / "bai.html"
    page.write_text(f"<html><head>{head}</head><body><h1>Mai Sơn</h1><p>Mai Sơn có 20 sản phẩm OCOP.</p>"
                    "</body></html>", encoding="utf-8")
    assert read_file(page).url == url


def test_a_one_line_file_is_its_own_title_and_text(tmp_path):
    (tmp_path / "mot-dong.txt").write_text("Thủ tướng Ấn Độ sắp sang Mỹ gặp ông Trump mua vũ khí\n", encoding="utf-8")
    (tmp_path / "trong.txt").write_text("\n  \n", encoding="utf-8")
    report = load_articles([tmp_path])
    [article] = report.articles
    assert article.title == article.text == "Thủ tướng Ấn Độ sắp sang Mỹ gặp ông Trump mua vũ khí"
    assert [Path(path).name for path, _ in report.skipped] == ["trong.txt"]
