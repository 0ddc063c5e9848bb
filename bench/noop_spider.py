"""Bench helper: fetches the URLs listed in the file URL_LIST and does nothing with them.

Run with ``scrapy runspider bench/noop_spider.py -s URL_LIST=urls.txt``."""

import scrapy


class NoopSpider(scrapy.Spider):
    name = "noop"

    async def start(self):
        with open(self.settings.get("URL_LIST"), encoding="utf-8") as urls:
            for url in urls:
                yield scrapy.Request(url.strip(), callback=self.parse, dont_filter=True)

    def parse(self, response):
        return None
