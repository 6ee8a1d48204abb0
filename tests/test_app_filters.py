"""Question filters (articles, place, date range) on the sample corpus, through QAService and the web handler."""

import pytest

from app.filters import (
    NO_MATCH,
    BadFilter,
    Filter,
    allowed_doc_ids,
    describe,
    place_choices,
)
from app.ui import ask_object, ask_steps

MAI_SON, SONG_MA, TA_TONG = "001_ad2f1263791dfcf2", "000_4f69736f366c6fd8", "004_1e938f9e399ad7c0"
SCHOOLS = "Có bao nhiêu trường đạt chuẩn quốc gia?"


def final(service, question, flt):
    result = None
    for result in ask_steps(service, question, [], flt):
        pass
    return result


@pytest.mark.parametrize(("doc_id", "figure", "other"), [(MAI_SON, "42/63", "44/53"), (SONG_MA, "44/53", "42/63")])
def test_one_article_gives_that_articles_figure(service, doc_id, figure, other):
    result = final(service, SCHOOLS, Filter(doc_ids=[doc_id]))
    assert result["found"] is True, result
    assert figure in result["answer"] and other not in result["answer"], result["answer"]
    assert {s["doc_id"] for s in result["sources"]} == {doc_id}


def test_place_filter_keeps_articles_naming_the_place(service):
    assert allowed_doc_ids(Filter(place="huyện Sông Mã"), service.documents) == {SONG_MA, "002_fb14a67d0406c0de"}
    assert "huyện Mai Sơn" in place_choices(service.documents)
    result = final(service, "Có bao nhiêu trường đạt chuẩn quốc gia trên địa bàn huyện?", Filter(place="huyện Sông Mã"))
    assert "44/53" in result["answer"], result["answer"]


def test_date_range_uses_article_dates(service):
    # Only the Tà Tổng article carries a date (2023-06-04); undated articles never match a range.
    assert allowed_doc_ids(Filter(date_from="01/06/2023", date_to="2023-06-30"), service.documents) == {TA_TONG}
    assert allowed_doc_ids(Filter(date_to="2023-06-03"), service.documents) == set()


def test_date_range_excluding_every_article_declines(service):
    result = final(service, "Mai Sơn có bao nhiêu sản phẩm OCOP?", Filter(date_from="1990-01-01", date_to="1990-12-31"))
    assert result["found"] is False
    assert result["answer"] == NO_MATCH
    assert result["sources"] == []


def test_no_filter_is_everything(service):
    assert allowed_doc_ids(Filter(), service.documents) is None
    assert allowed_doc_ids(None, service.documents) is None
    assert "20" in ask_object(service, "Mai Sơn có bao nhiêu sản phẩm OCOP?")["answer"]


@pytest.mark.parametrize(("flt", "words"), [
    (Filter(date_from="31/02/2023"), "không hợp lệ"),
    (Filter(date_to="hôm qua"), "không hợp lệ"),
    (Filter(date_from="2024-01-01", date_to="2023-01-01"), "sau ngày kết thúc"),
])
def test_bad_dates_get_a_vietnamese_message(service, flt, words):
    with pytest.raises(BadFilter, match=words):
        allowed_doc_ids(flt, service.documents)
    result = final(service, SCHOOLS, flt)
    assert words in result["error"] and result["found"] is False


def test_filters_are_described_to_the_reader(service):
    assert describe(Filter(), service.documents) == ""
    text = describe(Filter(doc_ids=[MAI_SON], place="huyện Mai Sơn", date_to="2023-12-31"), service.documents)
    assert text == ("Bộ lọc: chỉ trong “Nghị quyết Đại hội Đảng bộ huyện Mai Sơn” · địa danh: huyện Mai Sơn"
                    " · ngày: … → 2023-12-31")
