"""A test helper (not a test): fail every connection or name lookup that leaves the machine."""

import ipaddress
import socket

import pytest

LOCAL = {"127.0.0.1", "::1", "localhost"}


def _is_ip(host: object) -> bool:
    try:
        ipaddress.ip_address(str(host))
    except ValueError:
        return False
    return True


class NetworkGuard:
    """Patches socket.connect / getaddrinfo for one test; records blocked attempts."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.attempts: list[object] = []
        real_connect = socket.socket.connect
        real_getaddrinfo = socket.getaddrinfo
        attempts = self.attempts

        def connect(sock: socket.socket, address: object) -> None:
            inet = sock.family in (socket.AF_INET, socket.AF_INET6)
            if inet and address[0] not in LOCAL:  # type: ignore[index]
                attempts.append(address)
                raise ConnectionRefusedError(f"network guard: connect to {address}")
            return real_connect(sock, address)

        def getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
            if host is not None and host not in LOCAL and not _is_ip(host):
                attempts.append(host)
                raise socket.gaierror(f"network guard: lookup of {host}")
            return real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(socket.socket, "connect", connect)
        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)

    def assert_live(self) -> None:
        """Prove the guard blocks (so a clean run means something), then forget the probes."""
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("203.0.113.1", 80), timeout=1)
        with pytest.raises(socket.gaierror):
            socket.getaddrinfo("us.i.posthog.com", 443)
        self.attempts.clear()
