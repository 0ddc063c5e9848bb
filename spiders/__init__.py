"""Spiders: they find and fetch pages of the Arab Press family; pipelines read them."""
