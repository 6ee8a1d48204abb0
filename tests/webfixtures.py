"""Helpers for the web-app tests: a real Gradio server of app.ui on a free local port.

Imported by tests/test_app_web.py and tests/test_app_browser.py (the model itself is loaded once per
session by conftest's `service` fixture).
"""

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

import contextlib
import socket
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OCOP_QUESTION = "Mai Sơn có bao nhiêu sản phẩm OCOP?"
OCOP_DOC = "001_ad2f1263791dfcf2"
XSS_ARTICLE = (
    "Thông báo thử nghiệm\n\n"
    "Xã Thử Nghiệm có 77 hợp tác xã kiểu mới. <script>window.__pwned=1</script> "
    "<img src=x onerror=\"window.__pwned=2\"> <style>body{display:none}</style> **đậm** [liên kết](javascript:alert(1))\n"
)
XSS_QUESTION = "Xã Thử Nghiệm có bao nhiêu hợp tác xã?"


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 20_000


@contextlib.contextmanager
def launched_chromium():
    """Debian's headless Chromium driven by Playwright; a missing browser fails the test (never skips)."""
    import pytest

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install it with `apt-get install -y chromium` (CI does).")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_app(service, settings):
    """Yield the URL of build_app(service, settings) served on 127.0.0.1; close it afterwards."""
    from app import ui

    demo = ui.build_app(service, settings)
    port = free_port()
    ui.launch(demo, "127.0.0.1", port, prevent_thread_lock=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                assert response.status == 200
        except urllib.error.HTTPError as exc:  # behind a proxy-header sign-in, a bare request is refused
            assert exc.code == 401 and settings.auth.proxy_header, exc
        yield url
    finally:
        demo.close()


def xss_service(folder: Path):
    """A QAService over a separate data dir holding one hostile article (xss.txt)."""
    from app.cli import run_ingest
    from app.config import load_settings
    from app.qa import QAService

    articles = folder / "articles"
    articles.mkdir(parents=True)
    (articles / "xss.txt").write_text(XSS_ARTICLE, encoding="utf-8")
    settings = load_settings(data_dir=folder / "data", env={})
    result = run_ingest(settings, [articles], progress=False)
    assert result.added, result.skipped
    return QAService.open(settings), settings


def copied_service(sample_settings, folder: Path, auth: dict | None = None, max_upload_mb: float | None = None):
    """A QAService over a copy of the sample index (no re-embedding), with its own data dir to change."""
    import shutil

    from app.config import AuthSettings, load_settings
    from app.qa import QAService

    shutil.copytree(sample_settings.data_dir, folder / "data")
    settings = load_settings(data_dir=folder / "data", env={})
    if auth:
        settings.auth = AuthSettings(**auth)
    if max_upload_mb is not None:
        settings.max_upload_mb = max_upload_mb
    return QAService.open(settings), settings
