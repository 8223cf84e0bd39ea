"""Process measurements for benchmarks, read from /proc (Linux): CPU seconds and peak RSS."""

from __future__ import annotations

import os
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int, *, children: bool = True) -> float:
    """User + system CPU of `pid` (plus its waited-for children, e.g. git)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(fields[i]) for i in (11, 12, 13, 14))
    total = utime + stime + (cutime + cstime if children else 0)
    return total / _TICKS


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    """Current (`VmRSS`) or peak (`VmHWM`) resident memory of `pid`, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise LookupError(f"{field} not found for pid {pid}")


def peak_rss_mib(pid: int) -> float:
    return rss_mib(pid, "VmHWM")
