"""Silencing the log lines native libraries write straight to file descriptor 2.

MediaPipe's TFLite and absl code print "INFO: Created TensorFlow Lite XNNPACK
delegate", "All log messages before absl::InitializeLog()..." and W-lines
when a face graph starts and on its first frame. They come from C++, so
neither environment variables (TF_CPP_MIN_LOG_LEVEL, GLOG_minloglevel: tried,
no effect on mediapipe 0.10.21) nor Python's logging reach them; the one lever
is the descriptor itself, pointed at /dev/null for those two short calls.
Python's own ``sys.stderr`` (our progress line) is flushed before and works
after; other threads' stderr output is lost for those milliseconds only.
"""

from __future__ import annotations

import os
import sys
import threading
from contextlib import contextmanager
from typing import Iterator

_LOCK = threading.Lock()  # one redirection at a time: nested dup2 pairs from two threads would cross


@contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null for the duration of the block."""
    with _LOCK:
        sys.stderr.flush()
        saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
            yield
        finally:
            _flush_c_streams()  # lines still in C stdio buffers must go to /dev/null, not to the restored fd
            os.dup2(saved, 2)
            os.close(saved)
            os.close(devnull)


def _flush_c_streams() -> None:
    import ctypes

    try:
        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):  # no C library to flush (not glibc/musl): nothing buffered there either
        pass
