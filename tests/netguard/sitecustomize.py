"""Network guard: with BOOK_NO_NETWORK=1, Python code cannot resolve a name or reach a host.

`make test` puts this directory on PYTHONPATH, so Python imports this module at start-up in the
pytest process, in every notebook kernel nbval starts (and in every other Python child process
that inherits the environment), and in the book build.

How it works
------------
The guard is an audit hook (:func:`sys.addaudithook`, PEP 578). CPython's socket module raises
an audit event *inside its C functions* before it does anything, and an exception raised by the
hook aborts the call. So the guard holds for every Python-level path to the network, whichever
reference the caller holds: ``socket.socket`` and its methods, ``_socket.socket`` used directly
(bypassing the ``socket.socket`` subclass), the C type reached through ``__bases__`` or an
object made by ``_socket.socketpair``, ``socket.create_connection``, asyncio's
``loop.getaddrinfo`` / ``create_connection`` / ``sock_sendto`` (they end in the same C calls),
``urllib``, ``http.client``, ``requests`` and so on. Patching the functions instead cannot hold:
``_socket.socket`` is a C type whose methods cannot be replaced, and replacing module attributes
misses every reference taken before (``from socket import gethostbyname``) and the objects C
code creates. An audit hook cannot be removed once added.

Blocked (``NetworkAccessError``, a ``RuntimeError`` so that ``except OSError`` fallbacks do not
swallow it), by audit event:

``socket.getaddrinfo``, ``socket.gethostbyname`` (also ``gethostbyname_ex``)
    any host name other than ``localhost`` (numeric addresses need no resolver and pass).
``socket.gethostbyaddr``, ``socket.getnameinfo``
    any address other than a loopback one (a reverse lookup asks DNS).
``socket.connect`` (also ``connect_ex``, hence ``create_connection``)
    an IPv4/IPv6 socket to any non-loopback address or to a host name other than
    ``localhost``; sockets of families other than Unix, IPv4 and IPv6 (raw packet, VSOCK,
    Bluetooth, CAN, ...) entirely.
``socket.sendto``, ``socket.sendmsg``
    the same check on the destination address (UDP needs no connection, so this is the only
    place a datagram to a remote host can be stopped); ``sendmsg`` without an address goes to
    the peer of a connected socket, which ``connect`` already checked.

One gap remains at the C level: ``connect``, ``connect_ex``, ``sendto``, ``sendmsg`` and
``bind`` resolve a host name given in the address (``getaddrinfo`` inside C, no audit event of
its own) *before* they raise their audit event. So these five methods are also wrapped, to refuse
a host name other than ``localhost`` before the C call, on ``socket.socket`` (a Python class)
and on a guarded subclass installed as ``_socket.socket`` / ``_socket.SocketType`` for code that
uses the C module directly. The bare C type cannot be patched and stays reachable (through
``socket.socket.__mro__`` or the objects ``_socket.socketpair`` makes): with it a host name is
still resolved, but the connection or datagram that follows is refused by the audit hook.
Binding to a numeric address sends nothing and stays allowed.

Allowed: loopback (127.0.0.0/8, ::1, ``localhost``) and Unix sockets. Jupyter kernels talk to
nbval over 127.0.0.1 through ZeroMQ, whose sockets belong to libzmq (C) and raise no Python
audit event, so the guard neither sees nor disturbs them.

What an in-process guard cannot block
-------------------------------------
* **Subprocesses** that are not Python (``curl``, ``git``, ``wget``, a browser). Python children
  that inherit the environment load this guard too, unless started with ``-I``/``-S`` or
  without PYTHONPATH. No test spawns a network tool; the browser check starts Chromium with
  ``--host-resolver-rules=MAP * ~NOTFOUND`` so that it can resolve nothing but 127.0.0.1.
* **C extensions with their own sockets** (libzmq in pyzmq, libcurl, gRPC, c-ares in aiodns):
  their system calls bypass the interpreter. In this project only ZeroMQ does so, on loopback.
* **ctypes** calls to libc's ``connect``/``sendto``/``getaddrinfo``.

The book build is offline by configuration, not only by this guard: notebooks are not executed
(``execute_notebooks: off``), MathJax is bundled (``sphinx-mathjax-offline``), there is no
intersphinx mapping, no linkcheck, no remote image, and launch buttons and Thebe are off.
``tests/test_network_guard.py`` checks each blocked path in a subprocess, with TEST-NET
addresses (192.0.2.0/24, RFC 5737) and ``.invalid`` names (RFC 2606), so that nothing real is
contacted even if the guard failed.
"""

import _socket
import ipaddress
import os
import socket
import sys

if os.environ.get("BOOK_NO_NETWORK") == "1":

    class NetworkAccessError(RuntimeError):
        """Raised when code under test tries to reach the network."""

    _LOCAL_NAMES = ("localhost", "localhost.", "ip6-localhost", "ip6-loopback")
    _INET = (socket.AF_INET, socket.AF_INET6)
    _UNIX = getattr(socket, "AF_UNIX", None)

    def _host_text(host) -> str | None:
        if isinstance(host, bytes | bytearray):
            return bytes(host).decode("ascii", "replace")
        return None if host is None else str(host)

    def _ip(host):
        """The ``ipaddress`` object of a numeric host, or None for a name."""
        text = _host_text(host)
        if text is None:
            return None
        try:
            return ipaddress.ip_address(text.split("%")[0])
        except ValueError:
            return None

    def _is_local_name(host) -> bool:
        return host is None or _host_text(host).lower() in ("", *_LOCAL_NAMES)

    def _is_loopback(host) -> bool:
        ip = _ip(host)
        return _is_local_name(host) if ip is None else ip.is_loopback

    def _refuse(what: str, target) -> None:
        raise NetworkAccessError(
            f"{what} {target!r} attempted during tests (BOOK_NO_NETWORK=1);"
            " the book must build and test offline"
        )

    def _check_resolve(args) -> None:  # getaddrinfo(host, ...), gethostbyname(host)
        host = args[0]
        if not (_is_local_name(host) or _ip(host) is not None):
            _refuse("DNS lookup of", host)

    def _check_reverse(args) -> None:  # gethostbyaddr(ip), getnameinfo(sockaddr)
        target = args[0]
        host = target[0] if isinstance(target, tuple) and target else target
        if not _is_loopback(host):
            _refuse("reverse DNS lookup of", target)

    def _check_destination(args, what: str) -> None:  # (socket, address)
        sock, address = args[0], args[1]
        family = getattr(sock, "family", None)
        if family == _UNIX:
            return
        if family not in _INET:
            _refuse(f"{what} on a socket of family {family!r} to", address)
        host = address[0] if isinstance(address, tuple) and address else address
        if not _is_loopback(host):
            _refuse(f"network access ({what}) to", address)

    def _check_connect(args) -> None:
        _check_destination(args, "connect")

    def _check_sendto(args) -> None:
        _check_destination(args, "sendto")

    def _check_sendmsg(args) -> None:
        if args[1] is not None:  # None: to the peer of a connected socket
            _check_destination(args, "sendmsg")

    # One entry per audit event; tests/test_network_guard.py has a test for each.
    _CHECKS = {
        "socket.getaddrinfo": _check_resolve,
        "socket.gethostbyname": _check_resolve,
        "socket.gethostbyaddr": _check_reverse,
        "socket.getnameinfo": _check_reverse,
        "socket.connect": _check_connect,
        "socket.sendto": _check_sendto,
        "socket.sendmsg": _check_sendmsg,
    }

    def _audit(event, args, _get=_CHECKS.get):
        check = _get(event)
        if check is not None:
            check(args)

    sys.addaudithook(_audit)

    # The C methods resolve a host name in the address (getaddrinfo in C, no audit event)
    # BEFORE they raise their audit event, so names are refused here, before the C call;
    # numeric addresses are left to the audit hook.
    def _refuse_name(sock, address, what: str) -> None:
        if sock.family in _INET and isinstance(address, tuple) and address:
            host = address[0]
            if not (_is_local_name(host) or _ip(host) is not None):
                _refuse(f"DNS lookup ({what}) of", host)

    def _guard_methods(cls) -> None:
        base_connect, base_connect_ex = cls.connect, cls.connect_ex
        base_sendto, base_sendmsg, base_bind = cls.sendto, cls.sendmsg, cls.bind

        def connect(self, address, /):
            _refuse_name(self, address, "connect")
            return base_connect(self, address)

        def connect_ex(self, address, /):
            _refuse_name(self, address, "connect_ex")
            return base_connect_ex(self, address)

        def sendto(self, data, *args):
            if args:
                _refuse_name(self, args[-1], "sendto")
            return base_sendto(self, data, *args)

        def sendmsg(self, buffers, *args):
            if len(args) >= 3:
                _refuse_name(self, args[2], "sendmsg")
            return base_sendmsg(self, buffers, *args)

        def bind(self, address, /):
            _refuse_name(self, address, "bind")
            return base_bind(self, address)

        for method in (connect, connect_ex, sendto, sendmsg, bind):
            method.__qualname__ = f"{cls.__name__}.{method.__name__}"
            method.__doc__ = getattr(cls, method.__name__).__doc__
            setattr(cls, method.__name__, method)

    # socket.socket is a Python subclass of the C type: its methods can be replaced.
    _guard_methods(socket.socket)
    # Code that uses _socket.socket directly gets a guarded subclass of the C type (which
    # itself is immutable). The bare C type stays reachable (socket.socket.__mro__, objects
    # made by _socket.socketpair): there a host name is still resolved before the audit
    # hook refuses the connection itself.
    _GuardedCSocket = type("socket", (_socket.socket,), {"__slots__": (), "__module__": "_socket"})
    _guard_methods(_GuardedCSocket)
    _socket.socket = _socket.SocketType = _GuardedCSocket
    socket.NetworkAccessError = NetworkAccessError
