"""The web app's administration in a real headless Chromium: upload → answer → delete, filters, feedback,
sign-in and sign-out with an administrator and an ordinary user. Screenshots go to tests-output/screenshots/.
"""

import re

import pytest

from app.audit import AuditLog
from app.auth import hash_password
from tests.test_app_browser import ask, open_page, shot
from tests.webfixtures import (
    OCOP_QUESTION,
    TIMEOUT_MS,
    copied_service,
    running_app,
)

NEW_ARTICLE = ("Xã Bản Thử Mới hoàn thành đường giao thông nông thôn\n\n"
               "Ngày 12/03/2024, xã Bản Thử Mới đã hoàn thành 37 km đường giao thông nông thôn được bê tông hoá.\n")
NEW_QUESTION = "Xã Bản Thử Mới đã hoàn thành bao nhiêu km đường giao thông nông thôn?"
ADMIN_PW, USER_PW = "mat-khau-quan-tri", "mat-khau-can-bo"


@pytest.fixture(scope="module")
def local_app(sample_settings, tmp_path_factory):
    """No sign-in configured: one local person, who manages the articles."""
    service, settings = copied_service(sample_settings, tmp_path_factory.mktemp("browser-admin"))
    with running_app(service, settings) as url:
        yield url, service, settings


@pytest.fixture(scope="module")
def signed_url(sample_settings, tmp_path_factory):
    users = [{"name": "quantri", "password_hash": hash_password(ADMIN_PW), "role": "admin"},
             {"name": "canbo", "password_hash": hash_password(USER_PW), "role": "user"}]
    service, settings = copied_service(sample_settings, tmp_path_factory.mktemp("browser-auth"), auth={"users": users})
    with running_app(service, settings) as url:
        yield url


def docs_tab(page):
    return page.get_by_role("tab", name="Quản lý bài viết")


def upload(page, path):
    from playwright.sync_api import expect

    docs_tab(page).click()
    page.locator("#hd-upload input[type=file]").set_input_files(str(path))
    expect(page.locator("#hd-upload")).to_contain_text(path.stem)
    page.locator("#hd-add").click()


def pick(page, elem_id, text):
    page.locator(f"#{elem_id} input").click()
    page.get_by_role("option", name=re.compile(re.escape(text))).first.click()


def test_upload_answer_then_delete(browser, local_app, tmp_path):
    from playwright.sync_api import expect

    url, service, _ = local_app
    article = tmp_path / "ban-thu-moi.txt"
    article.write_text(NEW_ARTICLE, encoding="utf-8")
    page = open_page(browser, url)
    try:
        before = service.n_documents
        upload(page, article)
        status = page.locator("#hd-doc-status")
        expect(status).to_contain_text("Đã thêm bài “Xã Bản Thử Mới")
        expect(page.locator("#hd-docs")).to_contain_text("Xã Bản Thử Mới hoàn thành đường giao thông nông thôn")
        expect(page.locator("#hd-header")).to_contain_text(f"{before + 1} bài viết")
        shot(page, "11-upload")
        page.get_by_role("tab", name="Hỏi đáp").click()
        reply = ask(page, NEW_QUESTION)
        expect(reply.locator(".hd-answer")).to_contain_text("37 km")
        expect(reply.locator(".hd-src").first).to_contain_text("ban-thu-moi")
        shot(page, "12-answer-from-upload")

        docs_tab(page).click()
        pick(page, "hd-remove-pick", "Xã Bản Thử Mới")
        page.locator("#hd-remove").click()
        expect(status).to_contain_text("Đã xoá bài “Xã Bản Thử Mới")
        expect(page.locator("#hd-docs")).not_to_contain_text("Xã Bản Thử Mới")
        expect(page.locator("#hd-header")).to_contain_text(f"{before} bài viết")
        shot(page, "13-deleted")
        page.get_by_role("tab", name="Hỏi đáp").click()
        again = ask(page, NEW_QUESTION, n_replies=2)
        expect(again.locator(".hd-answer")).to_contain_text("Xin lỗi")
        expect(again).not_to_contain_text("37 km")
        shot(page, "14-no-answer-after-delete")
    finally:
        page.context.close()


def test_bad_upload_gets_a_message(browser, local_app, tmp_path):
    from playwright.sync_api import expect

    url, service, _ = local_app
    bad = tmp_path / "chuong-trinh.exe"
    bad.write_bytes(b"MZ\x90\x00 not an article")
    page = open_page(browser, url)
    try:
        before = dict(service.documents)
        upload(page, bad)
        expect(page.locator("#hd-doc-status")).to_contain_text("Loại tệp không được nhận")
        assert service.documents == before
        shot(page, "15-bad-upload")
    finally:
        page.context.close()


def test_filters_restrict_the_question(browser, local_app):
    from playwright.sync_api import expect

    url, _, _ = local_app
    page = open_page(browser, url)
    try:
        page.locator("#hd-filters").get_by_text("Bộ lọc").click()
        pick(page, "hd-filter-docs", "Nghị quyết Đại hội Đảng bộ huyện Mai Sơn")
        reply = ask(page, "Có bao nhiêu trường đạt chuẩn quốc gia?")
        expect(reply.locator(".hd-answer")).to_contain_text("42/63")
        expect(reply.locator(".hd-filter-note")).to_contain_text("Bộ lọc: chỉ trong “Nghị quyết Đại hội")
        shot(page, "16-filter-article")
        page.locator("#hd-filter-from textarea").fill("1990-01-01")
        page.locator("#hd-filter-to textarea").fill("1990-12-31")
        declined = ask(page, "Có bao nhiêu trường đạt chuẩn quốc gia?", n_replies=2)
        expect(declined.locator(".hd-answer")).to_contain_text("Không có bài viết nào khớp bộ lọc")
        page.locator("#hd-filter-to textarea").fill("hôm qua")
        ask(page, OCOP_QUESTION, n_replies=3)
        expect(page.locator("#hd-chat .hd-error")).to_contain_text("Ngày kết thúc không hợp lệ")
        shot(page, "17-filter-dates")
    finally:
        page.context.close()


def test_feedback_is_stored_with_the_answer(browser, local_app):
    from playwright.sync_api import expect

    url, _, settings = local_app
    page = open_page(browser, url)
    try:
        ask(page, OCOP_QUESTION)
        page.locator("#hd-feedback").get_by_text("Góp ý về câu trả lời").click()
        page.locator("#hd-comment textarea").fill("Cần thêm số sản phẩm 5 sao")
        page.locator("#hd-down").click()
        expect(page.locator("#hd-feedback-status")).to_contain_text("chưa đúng")
        row = AuditLog(settings.data_dir).feedback()[-1]
        assert (row["question"], row["rating"], row["comment"]) == (OCOP_QUESTION, -1, "Cần thêm số sản phẩm 5 sao")
        assert "20" in row["answer"] and row["user"] == "local"
        shot(page, "18-feedback")

        # Each answer has its own 👍/👎 in the chat; they rate that answer, not the latest one.
        ask(page, "Tà Tổng có bao nhiêu đảng viên?", n_replies=2)
        page.locator("#hd-chat").get_by_role("button", name="Câu trả lời đúng").first.click()
        # "là đúng.", not "đúng.": the status before ("… là chưa đúng.") holds that too, and the log
        # was read before the click had been recorded on a busy machine.
        expect(page.locator("#hd-feedback-status")).to_contain_text("là đúng.")
        rows = AuditLog(settings.data_dir).feedback()
        assert (rows[-1]["question"], rows[-1]["rating"]) == (OCOP_QUESTION, 1)  # the OCOP answer, now 👍
        page.locator("#hd-chat").get_by_role("button", name="Câu trả lời chưa đúng").nth(1).click()
        expect(page.locator("#hd-feedback-status")).to_contain_text("chưa đúng.")
        latest = {r["question"]: r["rating"] for r in AuditLog(settings.data_dir).feedback()}
        assert latest == {OCOP_QUESTION: 1, "Tà Tổng có bao nhiêu đảng viên?": -1}
        shot(page, "18b-chat-thumbs")
    finally:
        page.context.close()


def test_admin_pages_at_360px(browser, local_app):
    url, _, _ = local_app
    page = open_page(browser, url, width=360, height=740)
    try:
        page.locator("#hd-filters").get_by_text("Bộ lọc").click()
        shot(page, "19-mobile-filters")
        assert page.evaluate("document.documentElement.scrollWidth") <= 362
        docs_tab(page).click()
        page.locator("#hd-add").wait_for(state="visible")
        shot(page, "20-mobile-documents")
        assert page.evaluate("document.documentElement.scrollWidth") <= 362
    finally:
        page.context.close()


def sign_in(page, user, password):
    page.get_by_label("username").fill(user)
    page.get_by_label("password").fill(password)
    page.get_by_role("button", name="Login").click()


def test_sign_in_and_out(browser, signed_url):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        page.goto(signed_url)
        expect(page.get_by_text("đăng nhập bằng tài khoản được cấp")).to_be_visible()
        sign_in(page, "quantri", USER_PW)  # wrong password: still on the login page, told so
        expect(page.get_by_text("Incorrect Credentials")).to_be_visible()
        expect(page.get_by_role("button", name="Login")).to_be_visible()
        assert page.locator("#hd-question").count() == 0
        shot(page, "21-login")

        sign_in(page, "quantri", ADMIN_PW)
        expect(page.locator("#hd-user")).to_contain_text("quantri (quản trị viên)")
        expect(docs_tab(page)).to_be_visible()
        shot(page, "22-signed-in-admin")
        page.locator("#hd-logout").click()
        expect(page.get_by_role("button", name="Login")).to_be_visible()
        assert page.locator("#hd-question").count() == 0
        page.goto(signed_url)  # signed out for good: a reload shows the login page again
        expect(page.get_by_role("button", name="Login")).to_be_visible()
        shot(page, "23-signed-out")

        sign_in(page, "canbo", USER_PW)
        expect(page.locator("#hd-user")).to_contain_text("canbo (người dùng)")
        reply = ask(page, OCOP_QUESTION)
        expect(reply.locator(".hd-answer")).to_contain_text("20 sản phẩm OCOP")
        expect(docs_tab(page)).to_have_count(0)
        assert page.locator("#hd-add").count() == 0 and page.locator("#hd-upload").count() == 0
        shot(page, "24-signed-in-user-no-documents")
    finally:
        context.close()
