"""The images' health check: healthy when one of this container's listening TCP sockets
answers 200 on /healthz.

Under host networking a fixed health port would keep a service from running two replicas
on one machine, so the port is not assumed: the sockets are those of this container's own
processes (its PID namespace), found by their inodes in /proc/net/tcp{,6}. Only the
standard library, so it runs in every image.

usage: python3 healthcheck.py [PATH]       (default /healthz); exit 0 healthy, 1 not
"""

from __future__ import annotations

import http.client
import ipaddress
import os
import sys
from pathlib import Path

_LISTEN = "0A"
_TIMEOUT = 3.0


def _own_socket_inodes() -> set[str]:
    inodes: set[str] = set()
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            links = [os.readlink(fd) for fd in fd_dir.iterdir()]
        except OSError:  # a process that ended, or one that is not ours to read
            continue
        inodes.update(link[8:-1] for link in links if link.startswith("socket:["))
    return inodes


def _address(hex_addr: str) -> str:
    packed = bytes.fromhex(hex_addr)
    # /proc prints each 32-bit word in host (little-endian) order.
    words = [packed[i : i + 4][::-1] for i in range(0, len(packed), 4)]
    ip = ipaddress.ip_address(b"".join(words))
    if ip.is_unspecified:
        return "127.0.0.1" if ip.version == 4 else "::1"
    return str(ip)


def listening(inodes: set[str]) -> list[tuple[str, int]]:
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == _LISTEN and inode in inodes:
                hex_addr, _, hex_port = local.partition(":")
                found.append((_address(hex_addr), int(hex_port, 16)))
    return sorted(set(found))


def answers(host: str, port: int, path: str) -> bool:
    connection = http.client.HTTPConnection(host, port, timeout=_TIMEOUT)
    try:
        connection.request("GET", path)
        return connection.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def main(argv: list[str]) -> int:
    path = argv[1] if len(argv) > 1 else "/healthz"
    for host, port in listening(_own_socket_inodes()):
        if answers(host, port, path):
            return 0
    print(f"no listening socket of this container answers 200 on {path}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
