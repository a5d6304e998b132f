"""`make test` runs with the network guard: outbound connections fail loudly, loopback works."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

GUARD = Path(__file__).resolve().parent / "netguard"


def _run(code: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, BOOK_NO_NETWORK="1", PYTHONPATH=str(GUARD))
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=60)


def test_guard_blocks_outbound_connection():
    result = _run(
        "import socket\n"
        "s = socket.socket()\n"
        "s.settimeout(5)\n"
        "s.connect(('192.0.2.1', 80))\n"
    )
    assert result.returncode != 0
    assert "NetworkAccessError" in result.stderr and "offline" in result.stderr


def test_guard_blocks_dns():
    result = _run("import socket; socket.getaddrinfo('pypi.org', 443)")
    assert "NetworkAccessError" in result.stderr


def test_guard_allows_loopback():
    result = _run(
        "import socket\n"
        "srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen(1)\n"
        "c = socket.create_connection(srv.getsockname(), timeout=5)\n"
        "print('ok')\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@pytest.mark.skipif(os.environ.get("BOOK_NO_NETWORK") != "1", reason="only under make test")
def test_guard_active_in_this_process():
    with pytest.raises(RuntimeError, match="offline"):
        socket.create_connection(("192.0.2.1", 80), timeout=1)
