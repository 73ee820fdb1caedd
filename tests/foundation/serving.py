"""What the end-to-end tests share: spare ports, gunicorn processes, and an HTTP client that
keeps its cookies like a browser (a visitor or a signed-in editor)."""

from __future__ import annotations

import http.cookiejar
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate: Callable[[], object], timeout: float, step: float = 0.1) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())


def manage(args: list[str], **env: str) -> subprocess.CompletedProcess:
    """`manage.py ARGS` in a fresh process, with these environment variables over ours."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


class Browser:
    """One visitor or editor: cookies kept (they go to every port of the host, as in a browser),
    redirects not followed (so a login or a saved form shows as its 302)."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    def __init__(self, base: str) -> None:
        self.base, self.cookies = base, http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), self._NoRedirect
        )

    def at(self, base: str) -> Browser:
        """The same browser (same cookies) talking to another server."""
        other = Browser(base)
        other.cookies, other.opener = self.cookies, self.opener
        return other

    def request(
        self, path: str, data: bytes | dict | None = None, headers: dict | None = None
    ) -> tuple[int, dict, bytes]:
        if isinstance(data, dict):
            data = urllib.parse.urlencode(data).encode()
        request = urllib.request.Request(self.base + path, data, headers or {})
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def get_json(self, path: str) -> object:
        status, _headers, body = self.request(path)
        assert status == 200, (path, status, body[:500])
        return json.loads(body)

    def cookie(self, name: str) -> str:
        return next(c.value for c in self.cookies if c.name == name)

    def post_form(
        self, path: str, fields: dict, files: dict[str, tuple[str, bytes]] | None = None
    ) -> tuple[int, dict, bytes]:
        """Open the form (it sets the CSRF cookie), then post it; `files` as multipart."""
        self.request(path)
        fields = {**fields, "csrfmiddlewaretoken": self.cookie("csrftoken")}
        if not files:
            return self.request(path, fields)
        boundary = uuid.uuid4().hex
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            for name, value in fields.items()
        ]
        for name, (filename, content) in files.items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
                + content
                + b"\r\n"
            )
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        return self.request(
            path, body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        )

    def sign_in(self, username: str, password: str) -> None:
        status, headers, body = self.post_form(
            "/admin/login/?next=/admin/",
            {"username": username, "password": password, "next": "/admin/"},
        )
        assert status == 302 and headers["Location"] == "/admin/", body[-2000:]


@contextmanager
def gunicorn(env: dict[str, str], log: Path, workers: int = 1) -> Iterator[str]:
    """A gunicorn process serving the project with `env` over ours; yields its base URL once it
    answers, and stops it afterwards."""
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "conflictmap.wsgi", "-w", str(workers),
         "-b", f"127.0.0.1:{port}", "--timeout", "60"],
        cwd=ROOT, env={**os.environ, "RATE_LIMIT": "off", **env}, stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            return Browser(base).request("/api/v1/factions")[0] == 200
        except OSError:  # not listening yet
            return server.poll() is not None

    try:
        assert wait_for(answers, 60) and server.poll() is None, log.read_text()[-3000:]
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)
