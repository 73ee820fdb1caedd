"""Small HTTP(S) servers on loopback addresses for the fetching tests: each answer is a function
that writes raw bytes to the connection, so a test can send a redirect, dribble a byte at a time,
or say nothing at all. Every loop is bounded and stops with the server."""

from __future__ import annotations

import gzip
import socket
import ssl
import threading
import time
from collections.abc import Callable

Answer = Callable[["Server", socket.socket, bytes], None]


class Server:
    def __init__(
        self,
        answer: Answer,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.answer, self.tls = answer, tls
        self.listener = socket.create_server((host, port))
        self.listener.settimeout(0.1)
        self.host, self.port = host, self.listener.getsockname()[1]
        self.hits: list[bytes] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def origin(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(10)
            if self.tls:
                if self.answer is say_nothing:  # not even the TLS handshake
                    say_nothing(self, conn, b"")
                    return
                conn = self.tls.wrap_socket(conn, server_side=True)
            request = b""
            while b"\r\n\r\n" not in request and len(request) < 65536:
                piece = conn.recv(4096)
                if not piece:
                    break
                request += piece
            self.hits.append(request)
            self.answer(self, conn, request)
        except OSError:
            pass  # the client went away, as clients under test do
        finally:
            conn.close()

    def wait(self, seconds: float) -> None:
        """Sleep up to `seconds`, or less if the server stops."""
        self.stopping.wait(seconds)

    def close(self) -> None:
        self.stopping.set()
        self.listener.close()
        self.thread.join(5)


def ok(body: bytes, *headers: str, status: str = "200 OK") -> Answer:
    def answer(server: Server, conn: socket.socket, request: bytes) -> None:
        head = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", "Connection: close", *headers]
        conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)

    return answer


def redirect(location: str, status: str = "302 Found") -> Answer:
    return ok(b"", f"Location: {location}", status=status)


def chunked(body: bytes, *headers: str) -> Answer:
    """The body in chunks with no Content-Length: only counting what arrives can bound it."""

    def answer(server: Server, conn: socket.socket, request: bytes) -> None:
        head = ["HTTP/1.1 200 OK", "Transfer-Encoding: chunked", "Connection: close", *headers]
        conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        for start in range(0, len(body), 65536):
            piece = body[start : start + 65536]
            conn.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        conn.sendall(b"0\r\n\r\n")

    return answer


def gzip_bomb(size: int) -> Answer:
    return chunked(gzip.compress(b"\0" * size), "Content-Encoding: gzip")


def dribble(interval: float, *, headers_too: bool = False, for_seconds: float = 30) -> Answer:
    """A slow-loris server: the answer one byte every `interval` seconds (the headers too, or a
    body whose Content-Length promises more than will ever come)."""

    def answer(server: Server, conn: socket.socket, request: bytes) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"
        first = b"" if headers_too else head
        conn.sendall(first)
        rest = (head if headers_too else b"") + b"<rss>" + b" " * 100000
        end = time.monotonic() + for_seconds
        for byte in rest:
            if server.stopping.is_set() or time.monotonic() > end:
                return
            conn.sendall(bytes([byte]))
            server.wait(interval)

    return answer


def say_nothing(server: Server, conn: socket.socket, request: bytes) -> None:
    server.wait(120)  # longer than any test waits; the server stopping ends it
