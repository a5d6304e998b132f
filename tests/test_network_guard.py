"""`make test` runs with the network guard: every resolver and send path fails loudly, loopback
and Unix sockets work.

Each case runs in a fresh interpreter with the guard loaded as `make test` loads it
(PYTHONPATH=tests/netguard, BOOK_NO_NETWORK=1). Targets are TEST-NET-1 addresses (192.0.2.0/24,
RFC 5737: never routed) and ``.invalid`` names (RFC 2606: never resolve), so that nothing real
is contacted even if the guard failed; sockets get a 3 s timeout for the same reason. A case
passes only if the call raised ``NetworkAccessError`` (the guard's own error), not any other
failure an offline machine would give.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

GUARD = Path(__file__).resolve().parent / "netguard"
TEST_NET = "192.0.2.1"        # RFC 5737 TEST-NET-1
BAD_NAME = "example.invalid"  # RFC 2606


def _run(code: str, *, guard: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(GUARD))
    env.pop("BOOK_NO_NETWORK", None)
    if guard:
        env["BOOK_NO_NETWORK"] = "1"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=120)


def _outcome(body: str) -> str:
    """Run ``body`` under the guard; 'BLOCKED <message>' if the guard refused it."""
    code = ("import socket\nsocket.setdefaulttimeout(3)\ntry:\n"
            + textwrap.indent(textwrap.dedent(body), "    ")
            + "\nexcept socket.NetworkAccessError as err:\n    print('BLOCKED', err)\n"
            "except BaseException as err:\n    print('OTHER', type(err).__name__, err)\n"
            "else:\n    print('PASSED')\n")
    result = _run(code)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


# (case id, code, text the refusal names). One or more cases per audit event the guard checks.
BLOCKED = [
    ("connect", f"s = socket.socket(); s.connect(({TEST_NET!r}, 80))", TEST_NET),
    ("connect_ex", f"s = socket.socket(); s.connect_ex(({TEST_NET!r}, 80))", TEST_NET),
    ("connect_ipv6", "s = socket.socket(socket.AF_INET6); s.connect(('2001:db8::1', 80))",
     "2001:db8::1"),                                             # RFC 3849 documentation range
    ("connect_by_name", f"s = socket.socket(); s.connect(({BAD_NAME!r}, 80))", BAD_NAME),
    ("connect_ex_by_name", f"s = socket.socket(); s.connect_ex(({BAD_NAME!r}, 80))", BAD_NAME),
    ("create_connection", f"socket.create_connection(({TEST_NET!r}, 80))", TEST_NET),
    ("create_connection_by_name", f"socket.create_connection(({BAD_NAME!r}, 80))", BAD_NAME),
    ("getaddrinfo", f"socket.getaddrinfo({BAD_NAME!r}, 443)", BAD_NAME),
    ("getaddrinfo_bytes", f"socket.getaddrinfo({BAD_NAME.encode()!r}, 443)", BAD_NAME),
    ("gethostbyname", f"socket.gethostbyname({BAD_NAME!r})", BAD_NAME),
    ("gethostbyname_ex", f"socket.gethostbyname_ex({BAD_NAME!r})", BAD_NAME),
    ("gethostbyaddr", f"socket.gethostbyaddr({TEST_NET!r})", TEST_NET),
    ("getnameinfo", f"socket.getnameinfo(({TEST_NET!r}, 80), 0)", TEST_NET),
    ("udp_sendto_unconnected",
     f"s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b'x', ({TEST_NET!r}, 9))",
     TEST_NET),
    ("udp_sendto_by_name",
     f"s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b'x', ({BAD_NAME!r}, 9))",
     BAD_NAME),
    ("udp_sendmsg",
     "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
     f"s.sendmsg([b'x'], [], 0, ({TEST_NET!r}, 9))", TEST_NET),
    ("udp_sendmsg_by_name",
     "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
     f"s.sendmsg([b'x'], [], 0, ({BAD_NAME!r}, 9))", BAD_NAME),
    ("udp_connect",
     f"s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.connect(({TEST_NET!r}, 9))",
     TEST_NET),
    ("bind_by_name", f"s = socket.socket(); s.bind(({BAD_NAME!r}, 0))", BAD_NAME),
    # The C type itself, not the socket.socket subclass: module-level patches cannot reach it.
    ("raw_c_socket_connect",
     f"import _socket\ns = _socket.socket(); s.connect(({TEST_NET!r}, 80))", TEST_NET),
    ("raw_c_socket_sendto",
     "import _socket\ns = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM)\n"
     f"s.sendto(b'x', ({TEST_NET!r}, 9))", TEST_NET),
    ("raw_c_socket_connect_by_name",
     f"import _socket\ns = _socket.socket(); s.connect(({BAD_NAME!r}, 80))", BAD_NAME),
    ("raw_c_socket_sendto_by_name",
     "import _socket\ns = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM)\n"
     f"s.sendto(b'x', 0, ({BAD_NAME!r}, 9))", BAD_NAME),
    ("bare_c_type",   # the immutable C type, e.g. the class of what _socket.socketpair makes
     "import _socket\nbare = type(_socket.socketpair()[0])\n"
     "assert bare is not _socket.socket and bare in socket.socket.__mro__\n"
     f"s = bare(socket.AF_INET, socket.SOCK_STREAM); s.connect_ex(({TEST_NET!r}, 80))", TEST_NET),
    ("bare_c_type_sendto",
     "import _socket\nbare = type(_socket.socketpair()[0])\n"
     f"s = bare(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b'x', ({TEST_NET!r}, 9))", TEST_NET),
    ("bare_c_type_sendmsg",
     "import _socket\nbare = type(_socket.socketpair()[0])\n"
     f"s = bare(socket.AF_INET, socket.SOCK_DGRAM); s.sendmsg([b'x'], [], 0, ({TEST_NET!r}, 9))",
     TEST_NET),
    ("raw_c_resolvers",
     f"import _socket\n_socket.gethostbyname({BAD_NAME!r})", BAD_NAME),
    ("raw_c_getaddrinfo",
     f"from _socket import getaddrinfo\ngetaddrinfo({BAD_NAME!r}, 80)", BAD_NAME),
    ("asyncio_getaddrinfo",
     "import asyncio\n"
     "async def main():\n"
     f"    await asyncio.get_running_loop().getaddrinfo({BAD_NAME!r}, 80)\n"
     "asyncio.run(main())", BAD_NAME),
    ("asyncio_create_connection",
     "import asyncio\n"
     "async def main():\n"
     f"    await asyncio.get_running_loop().create_connection(asyncio.Protocol, {TEST_NET!r}, 80)\n"
     "asyncio.run(main())", TEST_NET),
    ("asyncio_open_connection_by_name",
     "import asyncio\n"
     f"asyncio.run(asyncio.open_connection({BAD_NAME!r}, 80))", BAD_NAME),
    ("asyncio_datagram",
     "import asyncio\n"
     "async def main():\n"
     "    await asyncio.get_running_loop().create_datagram_endpoint(\n"
     f"        asyncio.DatagramProtocol, remote_addr=({TEST_NET!r}, 9))\n"
     "asyncio.run(main())", TEST_NET),
    ("urllib", f"import urllib.request\nurllib.request.urlopen('http://{TEST_NET}/', timeout=3)",
     TEST_NET),
]


@pytest.mark.parametrize(("body", "target"), [case[1:] for case in BLOCKED],
                         ids=[case[0] for case in BLOCKED])
def test_guard_blocks(body, target):
    outcome = _outcome(body)
    assert outcome.startswith("BLOCKED"), outcome
    assert target in outcome and "offline" in outcome, outcome
    if target == BAD_NAME:   # refused before anything resolved the name
        assert "DNS lookup" in outcome, outcome


@pytest.mark.skipif(not hasattr(socket, "AF_NETLINK"), reason="needs AF_NETLINK (Linux)")
def test_guard_blocks_other_families():
    """Only Unix, IPv4 and IPv6 sockets may send (raw packet or VSOCK sockets could leave)."""
    outcome = _outcome(
        "s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)\n"
        "s.sendto(b'', (0, 0))\n"
    )
    assert outcome.startswith("BLOCKED") and "family" in outcome, outcome


ALLOWED = [
    ("tcp_loopback",
     "srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen(1)\n"
     "c = socket.create_connection(srv.getsockname())\n"
     "a, _ = srv.accept(); c.sendall(b'ping'); assert a.recv(4) == b'ping'"),
    ("tcp_localhost_name",
     "srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen(1)\n"
     "c = socket.create_connection(('localhost', srv.getsockname()[1]))"),
    ("udp_loopback",
     "r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); r.bind(('127.0.0.1', 0))\n"
     "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b'ping', r.getsockname())\n"
     "s.sendmsg([b'pong'], [], 0, r.getsockname())\n"
     "assert r.recv(4) == b'ping' and r.recv(4) == b'pong'"),
    ("unix_socketpair",
     "a, b = socket.socketpair(); a.sendall(b'ping'); assert b.recv(4) == b'ping'\n"
     "a.sendmsg([b'pong']); assert b.recv(4) == b'pong'"),
    ("numeric_and_local_resolution",
     "socket.getaddrinfo('127.0.0.1', 80); socket.getaddrinfo('localhost', 80)\n"
     "socket.getaddrinfo(None, 80); socket.gethostbyname('127.0.0.1')\n"
     "socket.getaddrinfo(b'localhost', 80); socket.getaddrinfo(b'127.0.0.1', 80)\n"
     f"socket.getaddrinfo({TEST_NET!r}, 80)   # numeric: no resolver involved"),
    ("reverse_lookup_of_loopback",   # http.server calls socket.getfqdn('127.0.0.1')
     "socket.getfqdn('127.0.0.1'); socket.getnameinfo(('127.0.0.1', 80), 0)"),
    ("bind_numeric", "s = socket.socket(); s.bind(('0.0.0.0', 0))"),
]


@pytest.mark.parametrize("body", [case[1] for case in ALLOWED], ids=[case[0] for case in ALLOWED])
def test_guard_allows_loopback_and_unix(body):
    assert _outcome(body) == "PASSED"


def test_guard_only_with_book_no_network():
    result = _run("import socket; print(hasattr(socket, 'NetworkAccessError'))", guard=False)
    assert result.stdout.strip() == "False", result.stderr
    result = _run("import socket; print(hasattr(socket, 'NetworkAccessError'))")
    assert result.stdout.strip() == "True", result.stderr


@pytest.mark.skipif(os.environ.get("BOOK_NO_NETWORK") != "1", reason="only under make test")
def test_guard_active_in_this_process():
    with pytest.raises(RuntimeError, match="offline"):
        socket.create_connection((TEST_NET, 80), timeout=1)
    with pytest.raises(RuntimeError, match="offline"):
        socket.gethostbyname(BAD_NAME)
