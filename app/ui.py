"""The web app (Gradio): Vietnamese chat with filters and feedback, API endpoints `ask`/`ask_filtered`.

Layout and handlers only: replies are rendered (escaped) by app/ui_render.py, the documents tab is
app/ui_docs.py; the Chatbot's own sanitizer stays on as a second wall. gradio is imported inside
functions, so `import app.ui` is cheap and has no side effects.
"""

import logging
import os
import threading

from app.ui_render import COPY_JS, CSS, error_html, esc, reply_html

log = logging.getLogger(__name__)

TITLE = "hoidap — hỏi đáp"
LOCAL_NOTE = "Chỉ dùng trên máy này (127.0.0.1), một người dùng"
OPEN_NOTE = "Không có đăng nhập: mọi người vào được trang này đều có quyền quản trị"
INTERNAL_ERROR = "Đã có lỗi khi trả lời câu hỏi này. Xin thử lại hoặc hỏi cách khác."


def ask_steps(service, question: str, turns: list | None = None, flt=None):
    """The answer object as it grows (streamed LLM text); bad questions and failures become one
    found=false object with an "error". `turns` are earlier (standalone question, answer) pairs;
    `flt` an app.filters.Filter restricting the articles used."""
    from app.filters import BadFilter, allowed_doc_ids
    from app.qa import BadQuestion

    try:
        service.follow_current()  # an ingest from the command line shows up without a restart
        doc_ids = allowed_doc_ids(flt, service.documents)
        yield from service.ask_stream(question, history=turns or [], doc_ids=doc_ids)
        return
    except (BadQuestion, BadFilter) as exc:
        message = str(exc)
    except Exception:  # the client gets a message, the log gets the traceback
        log.exception("ask failed for %r", question)
        message = INTERNAL_ERROR
    yield {"question": question, "answer": "", "found": False, "sources": [],
           "model": service.model_label, "error": message}


def ask_object(service, question: str) -> dict:
    """The contract's JSON object for the API endpoint (single turn)."""
    result = None
    for result in ask_steps(service, question):
        pass
    return result


def header_md(service, access) -> str:
    from app.auth import is_loopback

    return (f"**Mô hình:** {esc(service.model_label)} · **Đã nạp:** {service.n_documents} bài viết"
            + ("" if access.enabled else f" · {LOCAL_NOTE if is_loopback(access.host) else OPEN_NOTE}"))


def user_md(access, request) -> str:
    if not access.enabled:
        return ""
    user = access.user_of(request)
    role = {"admin": "quản trị viên", "user": "người dùng"}.get(access.role_of(user) or "", "chưa đăng nhập")
    return f"Đăng nhập: **{esc(user)}** ({role})"


def build_app(service, settings):
    import gradio as gr

    from app.audit import AuditLog
    from app.auth import Access
    from app.examples import example_questions
    from app.filters import Filter, describe, place_choices
    from app.library import Library
    from app.ui_docs import build_docs_tab, doc_choices

    access = Access(settings.auth, settings.host)
    audit = AuditLog(settings.data_dir)
    library = Library(service)

    def add_question(question, history):
        history, shown = list(history or []), (question or "").strip()
        if shown:  # a blank question gets only the error message, no empty bubble
            shown = shown if len(shown) <= 300 else shown[:300] + " …"
            history.append({"role": "user", "content": esc(shown)})
        return "", history, question or ""

    def add_reply(question, history, turns, answer_ids, docs, place, date_from, date_to, request: gr.Request):
        history, turns, answer_ids = list(history or []), list(turns or []), dict(answer_ids or {})
        answer_ids.pop(str(len(history)), None)  # a message index once used by a cleared chat
        flt = Filter(list(docs or []), place or "", date_from or "", date_to or "")
        note = describe(flt, service.documents)
        result, answer_id = None, None
        for result in ask_steps(service, question, turns, flt):
            content = error_html(result["error"]) if "error" in result else reply_html(result, note)
            yield history + [{"role": "assistant", "content": content}], turns, None, answer_ids
        if result and "error" not in result:
            turns.append((result.get("standalone_question", result["question"]), result["answer"]))
            answer_id = _log(result, request, flt.to_dict(), "web")
            if answer_id is not None:  # the chat's 👍/👎 name a message by its place in the history
                answer_ids[str(len(history))] = answer_id
        yield history + [{"role": "assistant", "content": content}], turns[-5:], answer_id, answer_ids

    def _log(result, request, filters, channel):
        try:
            return audit.log_answer(result, access.user_of(request), filters, channel)
        except Exception:  # a full disk must not take the answer away
            log.exception("audit log failed")
            return None

    def api_ask(question, request: gr.Request):
        result = ask_object(service, question if isinstance(question, str) else "")
        if "error" not in result:
            _log(result, request, {}, "api")
        return result

    def api_ask_filtered(question, filters, request: gr.Request):
        filters = filters if isinstance(filters, dict) else {}
        flt = Filter(doc_ids=[str(d) for d in filters.get("doc_ids") or []], place=str(filters.get("place") or ""),
                     date_from=str(filters.get("date_from") or ""), date_to=str(filters.get("date_to") or ""))
        result = None
        for result in ask_steps(service, question if isinstance(question, str) else "", None, flt):
            pass
        if "error" not in result:
            _log(result, request, flt.to_dict(), "api")
        return result

    def feedback(rating, answer_id, comment, request: gr.Request):
        if answer_id is None:
            return "⚠️ Chưa có câu trả lời nào để góp ý.", comment
        try:
            audit.add_feedback(int(answer_id), rating, comment or "", access.user_of(request))
        except Exception:
            log.exception("feedback failed")
            return "⚠️ Chưa lưu được góp ý. Xin thử lại.", comment
        return ("Cảm ơn anh/chị: đã ghi nhận câu trả lời là " + ("đúng." if rating > 0 else "chưa đúng.")), ""

    def on_like(answer_ids, data: gr.LikeData, request: gr.Request):
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        answer_id = (answer_ids or {}).get(str(index))
        if answer_id is None or not isinstance(data.liked, bool):
            return gr.skip(), "⚠️ Tin nhắn này không có câu trả lời để góp ý." if answer_id is None else gr.skip()
        message, _ = feedback(1 if data.liked else -1, answer_id, "", request)
        return answer_id, message + " Có thể thêm ghi chú trong mục “Góp ý” rồi bấm “Đúng, hữu ích” hoặc “Chưa đúng”."

    def rate(rating):
        def handler(answer_id, comment, request: gr.Request):
            return feedback(rating, answer_id, comment, request)
        return handler

    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        gr.Markdown(f"# {TITLE}\nHỏi đáp tiếng Việt trên các bài báo đã nạp; mỗi câu trả lời kèm đoạn nguồn.")
        header = gr.Markdown(header_md(service, access), elem_id="hd-header")
        with gr.Row(visible=access.enabled, equal_height=True):
            who = gr.Markdown(elem_id="hd-user")
            gr.Button("Đăng xuất", link="logout", size="sm", variant="secondary", scale=0, min_width=100,
                      elem_id="hd-logout", visible=access.uses_login_page)
        with gr.Tabs():
            with gr.Tab("Hỏi đáp", id="chat"):
                chat = gr.Chatbot(
                    label="Trò chuyện", show_label=False, elem_id="hd-chat", height="62vh", min_height=320,
                    sanitize_html=True, render_markdown=True, latex_delimiters=[], allow_tags=False,
                    feedback_options=("Like", "Dislike"), buttons=[], layout="panel",  # "copy" would copy our HTML source
                    placeholder="Hãy đặt một câu hỏi về các bài viết, hoặc chọn một câu hỏi mẫu bên dưới.",
                )
                with gr.Row(equal_height=True):
                    box = gr.Textbox(label="Câu hỏi", placeholder="Ví dụ: Mai Sơn có bao nhiêu sản phẩm OCOP?",
                                     lines=1, max_lines=4, scale=5, min_width=200, elem_id="hd-question",
                                     max_length=settings.max_question_chars + 500)
                    send = gr.Button("Hỏi", variant="primary", scale=1, min_width=80, elem_id="hd-send")
                thanks = gr.Markdown(elem_id="hd-feedback-status")
                with gr.Accordion("Bộ lọc", open=False, elem_id="hd-filters"):
                    f_docs = gr.Dropdown(choices=doc_choices(service), multiselect=True, label="Chỉ hỏi trong các bài",
                                         elem_id="hd-filter-docs")
                    f_place = gr.Dropdown(choices=[("(mọi nơi)", "")] + place_choices(service.documents), value="",
                                          label="Địa danh", elem_id="hd-filter-place")
                    with gr.Row():
                        f_from = gr.Textbox(label="Từ ngày", placeholder="2023-01-01 hoặc 01/01/2023",
                                            min_width=140, elem_id="hd-filter-from")
                        f_to = gr.Textbox(label="Đến ngày", placeholder="2023-12-31", min_width=140,
                                          elem_id="hd-filter-to")
                    f_clear = gr.Button("Bỏ lọc", size="sm", variant="secondary", elem_id="hd-filter-clear")
                with gr.Accordion("Góp ý về câu trả lời (kèm ghi chú)", open=False, elem_id="hd-feedback"):
                    with gr.Row(equal_height=True):
                        up = gr.Button("Đúng, hữu ích", size="sm", min_width=120, elem_id="hd-up")
                        down = gr.Button("Chưa đúng", size="sm", min_width=120, elem_id="hd-down")
                    comment = gr.Textbox(label="Ghi chú (không bắt buộc)", lines=1, max_lines=4, max_length=2000,
                                         elem_id="hd-comment")
                examples = gr.Examples([[q] for q in example_questions(service)], inputs=[box], label="Câu hỏi mẫu",
                                       api_visibility="private")
                with gr.Row():
                    copy = gr.Button("Sao chép câu trả lời", variant="secondary", size="sm", min_width=140,
                                     elem_id="hd-copy")
                    new_chat = gr.Button("Cuộc trò chuyện mới", variant="secondary", size="sm", min_width=140,
                                         elem_id="hd-new")
            docs_tab, docs_refresh, docs_outputs = build_docs_tab(
                gr, library, access, esc,
                [(f_docs, lambda svc: gr.update(choices=doc_choices(svc))),
                 (f_place, lambda svc: gr.update(choices=[("(mọi nơi)", "")] + place_choices(svc.documents))),
                 (header, lambda svc: header_md(svc, access))])
        pending = gr.State("")
        turns = gr.State([])  # (standalone question, answer) pairs: what follow-ups refer to
        last_answer = gr.State(None)  # audit-log id of the answer feedback goes to (latest, or last 👍/👎)
        answer_ids = gr.State({})  # chat message index → audit-log id

        # Hidden pieces of the named API endpoint `ask` (question → the contract's JSON object).
        api_in = gr.Textbox(label="question", visible=False)
        api_out = gr.JSON(label="answer", visible=False)
        api_btn = gr.Button(visible=False)

        private = {"api_visibility": "private"}
        answer = {"fn": add_reply, "inputs": [pending, chat, turns, answer_ids, f_docs, f_place, f_from, f_to],
                  "outputs": [chat, turns, last_answer, answer_ids], "concurrency_id": "qa", "concurrency_limit": 1,
                  "show_progress": "minimal", **private}
        for trigger in (box.submit, send.click):
            trigger(add_question, [box, chat], [box, chat, pending], queue=False, **private).then(**answer)
        examples.load_input_event.then(add_question, [box, chat], [box, chat, pending],
                                       queue=False, **private).then(**answer)
        new_chat.click(lambda: ([], "", "", [], None, {}, ""), None,
                       [chat, box, pending, turns, last_answer, answer_ids, thanks],
                       queue=False, **private)
        chat.clear(lambda: ([], "", None, {}), None, [turns, pending, last_answer, answer_ids], queue=False, **private)
        f_clear.click(lambda: ([], "", "", ""), None, [f_docs, f_place, f_from, f_to], queue=False, **private)
        copy.click(None, None, [thanks], js=COPY_JS, queue=False, **private)
        chat.like(on_like, [answer_ids], [last_answer, thanks], **private)
        for button, rating in ((up, 1), (down, -1)):
            button.click(rate(rating), [last_answer, comment], [thanks, comment], **private)
        api_btn.click(api_ask, [api_in], [api_out], api_name="ask", concurrency_id="qa", concurrency_limit=1,
                      api_description="Câu hỏi → đối tượng JSON như `hoidap ask --json`.")
        api_filters = gr.JSON(label="filters", visible=False)
        api_btn.click(api_ask_filtered, [api_in, api_filters], [api_out], api_name="ask_filtered",
                      concurrency_id="qa", concurrency_limit=1,
                      api_description="Câu hỏi + bộ lọc {doc_ids, place, date_from, date_to} → đối tượng JSON như `ask`.")

        def on_load(request: gr.Request):
            admin = access.is_admin(request)
            return [user_md(access, request), gr.update(visible=admin)] + docs_refresh()

        demo.load(on_load, None, [who, docs_tab, *docs_outputs], **private)
    demo.hd_access = access  # launch() reads the sign-in set-up from here
    return demo


def launch(demo, host: str, port: int, **kwargs):
    """Start the server (shared by `serve` and the tests); returns what Blocks.launch returns."""
    kwargs.setdefault("quiet", True)
    import gradio as gr

    # System fonts only: the page loads nothing from outside this machine.
    theme = gr.themes.Default(font=["system-ui", "Segoe UI", "Roboto", "Noto Sans", "Arial", "sans-serif"],
                              font_mono=["ui-monospace", "Consolas", "monospace"])
    access = getattr(demo, "hd_access", None)
    if access is not None:
        kwargs = {**access.launch_kwargs(), **kwargs}
    # Gradio's own words on the page in Vietnamese, whatever language the browser asks for.
    words = {"upload_text.click_to_upload": "Bấm để chọn tệp", "upload_text.drop_file": "Thả tệp vào đây",
             "common.or": "hoặc", "common.clear": "Xoá", "common.remove": "Bỏ", "common.error": "Lỗi",
             "common.loading": "Đang tải", "common.download": "Tải về", "common.empty": "Trống",
             "chatbot.like": "Câu trả lời đúng", "chatbot.dislike": "Câu trả lời chưa đúng",
             "chatbot.clear": "Xoá cuộc trò chuyện"}
    kwargs.setdefault("i18n", gr.I18n(vi=words, en=words))
    from app.ui_docs import CSS as DOCS_CSS

    return demo.launch(server_name=host, server_port=port, css=CSS + DOCS_CSS, theme=theme, footer_links=["api"],
                       show_error=False, **kwargs)


def serve(service, settings) -> None:
    """Serve the web app on settings.host:settings.port until interrupted.

    Raises app.auth.AuthConfigError for a non-loopback host without sign-in (unless allowed)."""
    from app.auth import Access

    Access(settings.auth, settings.host).check_exposure()
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    demo = build_app(service, settings)
    launch(demo, settings.host, settings.port, prevent_thread_lock=True,
           max_file_size=int(settings.max_upload_mb * 2 * 1024 * 1024))
    # The reader (1–3 s; its one-off ONNX export more) loads while the page is already up, not at the first question.
    threading.Thread(target=service.reader, name="hoidap-reader-load", daemon=True).start()
    print(f"hoidap đang chạy tại http://{settings.host}:{settings.port}", flush=True)
    if not demo.hd_access.enabled:
        print(LOCAL_NOTE, flush=True)
    print("Nhấn Ctrl+C để dừng.", flush=True)
    try:
        demo.block_thread()
    finally:
        demo.close()
