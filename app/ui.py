"""The web app (Gradio): a Vietnamese chat over the articles, plus the named API endpoint `ask`.

Layout and event handlers only: every answer comes from `QAService.ask_stream` (follow-ups use
the conversation's earlier turns; an LLM's answer streams in). Article text is
untrusted: it is HTML-escaped (and Markdown/LaTeX characters turned into entities) before any
markup of ours is added, and the Chatbot's own sanitizer stays on as a second wall.
gradio is imported inside functions, so `import app.ui` is cheap and has no side effects.
"""

from __future__ import annotations

import html
import logging
import os

log = logging.getLogger(__name__)

TITLE = "hoidap — hỏi đáp"
LOCAL_NOTE = "Chỉ dùng trên máy này (127.0.0.1), một người dùng"
EXAMPLES = [
    "Mai Sơn có bao nhiêu sản phẩm OCOP?",
    "Sông Mã có bao nhiêu trường đạt chuẩn quốc gia?",
    "Tà Tổng có bao nhiêu đảng viên?",
    "Mai Son co bao nhieu san pham OCOP?",
]
INTERNAL_ERROR = "Đã có lỗi khi trả lời câu hỏi này. Xin thử lại hoặc hỏi cách khác."
EXCERPT_CHARS = 420

CSS = """
.gradio-container { max-width: 960px !important; margin: 0 auto !important; }
.hd-reply { overflow-wrap: anywhere; }
.hd-reply .hd-answer { margin: 0 0 .6em; }
.hd-reply .hd-error { margin: 0; color: var(--error-text-color, #b91c1c); }
.hd-reply .hd-heading { font-weight: 600; font-size: .9em; text-transform: uppercase;
  letter-spacing: .04em; opacity: .8; margin: .5em 0 .3em; }
.hd-reply .hd-src { margin: 0 0 .7em; }
.hd-reply .hd-src-title { font-weight: 600; font-size: 1em; line-height: 1.35; }
.hd-reply .hd-more > summary { cursor: pointer; margin: .2em 0 .6em; opacity: .85; }
.hd-reply .hd-meta { font-size: .85em; opacity: .75; }
.hd-reply .hd-passage { margin: .25em 0 0; padding: .1em 0 .1em .7em;
  border-left: 3px solid var(--color-accent, #f97316); font-size: .95em; }
.hd-reply mark { background: #fde68a; color: #111827; padding: 0 .1em; border-radius: 2px; }
#hd-header p { margin: 0; }
"""

# Characters that Markdown, GFM or KaTeX would act on; as entities they are only text.
_MD_ENTITIES = {c: f"&#{ord(c)};" for c in "\\`*_[]{}()#+-!|~$:>"}


def esc(text) -> str:
    """Untrusted text → HTML that shows exactly that text (no tags, no Markdown, no LaTeX)."""
    out = html.escape(str(text or ""), quote=True)
    out = "".join(_MD_ENTITIES.get(c, c) for c in out)
    return out.replace("\r", "").replace("\n", "<br>")


def _excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > limit // 2 else limit].rstrip() + " …"


def _passage_html(src: dict) -> str:
    text, hl = src.get("text") or "", src.get("highlight") or ""
    at = text.find(hl) if hl else -1
    if at < 0:
        return esc(_excerpt(text))
    pre, post = text[:at], text[at + len(hl):]
    pre = ("… " + pre[-200:].lstrip()) if len(pre) > 200 else pre
    post = (post[:200].rstrip() + " …") if len(post) > 200 else post
    return f"{esc(pre)}<mark>{esc(hl)}</mark>{esc(post)}"


def _source_html(i: int, src: dict) -> str:
    meta = [esc(src["date"])] if src.get("date") else []
    meta.append(f"mã bài {esc(src.get('doc_id', ''))}")
    if src.get("score") is not None:
        meta.append(f"điểm {esc(src['score'])}")
    return (f'<div class="hd-src"><div class="hd-src-title">[{i}] {esc(src.get("title") or "(không có tiêu đề)")}</div>'
            f'<div class="hd-meta">{" · ".join(meta)}</div>'
            f'<div class="hd-passage">{_passage_html(src)}</div></div>')


def reply_html(result: dict) -> str:
    """One assistant message: the answer, then its numbered sources (one HTML block, no blank lines).

    The first source(s) are open; the rest fold under "Xem thêm" so the answer stays in view."""
    parts = ['<div class="hd-reply">']
    if result.get("llm_note"):
        parts.append(f'<p class="hd-error">{esc(result["llm_note"])}</p>')
    parts.append(f'<p class="hd-answer">{esc(result.get("answer", ""))}</p>')
    if result.get("standalone_question"):
        parts.append(f'<div class="hd-meta">Hiểu câu hỏi là: {esc(result["standalone_question"])}</div>')
    sources = result.get("sources") or []
    if sources:
        found = bool(result.get("found"))
        shown = 1 if found else 2
        items = [_source_html(i, src) for i, src in enumerate(sources, 1)]
        parts.append(f'<div class="hd-heading">{"Nguồn" if found else "Các đoạn gần nhất"}</div>')
        parts.extend(items[:shown])
        if items[shown:]:
            parts.append(f'<details class="hd-more"><summary>Xem thêm {len(items) - shown} đoạn khác</summary>'
                         + "".join(items[shown:]) + "</details>")
    return "".join(parts) + "</div>"


def error_html(message: str) -> str:
    return f'<div class="hd-reply"><p class="hd-error">⚠️ {esc(message)}</p></div>'


def ask_steps(service, question: str, turns: list | None = None):
    """The answer object as it grows (streamed LLM text); bad questions and failures become one
    found=false object with an "error". `turns` are earlier (standalone question, answer) pairs."""
    from app.qa import BadQuestion

    try:
        yield from service.ask_stream(question, history=turns or [])
        return
    except BadQuestion as exc:
        message = str(exc)
    except Exception:  # noqa: BLE001 - the client gets a message, the log gets the traceback
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


def build_app(service, settings):
    import gradio as gr

    def add_question(question, history):
        history, shown = list(history or []), (question or "").strip()
        if shown:  # a blank question gets only the error message, no empty bubble
            shown = shown if len(shown) <= 300 else shown[:300] + " …"
            history.append({"role": "user", "content": esc(shown)})
        return "", history, question or ""

    def add_reply(question, history, turns):
        history, turns = list(history or []), list(turns or [])
        result = None
        for result in ask_steps(service, question, turns):
            content = error_html(result["error"]) if "error" in result else reply_html(result)
            yield history + [{"role": "assistant", "content": content}], turns
        if result and "error" not in result:
            turns.append((result.get("standalone_question", result["question"]), result["answer"]))
        yield history + [{"role": "assistant", "content": content}], turns[-5:]

    def api_ask(question):
        return ask_object(service, question if isinstance(question, str) else "")

    header = (f"**Mô hình:** {esc(service.model_label)} · **Đã nạp:** {service.n_documents} bài viết"
              + (f" · {LOCAL_NOTE}" if settings.host == "127.0.0.1" else ""))
    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        gr.Markdown(f"# {TITLE}\nHỏi đáp tiếng Việt trên các bài báo đã nạp; mỗi câu trả lời kèm đoạn nguồn.")
        gr.Markdown(header, elem_id="hd-header")
        chat = gr.Chatbot(
            label="Trò chuyện", show_label=False, elem_id="hd-chat", height="62vh", min_height=320,
            sanitize_html=True, render_markdown=True, latex_delimiters=[], allow_tags=False,
            feedback_options=None, buttons=[], layout="panel",  # "copy" would copy our HTML source
            placeholder="Hãy đặt một câu hỏi về các bài viết, hoặc chọn một câu hỏi mẫu bên dưới.",
        )
        with gr.Row(equal_height=True):
            box = gr.Textbox(label="Câu hỏi", placeholder="Ví dụ: Mai Sơn có bao nhiêu sản phẩm OCOP?",
                             lines=1, max_lines=4, scale=5, min_width=200, elem_id="hd-question",
                             max_length=settings.max_question_chars + 500)
            send = gr.Button("Hỏi", variant="primary", scale=1, min_width=80, elem_id="hd-send")
        examples = gr.Examples([[q] for q in EXAMPLES], inputs=[box], label="Câu hỏi mẫu",
                               api_visibility="private")
        new_chat = gr.Button("Cuộc trò chuyện mới", variant="secondary", size="sm", elem_id="hd-new")
        pending = gr.State("")
        turns = gr.State([])  # (standalone question, answer) pairs: what follow-ups refer to

        # Hidden pieces of the named API endpoint `ask` (question → the contract's JSON object).
        api_in = gr.Textbox(label="question", visible=False)
        api_out = gr.JSON(label="answer", visible=False)
        api_btn = gr.Button(visible=False)

        private = {"api_visibility": "private"}
        answer = {"fn": add_reply, "inputs": [pending, chat, turns], "outputs": [chat, turns], "concurrency_id": "qa",
                  "concurrency_limit": 1, "show_progress": "minimal", **private}
        for trigger in (box.submit, send.click):
            trigger(add_question, [box, chat], [box, chat, pending], queue=False, **private).then(**answer)
        examples.load_input_event.then(add_question, [box, chat], [box, chat, pending],
                                       queue=False, **private).then(**answer)
        new_chat.click(lambda: ([], "", "", []), None, [chat, box, pending, turns], queue=False, **private)
        api_btn.click(api_ask, [api_in], [api_out], api_name="ask", concurrency_id="qa", concurrency_limit=1,
                      api_description="Câu hỏi → đối tượng JSON như `hoidap ask --json`.")
    return demo


def launch(demo, host: str, port: int, **kwargs):
    """Start the server (shared by `serve` and the tests); returns what Blocks.launch returns."""
    kwargs.setdefault("quiet", True)
    import gradio as gr

    # System fonts only: the page loads nothing from outside this machine.
    theme = gr.themes.Default(font=["system-ui", "Segoe UI", "Roboto", "Noto Sans", "Arial", "sans-serif"],
                              font_mono=["ui-monospace", "Consolas", "monospace"])
    return demo.launch(server_name=host, server_port=port, css=CSS, theme=theme, footer_links=["api"],
                       show_error=False, **kwargs)


def serve(service, settings) -> None:
    """Serve the web app on settings.host:settings.port until interrupted."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    demo = build_app(service, settings)
    launch(demo, settings.host, settings.port, prevent_thread_lock=True)
    print(f"hoidap đang chạy tại http://{settings.host}:{settings.port}", flush=True)
    if settings.host == "127.0.0.1":
        print(LOCAL_NOTE, flush=True)
    print("Nhấn Ctrl+C để dừng.", flush=True)
    try:
        demo.block_thread()
    finally:
        demo.close()
