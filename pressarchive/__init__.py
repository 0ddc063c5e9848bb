"""pressarchive: a deduplicated archive of the Arab Press family of news sites."""

__version__ = "0.1.0"
