"""Process-level settings that make CPU sampling fast.

glibc's malloc hands every allocation above its mmap threshold (at most 32 MiB by default,
adjusted dynamically) to a fresh ``mmap``, so each activation-sized tensor of a large model is
page-faulted and zeroed anew on every layer. At IRASim-S/2 sizes a batch-2 forward (FreeAction's
guided steps) then took 3.5-3.8 s instead of 2 x 1.5 s; with the threshold at 256 MiB it took
3.07 s (``benchmarks/bench_model.py``). Freed memory stays in the heap up to the trim threshold.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import platform

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_done = False


def tune_cpu_allocator(mmap_threshold: int = 256 << 20) -> bool:
    """Raise glibc's mmap and trim thresholds once per process; False where not glibc."""
    global _done
    if _done:
        return True
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        ok = bool(libc.mallopt(_M_MMAP_THRESHOLD, mmap_threshold)) and bool(
            libc.mallopt(_M_TRIM_THRESHOLD, 2 * mmap_threshold)
        )
    except (OSError, AttributeError):
        return False
    _done = ok
    return ok
