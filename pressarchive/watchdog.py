"""A crawl that stops moving ends in bounded time instead of hanging for good.

A crawl's database calls are made by the reactor's thread (the run lock's check, the run's
record) and by the ingest worker. A server that stops answering without closing its
connections (a hung PostgreSQL, frozen in a soak) left both waiting for good: no log line, no
end, and SIGTERM, which Scrapy handles in the reactor's thread, unheard. Two watches, both
after ``STALL_TIMEOUT`` seconds (0: off):

- the ingest worker finishing no batch (the pipeline's, ``pipelines.archive``): the worker is
  stopped and the crawl closes, reason ``ingest_stalled``, exit 1;
- the reactor's thread itself blocked (``Watchdog``, an extension with a thread of its own,
  which the blocked thread cannot run): one CRITICAL line says where it is blocked, and the
  process exits 1 at once, its run left unrecorded as ended (the next run records it as
  interrupted) and its ingest worker ending with it.

Nothing of the archive is lost either way: what was not saved has no crawl state, and the
next run fetches it again.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from typing import Any, Callable

from scrapy import signals
from scrapy.exceptions import NotConfigured

logger = logging.getLogger("pressarchive")

DEFAULT_TIMEOUT = 300.0


def stall_timeout(settings: Any) -> float:
    return settings.getfloat("STALL_TIMEOUT", DEFAULT_TIMEOUT)


class Watchdog:
    """Exits the crawl's process when its reactor has not turned for ``STALL_TIMEOUT``
    seconds (see the module's text). The reactor marks each second it turns; a thread looks
    at the mark. Watching stops once the engine has stopped (after the run's record is
    written, which a hung database blocks too)."""

    def __init__(self, timeout: float, exit: Callable[[int], Any] = os._exit):
        self.timeout = timeout
        self.exit = exit
        self.turned = time.monotonic()
        self.stopped = threading.Event()
        self.beat: Any = None

    @classmethod
    def from_crawler(cls, crawler):
        timeout = stall_timeout(crawler.settings)
        if timeout <= 0:
            raise NotConfigured
        watchdog = cls(timeout)
        crawler.signals.connect(watchdog.start, signal=signals.engine_started)
        crawler.signals.connect(watchdog.stop, signal=signals.engine_stopped)
        return watchdog

    def start(self) -> None:
        from twisted.internet import task

        self.turned = time.monotonic()
        self.beat = task.LoopingCall(self._turn)
        self.beat.start(1.0, now=True)
        threading.Thread(target=self._watch, daemon=True, name="stall-watchdog").start()

    def stop(self) -> None:
        self.stopped.set()
        if self.beat is not None and self.beat.running:
            self.beat.stop()

    def _turn(self) -> None:
        self.turned = time.monotonic()

    def _watch(self) -> None:
        while not self.stopped.wait(min(5.0, self.timeout / 4)):
            still = time.monotonic() - self.turned
            if still > self.timeout:
                logger.critical(
                    "the crawl has not moved for %.0f s (STALL_TIMEOUT), blocked in %s: the "
                    "archive's database not answering? It exits now; the next run records "
                    "this one as interrupted and fetches again what it did not save",
                    still, blocked_in(threading.main_thread()))
                for handler in logging.getLogger().handlers:
                    handler.flush()
                self.exit(1)
                return


def blocked_in(thread: threading.Thread) -> str:
    """Where ``thread`` is, as ``file:line (function)``: its innermost frame of this
    project's code, and the innermost of all when that is elsewhere."""
    frame = sys._current_frames().get(thread.ident)  # noqa: SLF001 - the one way to look
    if frame is None:
        return "(unknown)"
    innermost = frame
    ours = None
    while frame is not None:
        path = frame.f_code.co_filename
        if ours is None and any(f"{os.sep}{part}{os.sep}" in path
                                for part in ("pressarchive", "pipelines", "spiders")):
            ours = frame
        frame = frame.f_back
    shown = [_where(ours)] if ours is not None else []
    if ours is not innermost:
        shown.append(_where(innermost))
    return ", in ".join(shown)


def _where(frame) -> str:  # noqa: ANN001
    path = frame.f_code.co_filename
    for root in ("pressarchive", "pipelines", "spiders", "site-packages"):
        marker = f"{os.sep}{root}{os.sep}"
        if marker in path:
            path = path.split(marker, 1)[1] if root == "site-packages" \
                else root + os.sep + path.split(marker, 1)[1]
            break
    return f"{path}:{frame.f_lineno} ({frame.f_code.co_name})"
