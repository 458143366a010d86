"""Queues: where captured documents wait for review and export (see docs/queues.md). Plain Python.

- `models`: a queue and its schema of fields; `fields`: content trees from captured values and back;
- `lifecycle`: document statuses and the one function that changes them; `documents`: reading and
  writing documents; `capture`: a new document's first content from the queue's workflow;
- `importing` and `email`: documents from batches, job outputs, uploads and e-mails; `review`: edits,
  confirmation, rejection; `export`: the exactly-once Parquet export; `config_file`: the YAML file.
"""
