"""Network guard: with BOOK_NO_NETWORK=1, any connection to a non-local address fails loudly.

`make test` puts this directory on PYTHONPATH, so Python imports this module at start-up in the
pytest process, in every notebook kernel nbval starts, and in the book build. Loopback and Unix
sockets stay allowed (Jupyter kernels talk to their clients over 127.0.0.1).
"""

import ipaddress
import os
import socket

if os.environ.get("BOOK_NO_NETWORK") == "1":
    _connect = socket.socket.connect
    _connect_ex = socket.socket.connect_ex
    _getaddrinfo = socket.getaddrinfo

    class NetworkAccessError(RuntimeError):
        """Raised when code under test tries to reach the network."""

    def _is_local(host) -> bool:
        if host in ("localhost", "", None):
            return True
        try:
            return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
        except ValueError:
            return False

    def _check(address):
        if isinstance(address, tuple) and address and not _is_local(address[0]):
            raise NetworkAccessError(
                f"network access to {address!r} attempted during tests (BOOK_NO_NETWORK=1);"
                " the book must build and test offline"
            )

    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            _check(address)
        return _connect(self, address)

    def connect_ex(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            _check(address)
        return _connect_ex(self, address)

    def _is_numeric(host) -> bool:
        try:
            ipaddress.ip_address(str(host).split("%")[0])
        except ValueError:
            return False
        return True

    def getaddrinfo(host, *args, **kwargs):
        if not (_is_local(host) or _is_numeric(host)):
            raise NetworkAccessError(
                f"DNS lookup of {host!r} attempted during tests (BOOK_NO_NETWORK=1);"
                " the book must build and test offline"
            )
        return _getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
    socket.getaddrinfo = getaddrinfo
    socket.NetworkAccessError = NetworkAccessError
