"""Bench helper: a downloader middleware that appends every fetched URL to URL_LOG, so that a
no-op spider can fetch exactly the same URLs."""


class UrlLogMiddleware:
    def __init__(self, path):
        self.out = open(path, "w", encoding="utf-8")

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.settings.get("URL_LOG"))

    def process_response(self, request, response):
        self.out.write(request.url + "\n")
        self.out.flush()
        return response
