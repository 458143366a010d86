"""The one-by-one flow with Rossum's official Python client, as its README shows it; run in the
rossum-api venv: `python rossum_api_flow.py BASE_URL USER PASSWORD QUEUE_ID FILE`, prints JSON."""

import json
import sys

from rossum_api import SyncRossumAPIClient
from rossum_api.dtos import UserCredentials
from rossum_api.domain_logic.annotations import ExportFileFormats


def main() -> None:
    base_url, username, password, queue_id, path = sys.argv[1:6]
    client = SyncRossumAPIClient(base_url=base_url, credentials=UserCredentials(username, password))
    queue = client.retrieve_queue(int(queue_id))
    schema = client.retrieve_schema(int(queue.schema.rstrip("/").rsplit("/", 1)[1]))
    annotation = client.upload_and_wait_until_imported(int(queue_id), path, path.rsplit("/", 1)[-1], sleep_s=1)
    content = client.retrieve_annotation(annotation.id, sideloads=["content"])
    exported = list(client.export_annotations_to_json(int(queue_id), id=annotation.id))
    csv_text = b"".join(client.export_annotations_to_file(int(queue_id), ExportFileFormats.CSV, id=annotation.id)).decode()
    listed = [a.id for a in client.list_annotations(queue=int(queue_id))]
    sideloaded = [a.content for a in client.list_annotations(
        sideloads=["content"], content_schema_ids=["invoice_number", "gross_total"], queue=int(queue_id))]
    print(json.dumps({
        "queue": {"id": queue.id, "name": queue.name, "schema": queue.schema},
        "schema_ids": [section.id for section in schema.content],
        "annotation": {"id": annotation.id, "status": annotation.status, "document": annotation.document},
        "content": content.content if isinstance(content.content, list) else None,
        "json_export": [{"status": a.status, "url": a.url} for a in exported] if exported and hasattr(exported[0], "status") else exported,
        "csv_export": csv_text,
        "listed": listed,
        "sideloaded_content": sideloaded,
    }, default=str))


if __name__ == "__main__":
    main()
