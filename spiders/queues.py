"""The scheduler's disk queue: Scrapy's pickle LIFO disk queue, with the newest requests kept in
memory and a cheaper way to name a request's callback and errback.

Disk queues keep a crawl's memory flat however many requests wait (a large site's sitemaps name
every article at once). But most requests a page yields are fetched moments later: LIFO pops
the newest first. So the newest ``DISK_QUEUE_MEMORY`` requests (a setting, default 4096) stay
as objects, in memory, on top of the disk stack; only older ones are written out (oldest
first, so the order stays LIFO), and only those pay for serialization. ``close()`` writes out
the rest, so a kept JOBDIR holds them.

Scrapy's ``Request.to_dict`` finds a callback's name by listing every member of the spider
(``inspect.getmembers``), twice per request: on a crawl that costs more than the rest of
queueing the request. A spider method's own ``__name__`` is that name whenever the spider's
attribute of that name is the same method; we check exactly that, and leave anything else
(a lambda, a method of another object) to Scrapy.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import stat
import tempfile
from collections import deque
from typing import IO, Any, Callable

from scrapy import Request
from scrapy.squeues import PickleLifoDiskQueue

from pressarchive.crawl import hold_lock, release_lock

logger = logging.getLogger(__name__)

# Requests kept in memory per queue, unless the DISK_QUEUE_MEMORY setting says otherwise: at
# about 750 bytes a request, 4096 are 3 MiB, whatever the site's size. Writing a request out
# and reading it back costs about 40 us of the crawl process's CPU (pickle, Request.to_dict,
# a file): a few percent of a crawl when most requests took that way, as a large site's
# sitemaps, naming every article at once, made them with a top of 256.
MEMORY_TOP = 4096


def _method_name(spider: Any, func: Callable | None) -> str | None | bool:
    """The name under which ``spider`` has the bound method ``func``; None for no callback;
    False when ``func`` is not found that way."""
    if func is None:
        return None
    name = getattr(func, "__name__", None)
    if name and getattr(spider, name, None) == func:
        return name
    return False


class LifoDiskQueue(PickleLifoDiskQueue):
    def __init__(self, crawler, key: str):
        super().__init__(crawler, key)
        settings = getattr(crawler, "settings", None)
        self.memory_top = (MEMORY_TOP if settings is None
                           else max(0, settings.getint("DISK_QUEUE_MEMORY", MEMORY_TOP)))
        self.top: deque[Request] = deque()  # the newest requests, newest on the right
        self.unwritable: list[Request] = []  # ones pickle refused (popped last)

    def push(self, request: Request) -> None:
        if type(request) is not Request or _method_name(self.spider, request.callback) is False \
                or _method_name(self.spider, request.errback) is False:
            # Scrapy's own way, which raises now if the request cannot be serialized (the
            # scheduler then keeps it in its memory queue).
            self._write(request)
            return
        self.top.append(request)
        if len(self.top) > self.memory_top:
            self._write_out(self.top.popleft())

    def pop(self) -> Request | None:
        if self.top:
            return self.top.pop()
        request = super().pop()
        if request is None and self.unwritable:
            return self.unwritable.pop()
        return request

    def peek(self) -> Request | None:
        if self.top:
            return self.top[-1]
        request = super().peek()
        return request if request is not None or not self.unwritable else self.unwritable[-1]

    def __len__(self) -> int:
        return len(self.top) + super().__len__() + len(self.unwritable)

    def close(self) -> None:
        while self.top:
            self._write_out(self.top.popleft())
        if self.unwritable:
            logger.warning("%d requests could not be written to the disk queue; they are not "
                           "kept for the next run", len(self.unwritable))
        super().close()

    def _write_out(self, request: Request) -> None:
        try:
            self._write(request)
        except Exception as exc:  # noqa: BLE001 - pickle raises many kinds
            # Already accepted: keep it in memory rather than lose it.
            logger.debug("request kept in memory, not serializable (%s): %s", exc, request)
            self.unwritable.append(request)

    def _write(self, request: Request) -> None:
        callback = _method_name(self.spider, request.callback)
        errback = _method_name(self.spider, request.errback)
        if callback is False or errback is False or type(request) is not Request:
            super().push(request)
            return
        # The dict Request.to_dict(spider=...) gives, which request_from_dict reads back.
        data = {"url": request.url, "callback": callback, "errback": errback,
                "headers": dict(request.headers)}
        for attr in request.attributes:
            data.setdefault(attr, getattr(request, attr))
        # Past Scrapy's request-to-dict step, straight to its pickling disk queue.
        super(PickleLifoDiskQueue, self).push(data)


# -- the folder of a run's queue ----------------------------------------------------------

QUEUE_PREFIX = "pressarchive-queue-"
_LOCK = ".lock"
# Queue folder -> the file that holds its lock; counted among the process's locks
# (hold_lock), so that a forked ingest worker keeps no copy of it.
_held: dict[str, IO[str]] = {}


def temporary_jobdir(root: str | None = None) -> str:
    """A new folder (under ``root``, default the system's temporary folder) for one run's
    request queue, locked (``flock``) while this process lives. The folders of runs killed
    before they could remove theirs (``kill -9``) are removed first (``sweep_queues``), so a
    scheduled job that is killed now and then does not fill the disk with them."""
    root = root or tempfile.gettempdir()
    sweep_queues(root)
    path = tempfile.mkdtemp(prefix=QUEUE_PREFIX, dir=root)
    # Locked before it has its name: a sweep never finds the lock file free but for a dead run.
    lock = os.fdopen(os.open(os.path.join(path, _LOCK + ".new"), os.O_CREAT | os.O_RDWR, 0o600),
                     "r+")
    fcntl.flock(lock, fcntl.LOCK_EX)
    os.rename(os.path.join(path, _LOCK + ".new"), os.path.join(path, _LOCK))
    hold_lock(lock)
    _held[path] = lock
    return path


def remove_jobdir(path: str) -> None:
    """Removes a folder ``temporary_jobdir`` made, and lets go of its lock."""
    shutil.rmtree(path, ignore_errors=True)
    lock = _held.pop(path, None)
    if lock is not None:
        release_lock(lock)


def sweep_queues(root: str) -> int:
    """Removes the queue folders under ``root`` whose run is over: their lock is free (a lock
    dies with its process, however it ends). Only this user's folders, whose lock is a plain
    file of this user's (a shared TMPDIR: nothing another user planted is opened, a symlink
    least of all). A folder without a lock file (being made, or made by a version before the
    lock) is left alone. Returns how many were removed."""
    removed = 0
    try:
        entries = [entry for entry in os.scandir(root) if entry.name.startswith(QUEUE_PREFIX)]
    except OSError:
        return 0
    uid = os.getuid()
    for entry in entries:
        try:
            if entry.path in _held or not entry.is_dir(follow_symlinks=False) \
                    or entry.stat(follow_symlinks=False).st_uid != uid:
                continue
            fd = os.open(os.path.join(entry.path, _LOCK),
                         os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:  # gone, no lock file, a symlink: not ours to judge
            continue
        try:
            found = os.fstat(fd)
            if not stat.S_ISREG(found.st_mode) or found.st_uid != uid:
                continue
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # held: its run is going on
            continue
        else:
            try:
                shutil.rmtree(entry.path)
                removed += 1
            except FileNotFoundError:  # another run's sweep was first
                pass
            except OSError as exc:
                logger.warning("could not remove the queue folder of an earlier run %s (%s)",
                               entry.path, exc)
        finally:
            os.close(fd)
    if removed:
        logger.info("removed %d queue folders that killed runs had left in %s", removed, root)
    return removed
