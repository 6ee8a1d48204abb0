"""Settings for a hoidap deployment: typed defaults here, a TOML file for deployments, env for secrets.

Precedence: defaults < config file (`--config`, else DATA_DIR/hoidap.toml, else ./hoidap.toml)
< environment variables for machine-specific values (HOIDAP_DATA_DIR) and the LLM connection
(HOIDAP_LLM_BASE_URL, HOIDAP_LLM_MODEL, HOIDAP_LLM_API_KEY). Nothing is read at import time.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

from index.settings import IndexSettings, RetrievalSettings, setting

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLES_DIR = REPO_ROOT / "samples"


@dataclass
class LLMSettings:
    base_url: str = setting("", "OpenAI-compatible server URL (vLLM, llama.cpp, Ollama…); empty = no LLM.")
    model: str = setting("", "Model name the server expects.")
    api_key: str = setting("", "API key, if the server wants one (from HOIDAP_LLM_API_KEY).")
    timeout_s: float = setting(30.0, "Give up on the LLM after this many seconds and answer extractively.")


@dataclass
class AuthSettings:
    users: list[dict] = field(default_factory=list, metadata={"description": (
        "Accounts: [{name, password_hash, role}] with role 'admin' or 'user'; password_hash from "
        "`hoidap hash-password` (scrypt). Empty (and no proxy_header) = no sign-in, loopback only.")})
    proxy_header: str = setting("", "Trust this request header (e.g. X-Forwarded-User) as the signed-in user; set it "
                                    "only behind a reverse proxy that always sets it. Roles come from `users` by name.")
    allow_open_network: bool = setting(False, "Serve a non-loopback host without sign-in (everyone is admin).")

    @property
    def enabled(self) -> bool:
        return bool(self.users or self.proxy_header)


@dataclass
class Settings:
    data_dir: Path = setting(Path("data"), "Where the index, caches and logs live ($HOIDAP_DATA_DIR).")
    top_k: int = setting(5, "Passages shown with each answer.")
    max_question_chars: int = setting(2000, "Longer questions are refused with a message.")
    host: str = setting("127.0.0.1", "Address the web app listens on.")
    port: int = setting(7860, "Port the web app listens on.")
    reader: bool = setting(True, "Re-read the answer model's best sentences with the reader (app/reader.py, "
                                 "20–35 ms a question on 2 cores); false = the answer model alone.")
    reader_weights: str = setting("", "The reader's weights (its .json record beside them); empty = the committed "
                                      "app/reader_model.safetensors (`hoidap train-reader --out` writes others).")
    reader_backend: str = setting("auto", "How the reader runs: 'torch', 'onnx' (ONNX Runtime, float32, exported once "
                                          "into the model cache) or 'auto' (torch where the CPU has native bfloat16, else onnx).")
    max_upload_mb: float = setting(10.0, "Largest article file an administrator may upload through the page.")
    index: IndexSettings = field(default_factory=IndexSettings)
    retrieval: RetrievalSettings = field(default_factory=RetrievalSettings)
    llm: LLMSettings = field(default_factory=LLMSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)


class ConfigError(Exception):
    """The config file is unreadable or names an unknown setting."""


def _apply(target, values: dict, where: str) -> None:
    known = {f.name: f for f in fields(target)}
    for key, value in values.items():
        if key not in known:
            raise ConfigError(f"{where}: thiết lập không tồn tại '{key}' (unknown setting)")
        current = getattr(target, key)
        if isinstance(value, dict):
            _apply(current, value, f"{where}.{key}")
        elif isinstance(current, Path):
            setattr(target, key, Path(value))
        elif isinstance(current, tuple):
            setattr(target, key, tuple(value))
        else:
            setattr(target, key, value)


def load_settings(data_dir: str | Path | None = None, config_file: str | Path | None = None,
                  env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    settings = Settings()
    chosen_dir = Path(data_dir or env.get("HOIDAP_DATA_DIR") or "data")
    candidates = [Path(config_file)] if config_file else [chosen_dir / "hoidap.toml", Path("hoidap.toml")]
    for path in candidates:
        if path.is_file():
            try:
                values = tomllib.loads(path.read_text(encoding="utf-8"))
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise ConfigError(f"{path}: không đọc được tệp cấu hình ({exc})") from exc
            _apply(settings, values, str(path))
            break
        if config_file:
            raise ConfigError(f"{path}: không tìm thấy tệp cấu hình")
    settings.data_dir = chosen_dir if (data_dir or env.get("HOIDAP_DATA_DIR")) else settings.data_dir
    for attr, var in (("base_url", "HOIDAP_LLM_BASE_URL"), ("model", "HOIDAP_LLM_MODEL"), ("api_key", "HOIDAP_LLM_API_KEY")):
        if env.get(var):
            setattr(settings.llm, attr, env[var])
    return settings
