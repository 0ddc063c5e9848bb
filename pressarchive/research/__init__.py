"""The researchers' side: search, inspect, export and count the archive (no Scrapy here)."""
