"""Test helper: a free loopback TCP port."""

from __future__ import annotations


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on now (for torch.distributed.run)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
