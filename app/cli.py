"""The `hoidap` command: ingest, ask, serve; eval and bench are plugged in by eval/ (entry points).

Composition happens here: settings → embedder → index → QAService. Heavy libraries are imported
inside the commands, so `hoidap --help` is instant. Exit codes: 0 success, 1 failure while
working, 2 bad usage or bad input (one-line reason on stderr).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from importlib.metadata import entry_points
from pathlib import Path

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class CommandError(Exception):
    def __init__(self, message: str, code: int = EXIT_FAIL):
        super().__init__(message)
        self.code = code


def quiet_libraries() -> None:
    """Library defaults that suit a CLI: no analytics, no download bars, no tokenizer threads."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def settings_from(args):
    from app.config import ConfigError, load_settings

    try:
        return load_settings(getattr(args, "data_dir", None), getattr(args, "config", None))
    except ConfigError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from exc


# -- ingest ---------------------------------------------------------------------------------------
def run_ingest(settings, paths: list[Path], rebuild: bool = False, progress: bool = True):
    """Ingest paths into settings.data_dir; returns the IngestResult. Shared by serve/ask autoload.

    Articles an administrator removed through the web page stay out (app/library.py)."""
    from app.library import removed_documents
    from index.embed import embedder_for
    from index.fusion import weights_for
    from index.update import update_index

    return update_index(settings.data_dir, paths, settings.index, embedder_for,
                        weights_for, rebuild=rebuild, progress=progress,
                        exclude=removed_documents(settings.data_dir))


def cmd_ingest(args) -> int:
    from app.config import SAMPLES_DIR

    settings = settings_from(args)
    from app.library import UPLOADS

    paths = [Path(p) for p in args.paths] or [SAMPLES_DIR]
    uploads = settings.data_dir / UPLOADS
    if args.rebuild and uploads.is_dir() and any(uploads.iterdir()) and uploads not in paths:
        paths.append(uploads)  # articles added through the web page have no other copy
        print(f"Dựng lại gồm cả các bài đã tải lên qua trang web ({uploads}).")
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise CommandError(f"Không tìm thấy: {', '.join(missing)} (no such file or folder)", EXIT_USAGE)
    result = run_ingest(settings, paths, rebuild=args.rebuild)
    for path, reason in result.skipped:
        print(f"Bỏ qua {path}: {reason}", file=sys.stderr)
    if result.manifest is None:
        raise CommandError("Không có bài viết nào đọc được (no readable article).", EXIT_USAGE)
    m = result.manifest
    print(f"Thêm mới {len(result.added)}, cập nhật {len(result.updated)}, không đổi {len(result.unchanged)}, "
          f"bỏ qua {len(result.skipped)} tệp.")
    if not result.changed:
        print("Không có thay đổi: chỉ mục giữ nguyên (nothing changed).")
    if result.notice:
        print(result.notice)
    # What computed this build's new vectors when it differs from the backend's name (ONNX Runtime, torch bulk).
    computed = (m.vector_index or {}).get("embedded_with") or ""
    backend = m.embed_model.get("backend", "torch") + (f" · {computed}" if computed and computed != m.embed_model.get("backend") else "")
    print(f"Chỉ mục: {len(m.documents)} bài, {m.n_chunks} đoạn, mô hình {m.embed_model['name']} "
          f"({m.embed_model['dimension']} chiều, {backend}), tại {settings.data_dir}")
    if result.stats:
        st = result.stats
        print(f"Đã nhúng {st['embedded']} đoạn, dùng lại {st['reused_vectors']}, trong {st['seconds']} giây.")
    return EXIT_OK


# -- ask ------------------------------------------------------------------------------------------
def open_service(settings, autoload: bool = True):
    """QAService over settings.data_dir; an empty data dir first gets the sample corpus."""
    from app.config import SAMPLES_DIR
    from app.qa import QAService
    from index.build import current_build
    from index.embed import ModelUnavailable
    from index.manifest import IndexMismatch, IndexMissing

    try:
        if autoload and current_build(settings.data_dir) is None:
            print(f"Chưa có chỉ mục trong {settings.data_dir}: đang nạp bộ bài mẫu…", file=sys.stderr)
            run_ingest(settings, [SAMPLES_DIR], progress=False)
        return QAService.open(settings)
    except (IndexMismatch, IndexMissing, ModelUnavailable) as exc:  # their messages say what to run
        raise CommandError(str(exc), EXIT_FAIL) from exc


def _read_batch(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"Không đọc được {path}: {exc}", EXIT_USAGE) from exc
    questions = []
    for line in lines:
        line = line.strip()
        if not line:
            continue
        if line.startswith("{"):
            try:
                questions.append(str(json.loads(line).get("question", "")))
            except (ValueError, AttributeError):
                questions.append(line)
        else:
            questions.append(line)
    return questions


def print_answer(result: dict) -> None:
    print(result["answer"])
    print()
    for i, src in enumerate(result["sources"], 1):
        date = f", {src['date']}" if src.get("date") else ""
        cited = " ← nguồn của câu trả lời" if src.get("cited") else ""
        print(f"[{i}] {src['title']}{date} ({src['doc_id']}, điểm {src['score']}){cited}")
        excerpt = src.get("highlight") or src["text"]
        print("    " + (excerpt[:300] + ("…" if len(excerpt) > 300 else "")))
    print(f"\nMô hình: {result['model']}")


def cmd_ask(args) -> int:
    from app.qa import BadQuestion, check_question

    settings = settings_from(args)
    if args.batch:
        questions = _read_batch(Path(args.batch))
        service = open_service(settings)
        for question in questions:
            try:
                out = service.ask(question, k=args.k)
            except BadQuestion as exc:
                out = {"question": question, "answer": "", "found": False, "sources": [],
                       "model": service.model_label, "error": str(exc)}
            print(json.dumps(out, ensure_ascii=False), flush=True)
        return EXIT_OK
    if args.question is None:
        raise CommandError("Thiếu câu hỏi: hoidap ask \"CÂU HỎI\" hoặc --batch TỆP", EXIT_USAGE)
    try:
        check_question(args.question, settings.max_question_chars)  # before the slow model load
        out = open_service(settings).ask(args.question, k=args.k)
    except BadQuestion as exc:
        raise CommandError(str(exc), EXIT_USAGE) from exc
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=1))
    else:
        print_answer(out)
    return EXIT_OK


# -- serve ----------------------------------------------------------------------------------------
def cmd_serve(args) -> int:
    settings = settings_from(args)
    settings.host = args.host or settings.host
    settings.port = args.port or settings.port
    from app.auth import Access, AuthConfigError

    try:  # before the model loads: a bad [auth] section or an unsafe host stops at once
        Access(settings.auth, settings.host).check_exposure()
    except AuthConfigError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from exc
    service = open_service(settings)
    from app.ui import serve

    serve(service, settings)
    return EXIT_OK


# -- accounts and feedback -----------------------------------------------------------------------
def cmd_hash_password(args) -> int:
    import getpass

    from app.auth import hash_password

    if args.stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Mật khẩu: ")
        if getpass.getpass("Nhập lại: ") != password:
            raise CommandError("Hai lần nhập không khớp.", EXIT_USAGE)
    if len(password) < 8:
        raise CommandError("Mật khẩu cần ít nhất 8 ký tự.", EXIT_USAGE)
    print(hash_password(password))
    return EXIT_OK


def cmd_export_feedback(args) -> int:
    from app.audit import FILENAME, AuditLog, export_jsonl

    settings = settings_from(args)
    if not (settings.data_dir / FILENAME).is_file():
        raise CommandError(f"Chưa có nhật ký hỏi đáp ở {settings.data_dir / FILENAME}.", EXIT_USAGE)
    n = export_jsonl(AuditLog(settings.data_dir), Path(args.out), args.rating)
    print(f"Đã ghi {n} câu hỏi có góp ý vào {args.out} (đọc lại bằng `hoidap eval {args.out}`).")
    return EXIT_OK


# -- parser ---------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hoidap", description="hỏi đáp: hỏi đáp tiếng Việt trên các bài viết (question answering over Vietnamese articles)"
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", help="thư mục dữ liệu (default: $HOIDAP_DATA_DIR or ./data)")
    common.add_argument("--config", help="tệp cấu hình TOML (default: DATA_DIR/hoidap.toml or ./hoidap.toml)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", parents=[common], help="nạp bài viết (.txt .md .html .docx .pdf) vào chỉ mục")
    p.add_argument("paths", nargs="*", help="tệp hoặc thư mục (default: bộ bài mẫu)")
    p.add_argument("--rebuild", action="store_true", help="dựng lại chỉ mục từ đầu")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("ask", parents=[common], help="đặt một câu hỏi")
    p.add_argument("question", nargs="?", help="câu hỏi tiếng Việt")
    p.add_argument("--json", action="store_true", help="in kết quả dạng JSON")
    p.add_argument("--batch", metavar="FILE", help="JSONL có trường \"question\" (hoặc mỗi dòng một câu hỏi)")
    p.add_argument("-k", type=int, default=None, help="số đoạn nguồn trả về")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("serve", parents=[common], help="chạy ứng dụng web (Gradio)")
    p.add_argument("--host", default=None)
    p.add_argument("--port", type=int, default=None)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("hash-password", help="tạo password_hash (scrypt) cho mục [auth] users trong hoidap.toml")
    p.add_argument("--stdin", action="store_true", help="đọc mật khẩu từ dòng đầu của stdin")
    p.set_defaults(func=cmd_hash_password)

    p = sub.add_parser("export-feedback", parents=[common],
                       help="xuất góp ý 👍/👎 thành JSONL mà `hoidap eval` đọc được")
    p.add_argument("--out", required=True, help="tệp JSONL cần ghi")
    p.add_argument("--rating", choices=["up", "down", "all"], default="up",
                   help="up (mặc định): câu được 👍, dùng ngay làm câu hỏi kiểm thử; down: câu bị 👎, cần "
                        "người xem lại và điền đáp án; all: cả hai")
    p.set_defaults(func=cmd_export_feedback)

    # eval/ adds `eval` and `bench` here; app/ never imports eval/ (the data flow's rule).
    for entry in entry_points(group="hoidap.commands"):
        entry.load()(sub, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    quiet_libraries()
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "k", None) is not None and args.k < 1:
        parser.exit(EXIT_USAGE, "hoidap: lỗi: -k phải ≥ 1\n")
    try:
        return args.func(args)
    except CommandError as exc:
        print(f"hoidap: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print("hoidap: đã dừng (interrupted); chỉ mục trước đó vẫn dùng được.", file=sys.stderr)
        return EXIT_FAIL
    except Exception as exc:  # a failure while working: one line, unless asked for the traceback
        if os.environ.get("HOIDAP_DEBUG"):
            raise
        print(f"hoidap: lỗi khi thực hiện ({type(exc).__name__}: {exc}); đặt HOIDAP_DEBUG=1 để xem chi tiết.",
              file=sys.stderr)
        return EXIT_FAIL


if __name__ == "__main__":
    sys.exit(main())
