"""The Roboflow-style API through `httpx.ASGITransport`: keys, wire names, signed URLs, jobs, errors."""

from __future__ import annotations

import asyncio
import io
import json
import tarfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from docket_core.auth import issue_token, revoke_token
from docket_core.jobs.models import JobRequest
from docket_core.pushes import resolve_push
from docket_core.resources import Resources
from docket_core.roboflow.views import NO_EXPIRY
from docket_core.server.roboflow import create_app
from docket_core.server.roboflow.common import RoboflowContext
from docket_core.server.roboflow.launch import InProcessLauncher
from docket_core.settings import DocketSettings
from docket_core.staging.models import IngestRequest
from tests.helpers import jpeg_bytes

WS = "acme"


class Recorder:
    """Starts nothing: records what the API would start (the push receiver's tests do the same)."""

    def __init__(self) -> None:
        self.ingests: list[IngestRequest] = []
        self.jobs: list[JobRequest] = []

    def ingest(self, request: IngestRequest) -> str | None:
        self.ingests.append(request)
        return f"evt-{len(self.ingests)}"

    def job(self, request: JobRequest) -> str | None:
        self.jobs.append(request)
        return None

    def cancel(self, run_id: str) -> bool:
        return False


class Api:
    def __init__(self, tmp_path: Path, catalog_url: str, launcher: Any, **settings: Any) -> None:
        self.settings = DocketSettings(home=tmp_path / "home", allowed_url_hosts=["127.0.0.1"], **settings)
        # The same places as the `docket_env` fixture, so flows started in this process find them too.
        self.resources = Resources(store_url=str(tmp_path / "home" / "store"), catalog_url=catalog_url)
        self.app = create_app(RoboflowContext(self.resources, self.settings, launcher))
        self.key = issue_token(self.resources.catalog(), "api-key", scope={"workspace": WS}).token

    def call(self, method: str, path: str, *, key: str | None = "default", params: dict[str, Any] | None = None,
             **kwargs: Any) -> httpx.Response:  # fmt: skip
        query = dict(params or {})
        if key is not None:
            query["api_key"] = self.key if key == "default" else key

        async def go() -> httpx.Response:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://docket") as client:
                return await client.request(method, path, params=query, **kwargs)

        return asyncio.run(go())

    def upload_image(self, batch_id: str, name: str, data: bytes) -> httpx.Response:
        return self.call("POST", f"/data-staging/v1/external/{WS}/batches/{batch_id}/upload/image",
                         params={"fileName": name, "displayName": "Photos"}, files={name: (name, data)})  # fmt: skip


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def api(tmp_path: Path, catalog_url: str, recorder: Recorder) -> Api:
    return Api(tmp_path, catalog_url, recorder)


def tar_of(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


class TestKeys:
    def test_the_root_names_the_keys_workspace_and_a_missing_or_revoked_key_is_401_with_a_reason(self, api: Api) -> None:
        assert api.call("GET", "/").json()["workspace"] == WS
        missing = api.call("GET", "/", key=None)
        assert missing.status_code == 401 and "api_key" in missing.json()["error"]["message"]
        assert api.call("GET", "/", key="dka_wrong").status_code == 401
        revoke_token(api.resources.catalog(), token=api.key)
        assert api.call("GET", f"/data-staging/v1/external/{WS}/batches").status_code == 401

    def test_a_key_of_another_workspace_is_refused_and_other_kinds_of_token_are_no_keys(self, api: Api) -> None:
        other = api.call("GET", "/data-staging/v1/external/globex/batches")
        assert other.status_code == 403 and "acme" in other.json()["error"]["message"]
        rest = issue_token(api.resources.catalog(), "api", scope={"workspace": WS}).token
        assert api.call("GET", "/", key=rest).status_code == 401


class TestStaging:
    def test_an_uploaded_image_is_staged_at_once_and_the_batch_speaks_the_wire_names(self, api: Api) -> None:
        first = api.upload_image("photos", "a.jpg", jpeg_bytes(1)).json()
        assert (first["ingested"], first["duplicated"]) == (1, False)
        again = api.upload_image("photos", "a.jpg", jpeg_bytes(1)).json()  # the client's retry
        assert again["duplicated"] is True and again["ingestId"] == first["ingestId"]
        broken = api.upload_image("photos", "b.jpg", b"not a jpeg").json()
        assert broken["failed"] == 1 and broken["failedFiles"][0]["type"] == "unsupported-file-type"

        [batch] = api.call("GET", f"/data-staging/v1/external/{WS}/batches").json()["batches"]
        assert set(batch) == {"displayName", "batchId", "batchType", "batchContentType", "createdDate", "expiryDate"}
        assert (batch["displayName"], batch["batchType"], batch["batchContentType"]) == ("Photos", "simple-batch", "images")
        assert batch["createdDate"].endswith("Z") and datetime.fromisoformat(batch["expiryDate"]) == NO_EXPIRY
        assert api.call("GET", f"/data-staging/v1/external/{WS}/batches/photos/count").json() == {"count": 1}
        page = api.call("GET", f"/data-staging/v1/external/{WS}/batches/photos/list").json()
        [item] = page["filesMetadata"]
        assert "nextPageToken" in page and (item["fileName"], item["contentType"]) == ("a.jpg", "image/jpeg")
        got = api.call("GET", urlsplit(item["downloadURL"]).path, key=None, params=parse_qs(urlsplit(item["downloadURL"]).query))
        assert got.status_code == 200 and got.content == jpeg_bytes(1)

    def test_pages_follow_next_page_tokens_to_the_end(self, api: Api) -> None:
        for i in range(5):
            api.upload_image("paged", f"p{i}.jpg", jpeg_bytes(10 + i))
        names, token = [], None
        while True:
            params = {"pageSize": 2} | ({"nextPageToken": token} if token else {})
            page = api.call("GET", f"/data-staging/v1/external/{WS}/batches/paged/list", params=params).json()
            names += [m["fileName"] for m in page["filesMetadata"]]
            if not (token := page["nextPageToken"]):
                break
        assert names == [f"p{i}.jpg" for i in range(5)]
        bad = api.call("GET", f"/data-staging/v1/external/{WS}/batches/paged/list", params={"nextPageToken": "garbage"})
        assert bad.status_code == 400

    def test_expiry_follows_the_staged_data_setting(self, tmp_path: Path, catalog_url: str) -> None:
        api = Api(tmp_path, catalog_url, Recorder(), staged_data_ttl_days=7)
        api.upload_image("week", "a.jpg", jpeg_bytes(1))
        batch = api.call("GET", f"/data-staging/v1/external/{WS}/batches/week").json()["batch"]
        created, expiry = datetime.fromisoformat(batch["createdDate"]), datetime.fromisoformat(batch["expiryDate"])
        assert expiry - created == timedelta(days=7)


class TestUploadURLs:
    def _url(self, api: Api, batch_id: str = "bulk") -> str:
        answer = api.call("POST", f"/data-staging/v1/external/{WS}/batches/{batch_id}/bulk-upload/image-files").json()
        assert answer["signedURLDetails"]["extensionHeaders"] == {}
        return answer["signedURLDetails"]["uploadURL"]

    def put(self, api: Api, url: str, body: bytes) -> httpx.Response:
        parts = urlsplit(url)
        return api.call("PUT", parts.path, key=None, params={k: v[0] for k, v in parse_qs(parts.query).items()}, content=body)

    def test_a_shard_put_announces_its_ingest_with_ids_only_and_the_url_works_once(self, api: Api, recorder: Recorder) -> None:
        config = json.dumps({"ingestId": "mine", "notificationsURL": "http://127.0.0.1:9/hook?token=s3cr3t"}).encode()
        url = self._url(api)
        # The batch exists for the client from its first upload URL, before any ingest has begun.
        [listed] = api.call("GET", f"/data-staging/v1/external/{WS}/batches").json()["batches"]
        assert (listed["batchId"], listed["batchType"]) == ("bulk", "sharded-batch")
        assert api.call("GET", f"/data-staging/v1/external/{WS}/batches/bulk/count").json() == {"count": 0}
        assert self.put(api, url, tar_of({"a.jpg": jpeg_bytes(1), "notification_config.json": config})).status_code == 200
        [announced] = recorder.ingests
        assert announced.source.startswith("push:") and announced.notifications_url is None
        assert "s3cr3t" not in announced.model_dump_json()
        request = resolve_push(api.resources.catalog(), announced)  # what the flow reads back from the catalog
        assert request.ingest_id.startswith("mine-") and request.notifications_url.endswith("token=s3cr3t")
        with tarfile.open(request.source) as tar:
            assert tar.getnames() == ["a.jpg"]  # the config is no file of the batch
        again = self.put(api, url, tar_of({"b.jpg": jpeg_bytes(2)}))
        assert again.status_code == 409 and "used already" in again.json()["error"]["message"]

    def test_a_tampered_an_expired_or_an_oversized_upload_is_refused(self, tmp_path: Path, catalog_url: str) -> None:
        api = Api(tmp_path, catalog_url, Recorder(), roboflow_max_upload_bytes=4096)
        url = self._url(api)
        tampered = url.replace("signature=", "signature=0")
        assert self.put(api, tampered, b"x").status_code == 403
        expired = url.split("expires=")[0] + f"expires={int(time.time()) - 10}&" + url.split("&", 1)[1]
        assert self.put(api, expired, b"x").status_code == 403  # the signature covers the expiry
        big = self.put(api, url, b"x" * 5000)
        assert big.status_code == 413

    def test_references_are_announced_and_the_same_ingest_id_again_is_duplicated(self, api: Api, recorder: Recorder) -> None:
        body = {"imageReferences": [{"name": "a.jpg", "url": "http://127.0.0.1:9/a.jpg?sig=s3cr3t"}], "ingestId": "refs-1",
                "notificationsURL": "http://127.0.0.1:9/hook?token=t0k3n", "notificationCategories": ["files-status"]}
        path = f"/data-staging/v1/external/{WS}/batches/refs/bulk-upload/image-references"
        first = api.call("POST", path, json=body).json()
        assert first == {"ingestId": "refs-1", "shardIds": ["refs-1/00000"], "duplicated": False}
        [announced] = recorder.ingests
        assert "t0k3n" not in announced.model_dump_json() and "s3cr3t" not in announced.model_dump_json()
        request = resolve_push(api.resources.catalog(), announced)
        assert (request.notifications_url, request.notification_category) == (body["notificationsURL"], "files-status")
        assert api.call("POST", path, json=body).json()["duplicated"] is True and len(recorder.ingests) == 1
        clash = api.call("POST", path, json={**body, "imageReferences": [{"name": "b.jpg", "url": "http://127.0.0.1:9/b"}]})
        assert clash.status_code == 409
        unsafe = api.call("POST", path, json={"imageReferencesURL": "https://169.254.169.254/refs.jsonl"})
        assert unsafe.status_code == 400 and "link-local" in unsafe.json()["error"]["message"]
        both = api.call("POST", path, json={**body, "imageReferencesURL": "https://example.com/r.jsonl"})
        assert both.status_code == 400


DEFINITION = {
    "type": "simple-image-processing-v1",
    "jobInput": {"type": "staging-batch-input-v1", "batchId": "photos"},
    "computeConfiguration": {"type": "compute-configuration-v2", "machineType": "gpu", "workersPerMachine": 2},
    "maxParallelTasks": 4,
    "processingSpecification": {"type": "workflows-processing-specification-v1", "workspace": WS,
                                "workflowId": "image-metadata", "persistImagesOutputs": False},
}  # fmt: skip


class TestJobs:
    def test_unknown_workflows_and_unfit_job_types_are_refused_with_the_reason(self, api: Api) -> None:
        api.upload_image("photos", "a.jpg", jpeg_bytes(1))
        path = f"/batch-processing/v1/external/{WS}/jobs/job-x"
        unknown = api.call("POST", path, json={**DEFINITION, "processingSpecification": {**DEFINITION["processingSpecification"],
                                                                                          "workflowId": "nope"}})  # fmt: skip
        assert unknown.status_code == 404 and "no workflow 'nope'" in unknown.json()["error"]["message"]
        video = api.call("POST", path, json={**DEFINITION, "type": "simple-video-processing-v1"})
        assert video.status_code == 400 and "videos" in video.json()["error"]["message"]
        trt = api.call("POST", path, json={"type": "trt-compilation-v1"})
        assert trt.status_code == 400 and "not supported" in trt.json()["error"]["message"]
        assert api.call("POST", path, json={"type": "simple-image-processing-v1"}).status_code == 400

    def test_a_job_starts_with_ids_only_and_an_abort_before_it_runs_ends_it_until_restarted(self, api: Api, recorder: Recorder) -> None:
        api.upload_image("photos", "a.jpg", jpeg_bytes(1))
        path = f"/batch-processing/v1/external/{WS}/jobs/job-p"
        body = {**DEFINITION, "notificationsURL": "http://127.0.0.1:9/hook?token=t0k3n"}
        assert api.call("POST", path, json=body).status_code == 200
        [started] = recorder.jobs
        assert (started.job_id, started.workflow_id, started.notifications_url) == ("job-p", "image-metadata", None)
        job = api.call("GET", path).json()["job"]
        assert "t0k3n" not in json.dumps(job) and (job["isTerminal"], job["state"]) == (False, "pending")
        assert api.call("POST", path + "/restart").status_code == 409  # not while it is pending
        assert api.call("POST", path + "/abort").json()["state"] == "aborted"
        job = api.call("GET", path).json()["job"]
        assert (job["isTerminal"], job["error"]) == (True, True)
        bad = api.call("POST", path + "/restart", json={"type": "parameters-override-v2"})
        assert bad.status_code == 400 and "parameters-override-v1" in bad.json()["error"]["message"]
        assert api.call("POST", path + "/restart").status_code == 200 and [j.job_id for j in recorder.jobs] == ["job-p", "job-p"]
        assert api.call("POST", path, json=body).status_code == 200  # the same id and body again: the same job
        other = api.call("POST", path, json={**DEFINITION, "maxParallelTasks": 9})
        assert other.status_code == 409

    def test_a_job_runs_through_the_flow_and_reads_as_the_client_expects(
        self, tmp_path: Path, catalog_url: str, docket_env: Path, prefect_harness: None
    ) -> None:
        launcher = InProcessLauncher()
        api = Api(tmp_path, catalog_url, launcher)
        for i in range(3):
            api.upload_image("photos", f"p{i}.jpg", jpeg_bytes(i))
        created = api.call("POST", f"/batch-processing/v1/external/{WS}/jobs/job-one", params={"name": "First"}, json=DEFINITION)
        assert created.status_code == 200, created.text
        assert created.json()["notApplied"] == {"computeConfiguration": {"machineType": "gpu", "workersPerMachine": 2},
                                                "maxParallelTasks": 4, "processingSpecification": {"persistImagesOutputs": False}}  # fmt: skip
        launcher.join()
        job = api.call("GET", f"/batch-processing/v1/external/{WS}/jobs/job-one").json()["job"]
        assert (job["name"], job["isTerminal"], job["error"], job["currentStage"]) == ("First", True, False, "export")
        assert job["jobDefinition"]["computeConfiguration"]["machineType"] == "gpu" and job["restartParametersOverride"] == []
        stages = api.call("GET", f"/batch-processing/v1/external/{WS}/jobs/job-one/stages").json()["stages"]
        assert [(s["processingStageId"], s["statusType"], s["outputBatches"]) for s in stages] == [
            ("processing", "success", []), ("export", "success", ["job-one-out"])]  # fmt: skip
        assert all(s["tasksNumber"] >= 1 and s["notification"] for s in stages)
        tasks = api.call("GET", f"/batch-processing/v1/external/{WS}/jobs/job-one/stages/processing/tasks").json()
        assert tasks["nextPageToken"] is None and [t["progress"] for t in tasks["tasks"]] == [1.0]
        listed = api.call("GET", f"/batch-processing/v1/external/{WS}/jobs", params={"pageSize": 10}).json()
        assert "nextPageToken" in listed and [j["jobId"] for j in listed["jobs"]] == ["job-one"]
        logs = api.call("GET", f"/batch-processing/v1/external/{WS}/jobs/job-one/logs").json()["logs"]
        assert {entry["severity"] for entry in logs} == {"info"} and all(isinstance(entry["payload"], dict) for entry in logs)

        parts = api.call("GET", f"/data-staging/v1/external/{WS}/batches/job-one-out/parts").json()["batchParts"]
        assert [p["partName"] for p in parts] == ["datapoints", "documents"]
        docs = api.call("GET", f"/data-staging/v1/external/{WS}/batches/job-one-out/list", params={"partName": "documents"}).json()
        assert [(m["partName"], m["fileName"]) for m in docs["filesMetadata"]] == [("documents", "part-00000.parquet")]
        not_multipart = api.call("GET", f"/data-staging/v1/external/{WS}/batches/photos/parts")
        assert not_multipart.status_code == 400

        restarted = api.call("POST", f"/batch-processing/v1/external/{WS}/jobs/job-one/restart",
                             json={"type": "parameters-override-v1", "maxImageFailureRate": 0.25,
                                   "computeConfiguration": {"type": "compute-configuration-v2", "machineType": "cpu"}})  # fmt: skip
        assert restarted.status_code == 200, restarted.text
        launcher.join()
        job = api.call("GET", f"/batch-processing/v1/external/{WS}/jobs/job-one").json()["job"]
        assert [o["maxImageFailureRate"] for o in job["restartParametersOverride"]] == [0.25]
        aborted = api.call("POST", f"/batch-processing/v1/external/{WS}/jobs/job-one/abort").json()
        assert aborted["state"] == "succeeded"  # a finished job stays as it ended


class TestS3Store:
    def test_on_an_s3_store_download_urls_are_presigned_by_the_store(self, tmp_path: Path, catalog_url: str) -> None:
        import boto3
        from moto.server import ThreadedMotoServer

        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            endpoint = f"http://127.0.0.1:{server._server.server_port}"  # noqa: SLF001 - the port moto chose
            boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="k", aws_secret_access_key="s",
                         region_name="us-east-1").create_bucket(Bucket="docket")  # fmt: skip
            api = Api(tmp_path, catalog_url, Recorder())
            options = {"key": "k", "secret": "s", "client_kwargs": {"endpoint_url": endpoint, "region_name": "us-east-1"}}
            api.resources = Resources(store_url="s3://docket/store", storage_options=options, catalog_url=catalog_url)
            api.app = create_app(RoboflowContext(api.resources, api.settings, Recorder()))
            api.upload_image("s3-photos", "a.jpg", jpeg_bytes(7))
            [item] = api.call("GET", f"/data-staging/v1/external/{WS}/batches/s3-photos/list").json()["filesMetadata"]
            assert item["downloadURL"].startswith(endpoint) and "Signature" in item["downloadURL"]
            assert httpx.get(item["downloadURL"], timeout=10).content == jpeg_bytes(7)  # no Docket, no key in between
        finally:
            server.stop()
