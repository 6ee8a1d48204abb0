"""Access: scrypt password hashes, roles, the loopback-only default, sign-in and proxy headers on a real server."""

import io
import sys

import pytest

from app.audit import AuditLog
from app.auth import (
    Access,
    AuthConfigError,
    hash_password,
    is_loopback,
    verify_password,
)
from app.cli import main
from app.config import AuthSettings, load_settings
from tests.webfixtures import OCOP_QUESTION, copied_service, running_app

ADMIN_PW, USER_PW = "mat-khau-quan-tri", "mat-khau-can-bo"


def accounts():
    return {"users": [{"name": "quantri", "password_hash": hash_password(ADMIN_PW), "role": "admin"},
                      {"name": "canbo", "password_hash": hash_password(USER_PW), "role": "user"}]}


def test_hashes_are_salted_scrypt_and_verify():
    first, second = hash_password("bí mật 123"), hash_password("bí mật 123")
    assert first.startswith("scrypt$") and first != second and "bí mật" not in first
    assert verify_password("bí mật 123", first) and verify_password("bí mật 123", second)
    assert not verify_password("bi mat 123", first)
    assert not verify_password("bí mật 123", "plain-text") and not verify_password("x", "scrypt$1$2")


def test_hash_password_command(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("mot-mat-khau-dai\n"))
    assert main(["hash-password", "--stdin"]) == 0
    assert verify_password("mot-mat-khau-dai", capsys.readouterr().out.strip())
    monkeypatch.setattr(sys, "stdin", io.StringIO("ngan\n"))
    assert main(["hash-password", "--stdin"]) == 2
    assert "ít nhất 8 ký tự" in capsys.readouterr().err


def test_roles_and_login():
    import gradio as gr

    access = Access(AuthSettings(**accounts()))
    assert access.login("quantri", ADMIN_PW) and not access.login("quantri", USER_PW) and not access.login("ai", "x")
    assert access.is_admin(gr.Request(username="quantri"))
    assert not access.is_admin(gr.Request(username="canbo"))
    assert not access.is_admin(gr.Request(username=None))
    local = Access(AuthSettings())
    assert not local.enabled and local.is_admin(gr.Request())  # one local person manages their articles


@pytest.mark.parametrize(("users", "words"), [
    ([{"name": "a", "password": "plain", "role": "admin"}], "password_hash"),
    ([{"name": "a", "password_hash": hash_password("x"), "role": "boss"}], "vai trò"),
    ([{"password_hash": hash_password("x")}], "name"),
])
def test_bad_auth_config_is_refused(users, words):
    with pytest.raises(AuthConfigError, match=words):
        Access(AuthSettings(users=users))


def test_config_file_auth_section(tmp_path):
    (tmp_path / "hoidap.toml").write_text(
        '[auth]\nproxy_header = "X-Remote-User"\n[[auth.users]]\nname = "quantri"\nrole = "admin"\n', encoding="utf-8")
    settings = load_settings(data_dir=tmp_path, env={})
    assert settings.auth.proxy_header == "X-Remote-User" and settings.auth.users[0]["role"] == "admin"


def test_no_sign_in_means_loopback_only(tmp_path, capsys):
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1") and not is_loopback("0.0.0.0")
    code = main(["serve", "--host", "0.0.0.0", "--data-dir", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err
    assert "chưa cấu hình đăng nhập" in err and "allow_open_network" in err
    assert not (tmp_path / "index").exists()  # refused before anything was loaded or built
    Access(AuthSettings(allow_open_network=True), "0.0.0.0").check_exposure()
    Access(AuthSettings(**accounts()), "0.0.0.0").check_exposure()


@pytest.fixture(scope="module")
def signed_app(sample_settings, tmp_path_factory):
    service, settings = copied_service(sample_settings, tmp_path_factory.mktemp("auth"), auth=accounts())
    with running_app(service, settings) as url:
        yield url, settings


def test_sign_in_required_for_the_api(signed_app):
    from gradio_client import Client

    url, settings = signed_app
    with pytest.raises(Exception):  # noqa: B017 - gradio_client raises its own kinds for a 401
        Client(url, verbose=False).predict(OCOP_QUESTION, api_name="/ask")
    with pytest.raises(Exception):  # noqa: B017
        Client(url, verbose=False, auth=("canbo", ADMIN_PW))
    result = Client(url, verbose=False, auth=("canbo", USER_PW)).predict(OCOP_QUESTION, api_name="/ask")
    assert "20" in result["answer"]
    last = AuditLog(settings.data_dir).answers()[-1]
    assert (last["user"], last["channel"], last["question"]) == ("canbo", "api", OCOP_QUESTION)


def test_proxy_header_is_trusted_only_when_configured(sample_settings, tmp_path):
    from gradio_client import Client

    service, settings = copied_service(sample_settings, tmp_path, auth={"proxy_header": "X-Remote-User"})
    with running_app(service, settings) as url:
        result = Client(url, verbose=False, headers={"X-Remote-User": "chuyenvien"}).predict(
            OCOP_QUESTION, api_name="/ask")
        assert "20" in result["answer"]
        assert AuditLog(settings.data_dir).answers()[-1]["user"] == "chuyenvien"
        with pytest.raises(Exception):  # noqa: B017 - no header: 401
            Client(url, verbose=False).predict(OCOP_QUESTION, api_name="/ask")


def call_private(url, user, password, elem_id, data):
    """Call a page-only event handler over Gradio's HTTP queue protocol, as a crafted request would."""
    import json

    import httpx

    with httpx.Client(base_url=url, timeout=60) as http:
        assert http.post("/login", data={"username": user, "password": password}).status_code == 200
        config = http.get("/config").json()
        ids = {c["props"]["elem_id"]: c["id"] for c in config["components"] if c.get("props", {}).get("elem_id")}
        dep = next(d for d in config["dependencies"] if [ids[elem_id], "click"] in [list(t) for t in d["targets"]])
        session = f"test-{user}"
        joined = http.post("/gradio_api/queue/join", json={"data": data, "fn_index": dep["id"], "session_hash": session,
                                                           "event_data": None, "trigger_id": ids[elem_id]})
        assert joined.status_code == 200, joined.text
        with http.stream("GET", "/gradio_api/queue/data", params={"session_hash": session}) as stream:
            for line in stream.iter_lines():
                if line.startswith("data:") and json.loads(line[5:]).get("msg") == "process_completed":
                    return json.loads(line[5:])["output"]["data"]
    raise AssertionError("no answer from the queue")


def test_document_removal_is_refused_server_side_for_users(signed_app):
    url, settings = signed_app
    from app.qa import QAService

    doc = "002_fb14a67d0406c0de"
    refused = call_private(url, "canbo", USER_PW, "hd-remove", [doc])
    assert "Chỉ quản trị viên" in refused[0]
    assert doc in QAService.open(settings).documents  # still indexed
    done = call_private(url, "quantri", ADMIN_PW, "hd-remove", [doc])
    assert "Đã xoá" in done[0]
    assert doc not in QAService.open(settings).documents
