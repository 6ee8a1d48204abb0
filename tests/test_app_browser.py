"""The web app in a real headless Chromium (Playwright): chat, sources, examples, safety, small screens.

Screenshots of every state go to tests-output/screenshots/. Chromium must be at /usr/bin/chromium
(`apt-get install -y chromium`); without it these tests fail, they never skip.
"""

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"


import pytest

from tests.webfixtures import (
    OCOP_DOC,
    OCOP_QUESTION,
    REPO,
    TIMEOUT_MS,
    XSS_QUESTION,
    running_app,
    xss_service,
)

SHOTS = REPO / "tests-output" / "screenshots"


@pytest.fixture(scope="module")
def app_url(service, sample_settings):
    with running_app(service, sample_settings) as url:
        yield url


@pytest.fixture(scope="module")
def xss_url(tmp_path_factory):
    svc, settings = xss_service(tmp_path_factory.mktemp("xss"))
    with running_app(svc, settings) as url:
        yield url


def open_page(browser, url, width=1280, height=900):
    context = browser.new_context(viewport={"width": width, "height": height}, locale="vi-VN")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.outside_requests = []
    page.on("request", lambda r: None if r.url.startswith((url, "data:", "blob:"))
            else page.outside_requests.append(r.url))
    page.goto(url)
    page.locator("#hd-question textarea").wait_for(state="visible")
    return page


@pytest.fixture
def page(browser, app_url):
    page = open_page(browser, app_url)
    yield page
    page.context.close()


def ask(page, question, n_replies=1):
    """Type a question in the chat box, press Enter, wait for the n-th reply; return that reply."""
    box = page.locator("#hd-question textarea")
    box.fill(question)
    box.press("Enter")
    return wait_reply(page, n_replies)


def wait_reply(page, n_replies=1):
    from playwright.sync_api import expect

    replies = page.locator("#hd-chat .hd-reply")
    expect(replies).to_have_count(n_replies)
    return replies.nth(n_replies - 1)


def shot(page, name):
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_page_shows_title_and_model(page, service):
    from playwright.sync_api import expect

    expect(page).to_have_title("hoidap — hỏi đáp")
    header = page.locator("#hd-header")
    expect(header).to_contain_text(service.model_label)
    expect(header).to_contain_text(f"{service.n_documents} bài viết")
    expect(page.get_by_role("button", name="Cuộc trò chuyện mới")).to_be_visible()
    expect(page.get_by_text("Câu hỏi mẫu", exact=True)).to_be_visible()
    page.wait_for_timeout(500)  # Gradio keeps a connection open: "networkidle" never comes
    assert page.outside_requests == [], "the page must load nothing from outside this machine"
    shot(page, "01-home")


def test_chat_answers_with_highlighted_source(page, service):
    from playwright.sync_api import expect

    expected = service.ask(OCOP_QUESTION)
    reply = ask(page, OCOP_QUESTION)
    expect(reply.locator(".hd-answer")).to_contain_text("20 sản phẩm OCOP")
    expect(reply.locator(".hd-answer strong")).to_have_text(expected["span"])  # what was asked, in bold
    first = reply.locator(".hd-src").first
    expect(first.locator(".hd-src-title")).to_contain_text(expected["sources"][0]["title"])
    expect(first.locator(".hd-meta")).to_contain_text(OCOP_DOC)
    mark = first.locator(".hd-passage mark")
    expect(mark).to_be_visible()
    expect(mark).to_contain_text("có 20 sản phẩm OCOP")
    expect(reply.locator(".hd-src")).to_have_count(len(expected["sources"]))
    expect(reply.locator(".hd-heading")).to_have_text("Nguồn")
    expect(page.locator("#hd-chat")).to_contain_text(OCOP_QUESTION)  # the user's message stays shown
    shot(page, "02-answer")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.locator("#hd-copy").click()
    expect(page.locator("#hd-feedback-status")).to_contain_text("Đã sao chép câu trả lời")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert "có 20 sản phẩm OCOP" in copied and "<" not in copied, copied  # the reply text, no markup
    assert f"\nNguồn: [1] {expected['sources'][0]['title']}" in copied


def test_example_question_gets_an_answer(page, service):
    from playwright.sync_api import expect

    from app.examples import example_questions

    question = example_questions(service)[1]  # drawn from the loaded articles
    expected = service.ask(question)
    assert expected["found"]
    page.get_by_text(question, exact=True).first.click()
    reply = wait_reply(page)
    expect(reply.locator(".hd-answer")).to_have_text(expected["answer"])
    expect(page.locator("#hd-question textarea")).to_have_value("")
    shot(page, "03-example")


def test_follow_up_and_new_conversation(page):
    from playwright.sync_api import expect

    ask(page, "Mai Sơn có bao nhiêu trường đạt chuẩn quốc gia?")
    ask(page, "Mai Son co bao nhieu san pham OCOP?", n_replies=2)
    shot(page, "04-two-questions")
    page.get_by_role("button", name="Cuộc trò chuyện mới").click()
    expect(page.locator("#hd-chat .hd-reply")).to_have_count(0)
    expect(page.locator("#hd-chat")).not_to_contain_text("trường đạt chuẩn")
    ask(page, OCOP_QUESTION)  # the chat still works after clearing


def test_three_turn_conversation_with_follow_ups(page):
    from playwright.sync_api import expect

    first = ask(page, "Mai Sơn có bao nhiêu trường đạt chuẩn quốc gia?")
    expect(first.locator(".hd-answer")).to_contain_text("42/63")
    second = ask(page, "Còn Sông Mã thì sao?", n_replies=2)
    expect(second.locator(".hd-answer")).to_contain_text("44/53")
    expect(second).to_contain_text("Hiểu câu hỏi là: Sông Mã có bao nhiêu trường đạt chuẩn quốc gia?")
    third = ask(page, "Trong đó có bao nhiêu trường đạt chuẩn mức độ 2?", n_replies=3)
    expect(third.locator(".hd-answer")).to_contain_text("3 trường đạt chuẩn mức độ 2")
    shot(page, "10-three-turns")


def test_unanswerable_shows_refusal_and_closest_passages(page):
    from playwright.sync_api import expect

    reply = ask(page, "Huyện Yên Châu có bao nhiêu sản phẩm OCOP?")
    expect(reply.locator(".hd-answer")).to_contain_text("Xin lỗi")
    expect(reply.locator(".hd-heading")).to_have_text("Các đoạn gần nhất")
    expect(reply.locator(".hd-src").first).to_be_visible()
    shot(page, "05-refusal")


def test_bad_question_message_in_chat(page):
    from playwright.sync_api import expect

    ask(page, "x" * 2100)
    error = page.locator("#hd-chat .hd-error")
    expect(error).to_contain_text("Câu hỏi quá dài")
    page.locator("#hd-question textarea").press("Enter")  # empty box
    expect(error).to_have_count(2)
    expect(error.nth(1)).to_contain_text("Câu hỏi trống")
    shot(page, "06-bad-question")


def test_article_html_is_shown_as_text(browser, xss_url):
    from playwright.sync_api import expect

    page = open_page(browser, xss_url)
    try:
        reply = ask(page, XSS_QUESTION)
        expect(reply).to_contain_text("77")
        page.wait_for_timeout(300)  # give an injected onerror handler time to fire
        assert page.evaluate("window.__pwned") is None
        chat = page.locator("#hd-chat")
        assert chat.locator("script").count() == 0
        assert chat.locator("img[src='x'], [onerror], .hd-reply img, .hd-reply style").count() == 0
        assert chat.locator("a[href^='javascript']").count() == 0
        text = reply.inner_text()
        assert "<script>window.__pwned=1</script>" in text
        assert '<img src=x onerror="window.__pwned=2">' in text
        assert "**đậm**" in text  # Markdown in an article is not rendered either
        expect(page.locator("body")).to_be_visible()
        shot(page, "07-xss-as-text")
    finally:
        page.context.close()


def test_small_screen_360px(browser, app_url):
    from playwright.sync_api import expect

    page = open_page(browser, app_url, width=360, height=740)
    try:
        shot(page, "08-mobile-home")
        reply = ask(page, OCOP_QUESTION)
        expect(reply.locator(".hd-passage mark")).to_be_visible()
        expect(page.locator("#hd-send")).to_be_visible()
        page.screenshot(path=str(SHOTS / "09-mobile-answer.png"))
        shot(page, "09-mobile-answer-full")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 362, f"horizontal scrolling at 360 px: scrollWidth={width}"
        box = reply.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 362, box
    finally:
        page.context.close()
