"""The scheduler's disk queue: Scrapy's pickle LIFO disk queue, with a cheaper way to name a
request's callback and errback.

Scrapy's ``Request.to_dict`` finds a callback's name by listing every member of the spider
(``inspect.getmembers``), twice per request: on a crawl that costs more than the rest of
queueing the request. A spider method's own ``__name__`` is that name whenever the spider's
attribute of that name is the same method; we check exactly that, and leave anything else
(a lambda, a method of another object) to Scrapy.
"""

from __future__ import annotations

from typing import Any, Callable

from scrapy import Request
from scrapy.squeues import PickleLifoDiskQueue


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
    def push(self, request: Request) -> None:
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
