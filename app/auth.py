"""Who is asking: sign-in against hashed passwords from the config file, or a trusted proxy header.

Passwords are stored as scrypt hashes ("scrypt$n$r$p$salt$hash", base64) made by `hoidap
hash-password`; roles are 'admin' (document management) and 'user'. Without any auth setting the
app serves loopback only, for one person, who is then the administrator.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import os

ROLES = ("admin", "user")
LOCAL_USER = "local"  # the one person of an unauthenticated loopback app
_N, _R, _P = 2**14, 8, 1
# Gradio draws the login form before any of the app's settings reach the page, so its own labels
# stay English; this message, shown above them, says in Vietnamese what goes where.
LOGIN_MESSAGE = ("<b>hoidap — hỏi đáp</b>: đăng nhập bằng tài khoản được cấp. Ô <i>username</i> là tên đăng "
                 "nhập, ô <i>password</i> là mật khẩu, rồi bấm <i>Login</i> (Đăng nhập).")


class AuthConfigError(ValueError):
    """The auth settings cannot be used as written (bad hash, unknown role, unsafe exposure)."""


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or os.urandom(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        want = base64.b64decode(digest)
        got = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(want), maxmem=256 * 1024 * 1024)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Access:
    """The deployment's access rules (from AuthSettings), asked by the web app on every request."""

    def __init__(self, auth_settings, host: str = "127.0.0.1"):
        self.settings = auth_settings
        self.host = host
        self.users: dict[str, dict] = {}
        for entry in auth_settings.users:
            name, role = str(entry.get("name", "")).strip(), entry.get("role", "user")
            if not name:
                raise AuthConfigError("[auth] users: mỗi người dùng cần có 'name'.")
            if role not in ROLES:
                raise AuthConfigError(f"[auth] người dùng '{name}': vai trò '{role}' không hợp lệ (admin hoặc user).")
            if not auth_settings.proxy_header and not str(entry.get("password_hash", "")).startswith("scrypt$"):
                raise AuthConfigError(f"[auth] người dùng '{name}': thiếu password_hash dạng scrypt "
                                      "(tạo bằng `hoidap hash-password`).")
            self.users[name] = {"role": role, "password_hash": str(entry.get("password_hash", ""))}

    @property
    def enabled(self) -> bool:
        return bool(self.users or self.settings.proxy_header)

    @property
    def uses_login_page(self) -> bool:
        return bool(self.users) and not self.settings.proxy_header

    def check_exposure(self) -> None:
        """Refuse to serve a non-loopback address to everyone unless the config says so."""
        if not self.enabled and not is_loopback(self.host) and not self.settings.allow_open_network:
            raise AuthConfigError(
                f"Không chạy trên địa chỉ {self.host} khi chưa cấu hình đăng nhập: ai vào được mạng cũng sẽ có quyền "
                "quản trị. Thêm [auth] users (hoặc proxy_header) vào hoidap.toml, dùng --host 127.0.0.1, "
                "hoặc đặt [auth] allow_open_network = true nếu thật sự muốn."
            )

    def login(self, username: str, password: str) -> bool:
        """Gradio's auth callable: is this a configured user with this password?"""
        user = self.users.get(str(username or "").strip())
        return bool(user) and verify_password(str(password or ""), user["password_hash"])

    def proxy_user(self, request) -> str | None:
        """Gradio's auth_dependency: the trusted header's user name (None = not signed in → 401)."""
        value = (request.headers.get(self.settings.proxy_header) or "").strip()
        return value or None

    def user_of(self, request) -> str:
        """The signed-in user of a gradio.Request ('' when unknown)."""
        if not self.enabled:
            return LOCAL_USER
        name = getattr(request, "username", None) if request is not None else None
        if not name and self.settings.proxy_header and request is not None:
            name = (request.headers.get(self.settings.proxy_header) or "").strip()
        return str(name or "")

    def role_of(self, user: str) -> str | None:
        if not self.enabled:
            return "admin"  # the one local user manages their own articles
        if not user:
            return None
        known = self.users.get(user)
        return known["role"] if known else "user"

    def is_admin(self, request) -> bool:
        return self.role_of(self.user_of(request)) == "admin"

    def launch_kwargs(self) -> dict:
        if self.settings.proxy_header:
            return {"auth_dependency": self.proxy_user}
        if self.users:
            return {"auth": self.login, "auth_message": LOGIN_MESSAGE}
        return {}
