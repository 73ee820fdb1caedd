"""`make run`'s second half, scripts/run.sh, for real: web, worker and beat, then Ctrl-C.

It runs against the development database (as `make run` does): migrate, the demo loaded once,
gunicorn, a Celery worker and beat. /healthz must turn green, / and /admin/ must answer, and one
SIGINT must stop all three.
"""

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, timeout: float = 30) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.worker
def test_run_serves_the_map_admin_and_a_green_healthz_and_stops_on_ctrl_c(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.update(PORT=str(port), WEB_WORKERS="1")
    log = (tmp_path / "run.log").open("w+")
    proc = subprocess.Popen(
        ["scripts/run.sh"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        health = None
        while time.monotonic() < deadline:
            assert proc.poll() is None, (
                f"run.sh exited early:\n{Path(log.name).read_text()[-3000:]}"
            )
            if port_open(port):
                try:
                    status, body = get(f"http://127.0.0.1:{port}/healthz")
                except TimeoutError:  # a first request on a busy machine: ask again
                    continue
                health = json.loads(body)
                if status == 200:
                    break
            time.sleep(1)
        else:
            pytest.fail(
                f"/healthz never turned green: {health}\n{Path(log.name).read_text()[-3000:]}"
            )

        assert health["checks"]["celery"]["workers"]
        status, page = get(f"http://127.0.0.1:{port}/")
        assert status == 200 and b"leaflet" in page.lower()
        status, page = get(f"http://127.0.0.1:{port}/admin/login/")
        assert status == 200 and b"conflictmap" in page
        status, body = get(f"http://127.0.0.1:{port}/api/v1/factions")
        assert status == 200 and len(json.loads(body)) >= 12  # the demo is loaded
        output = Path(log.name).read_text()
        assert f"http://127.0.0.1:{port}" in output
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=45)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            pytest.fail(
                f"run.sh did not stop within 45 s of Ctrl-C:\n{Path(log.name).read_text()[-3000:]}"
            )
    # Nothing is left behind: the web port is closed and no process of the group remains.
    time.sleep(1)
    assert not port_open(port)
    leftover = subprocess.run(["pgrep", "-g", str(proc.pid)], capture_output=True, text=True)
    assert leftover.stdout.strip() == "", f"processes left running: {leftover.stdout}"
