"""Scrapy commands of the project (COMMANDS_MODULE): a project command of the same name as one
of Scrapy's takes its place."""
