"""Item pipelines. One does the job today: ``archive.ArchivePipeline`` hands pages, failures and
304s to ``pressarchive.ingest`` (check, extract, validate, save), in a worker process."""
