"""How an answer looks on the page: escaped HTML for the reply and its sources, the page's CSS.

Article text is untrusted: it is HTML-escaped (Markdown/LaTeX characters as entities) before any
markup of ours is added, so an article can neither run script nor restyle the page.
"""

import html

# Copies the latest answer as plain text (answer + its first source), not the HTML behind it;
# execCommand is the fallback for pages served over plain http on a LAN (no Clipboard API there).
COPY_JS = """() => {
  const replies = document.querySelectorAll('#hd-chat .hd-reply');
  const last = replies[replies.length - 1];
  if (!last) { return 'Chưa có câu trả lời để sao chép.'; }
  const answer = last.querySelector('.hd-answer');
  const src = last.querySelector('.hd-src-title');
  const text = (answer ? answer.innerText : last.innerText) + (src ? '\\nNguồn: ' + src.innerText : '');
  const area = document.createElement('textarea');
  area.value = text; document.body.appendChild(area); area.select();
  let done = false;
  try { done = document.execCommand('copy'); } catch (e) { done = false; }
  area.remove();
  if (navigator.clipboard && window.isSecureContext) { navigator.clipboard.writeText(text); done = true; }
  return done ? 'Đã sao chép câu trả lời.' : 'Trình duyệt không cho sao chép; hãy bôi đen câu trả lời rồi nhấn Ctrl+C.';
}"""
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


def _answer_html(result: dict) -> str:
    """The answer with what was asked for (its span: a figure, name, date or place) in bold."""
    answer, span = str(result.get("answer", "")), str(result.get("span") or "")
    at = answer.find(span) if span and result.get("found") else -1
    if at < 0 or span == answer:
        return esc(answer)
    return f"{esc(answer[:at])}<strong>{esc(span)}</strong>{esc(answer[at + len(span):])}"


def _source_html(i: int, src: dict) -> str:
    meta = [esc(src["date"])] if src.get("date") else []
    meta.append(f"mã bài {esc(src.get('doc_id', ''))}")
    if src.get("score") is not None:
        meta.append(f"điểm {esc(src['score'])}")
    url = str(src.get("url") or "")
    if url.startswith(("http://", "https://")):  # checked at ingest too: never javascript: or data:
        meta.append(f'<a href="{html.escape(url, quote=True)}" target="_blank" rel="noopener noreferrer nofollow">'
                    "bài gốc ↗</a>")
    return (f'<div class="hd-src"><div class="hd-src-title">[{i}] {esc(src.get("title") or "(không có tiêu đề)")}</div>'
            f'<div class="hd-meta">{" · ".join(meta)}</div>'
            f'<div class="hd-passage">{_passage_html(src)}</div></div>')


def reply_html(result: dict, note: str = "") -> str:
    """One assistant message: the answer, then its numbered sources (one HTML block, no blank lines).

    The first source(s) are open; the rest fold under "Xem thêm" so the answer stays in view.
    `note` (plain text, e.g. the filters in force) is shown above the answer."""
    parts = ['<div class="hd-reply">']
    if note:
        parts.append(f'<div class="hd-meta hd-filter-note">{esc(note)}</div>')
    if result.get("llm_note"):
        parts.append(f'<p class="hd-error">{esc(result["llm_note"])}</p>')
    parts.append(f'<p class="hd-answer">{_answer_html(result)}</p>')
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
