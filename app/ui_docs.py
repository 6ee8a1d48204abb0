"""The web app's document management tab (administrators only): upload, list, remove.

Layout and handlers only; the work is in app/library.py. Every handler checks the caller's role on
the server, whatever the page shows, and turns a refused upload into a Vietnamese message.
"""


import logging

from app.library import ALLOWED_SUFFIXES, LibraryError

log = logging.getLogger(__name__)

ADMIN_ONLY = "Chỉ quản trị viên mới được quản lý bài viết."
HEADERS = ["Tiêu đề", "Ngày", "Số đoạn", "Nguồn", "Mã bài"]
CSS = """
#hd-docs .hd-doc-table { width: 100%; border-collapse: collapse; font-size: .92em; }
#hd-docs th, #hd-docs td { text-align: left; padding: .35em .5em; vertical-align: top;
  border-bottom: 1px solid var(--border-color-primary, #e5e7eb); overflow-wrap: anywhere; }
#hd-docs td.hd-num { text-align: right; }
#hd-docs .hd-doc-table, #hd-docs .hd-doc-table tr { border: 0 !important; }
@media (max-width: 640px) {
  #hd-docs thead { display: none; }
  #hd-docs tr { display: block; padding: .4em 0; border-bottom: 1px solid var(--border-color-primary, #e5e7eb); }
  #hd-docs td { display: inline; border: 0; padding: 0 .5em 0 0; font-size: .9em; opacity: .85; }
  #hd-docs td.hd-title { display: block; font-weight: 600; opacity: 1; }
  #hd-docs td.hd-num::after { content: " đoạn"; }
}
"""


def docs_html(rows: list[list], esc) -> str:
    """The article list as an HTML table (escaped text; stacks into cards on a phone)."""
    head = "".join(f"<th>{h}</th>" for h in HEADERS)
    body = "".join(
        f'<tr><td class="hd-title">{esc(title)}</td><td>{esc(date)}</td><td class="hd-num">{int(chunks)}</td>'
        f"<td>{esc(origin)}</td><td>{esc(doc_id)}</td></tr>"
        for title, date, chunks, origin, doc_id in rows)
    return f'<table class="hd-doc-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def doc_choices(service) -> list[tuple[str, str]]:
    """(label, doc_id) pairs for article pickers, in title order."""
    docs = service.documents
    return sorted(((f"{r.get('title') or d} ({d})", d) for d, r in docs.items()), key=lambda c: c[0].casefold())


def build_docs_tab(gr, library, access, esc, on_change: list):
    """Add the tab inside the current Blocks; returns (tab, refresh_fn, outputs of refresh_fn).

    `on_change` lists (component, fn(service) → update) pairs elsewhere on the page (the filter's
    article list, the header) that must follow an upload or removal."""
    service = library.service
    limit = library.settings.max_upload_mb
    with gr.Tab("Quản lý bài viết", id="docs", visible=False, elem_id="hd-docs-tab") as tab:
        gr.Markdown(f"Thêm bài viết ({' '.join(ALLOWED_SUFFIXES)}; tối đa {limit:g} MB). Bài mới dùng được ngay "
                    "sau khi nạp xong, không cần khởi động lại.")
        upload = gr.File(label="Tệp bài viết", file_count="single", elem_id="hd-upload", height=120)
        add_btn = gr.Button("Thêm vào chỉ mục", variant="primary", elem_id="hd-add")
        status = gr.Markdown(elem_id="hd-doc-status")
        gr.Markdown("**Các bài viết đã nạp**")
        table = gr.HTML(docs_html(library.rows(), esc), elem_id="hd-docs")
        with gr.Row(equal_height=True):
            pick = gr.Dropdown(choices=doc_choices(service), label="Bài viết cần xoá", scale=4, min_width=200,
                               elem_id="hd-remove-pick")
            remove_btn = gr.Button("Xoá bài viết", variant="stop", scale=1, min_width=100, elem_id="hd-remove")

    extra = [component for component, _ in on_change]

    def refreshed(message: str | None):
        updates = [docs_html(library.rows(), esc), gr.update(choices=doc_choices(service), value=None)]
        updates += [fn(service) for _, fn in on_change]
        return ([message] if message is not None else []) + updates

    def add(file, request: gr.Request):
        if not access.is_admin(request):
            return [f"⚠️ {ADMIN_ONLY}", None] + refreshed(None)
        if not file:
            return ["⚠️ Hãy chọn một tệp trước khi bấm “Thêm vào chỉ mục”.", None] + refreshed(None)
        from pathlib import Path

        path = Path(file if isinstance(file, str) else getattr(file, "name", ""))
        try:
            message = "✅ " + library.add(path.name, path)
        except LibraryError as exc:
            message = f"⚠️ {exc}"
        except Exception:  # the page gets a message, the log the traceback
            log.exception("upload of %s failed", path.name)
            message = "⚠️ Đã có lỗi khi nạp tệp này; chỉ mục giữ nguyên. Xin thử lại."
        return [esc(message), None] + refreshed(None)

    def remove(doc_id, request: gr.Request):
        if not access.is_admin(request):
            return refreshed(f"⚠️ {ADMIN_ONLY}")
        try:
            message = "✅ " + library.remove(doc_id)
        except LibraryError as exc:
            message = f"⚠️ {exc}"
        except Exception:
            log.exception("removal of %s failed", doc_id)
            message = "⚠️ Đã có lỗi khi xoá; chỉ mục giữ nguyên. Xin thử lại."
        return refreshed(esc(message))

    private = {"api_visibility": "private", "concurrency_id": "docs", "concurrency_limit": 1}
    add_btn.click(add, [upload], [status, upload, table, pick, *extra], **private)
    remove_btn.click(remove, [pick], [status, table, pick, *extra], **private)

    def refresh():
        return refreshed(None)

    return tab, refresh, [table, pick, *extra]
