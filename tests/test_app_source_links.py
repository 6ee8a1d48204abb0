"""A source whose article declares its web address (HTML canonical link) links to it; others don't."""

from app.ui_render import reply_html

from .conftest import service_over


def test_answer_sources_link_to_the_original_article(tmp_path):
    service = service_over(tmp_path, {
        "yen-chau.html": '<html><head><link rel="canonical" href="https://yenchau.sonla.gov.vn/tin/37-htx">'
                         "<title>Yên Châu</title></head><body><h1>Yên Châu phát triển hợp tác xã</h1>"
                         "<p>Năm 2023, huyện Yên Châu có 37 hợp tác xã nông nghiệp.</p></body></html>",
        "moc-chau.txt": "Mộc Châu phát triển chè\n\nHuyện Mộc Châu có 12 hợp tác xã chè.\n",
    })

    result = service.ask("Yên Châu có bao nhiêu hợp tác xã?")
    assert result["found"] and "37" in result["answer"]
    top = result["sources"][0]
    assert top["doc_id"] == "yen-chau" and top["url"] == "https://yenchau.sonla.gov.vn/tin/37-htx"
    html = reply_html(result)
    assert ('<a href="https://yenchau.sonla.gov.vn/tin/37-htx" target="_blank" rel="noopener noreferrer nofollow">'
            in html)
    other = service.ask("Mộc Châu có bao nhiêu hợp tác xã chè?")
    assert other["sources"][0]["doc_id"] == "moc-chau" and other["sources"][0]["url"] == ""
    assert "<a href" not in reply_html({**other, "sources": other["sources"][:1]})


def test_only_web_addresses_become_links():
    result = {"answer": "x", "found": True, "sources": [
        {"doc_id": "a", "title": "A", "text": "t", "url": "javascript:alert(1)"},
        {"doc_id": "b", "title": "B", "text": "t", "url": 'https://x.vn/"><script>alert(1)</script>'},
    ]}
    html = reply_html(result)
    assert "javascript:" not in html and "<script>" not in html


def test_the_answer_shows_its_span_in_bold_and_escaped():
    result = {"answer": "Huyện có 20 <i>sản phẩm</i> OCOP (theo bài “A”).", "span": "20 <i>sản phẩm</i>",
              "found": True, "sources": []}
    html = reply_html(result)
    assert "có <strong>20 &lt;i&gt;sản phẩm&lt;/i&gt;</strong> OCOP" in html
    assert "<strong>" not in reply_html({**result, "found": False})  # a refusal asserts nothing
