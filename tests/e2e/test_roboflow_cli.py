"""The unchanged `inference rf-cloud` CLI (inference-cli 1.8.3, in a virtualenv of its own) against
`docket serve` on loopback: every command of the contract, each result compared with Docket's own
view of the same batch or job, and the exported Parquet read back.

The client's virtualenv is built once per machine (`tests/clients/build.py`); without it the module is
skipped with the reason, and under CI=true it fails instead.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import re
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from standardwebhooks import Webhook

from docket_core.catalog import forget_catalogs
from docket_core.resources import Resources
from docket_core.signing import generate_secret
from tests.clients.build import ClientUnavailable, build_client
from tests.docket_core.notifications.webhook_server import WebhookServer, webhook_server
from tests.e2e.processes import REPO, base_env, free_port, prefect_server, start, stop, wait_http
from tests.helpers import _Handler as FileHandler
from tests.helpers import file_server, image_folder, jpeg_bytes

pytestmark = pytest.mark.slow

WEBHOOK_SECRET = generate_secret()
WORKSPACE = "acme"


@pytest.fixture(scope="session")
def inference() -> Path:
    try:
        return build_client("roboflow")
    except ClientUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the Roboflow client is required in CI: {exc}")
        pytest.skip(f"the Roboflow client (inference-cli) is not available here: {exc}")


def _certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A private CA and a certificate for 127.0.0.1 signed by it: (ca.pem, cert.pem, key.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "docket test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(hours=1))
          .not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))  # fmt: skip
    leaf = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(ca_key, hashes.SHA256()))  # fmt: skip
    paths = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))  # fmt: skip
    return paths


@contextmanager
def https_file_server(files: dict[str, bytes], cert: Path, key: Path) -> Iterator[str]:
    """Like `tests.helpers.file_server`, over TLS with `cert`."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), FileHandler)
    server.files = files  # type: ignore[attr-defined]
    server.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@dataclass
class Served:
    """`docket serve` with the Roboflow door, and the client pointed at it."""

    base: str
    home: Path
    env: dict[str, str]
    client_env: dict[str, str]
    inference: Path
    log: Path
    files: str
    https: str
    hooks: WebhookServer

    @property
    def resources(self) -> Resources:
        return Resources(store_url=str(self.home / "store"), catalog_url=f"sqlite:///{self.home / 'catalog.db'}")

    def rf(self, *args: str, key: str | None = None, ok: bool = True) -> subprocess.CompletedProcess[str]:
        env = self.client_env if key is None else {**self.client_env, "ROBOFLOW_API_KEY": key}
        done = subprocess.run([str(self.inference), "rf-cloud", *args], env=env, capture_output=True, text=True, timeout=180)  # noqa: S603
        if ok:
            assert done.returncode == 0 and "Command failed" not in done.stdout, done.stdout[-3000:] + done.stderr[-3000:]
        return done

    def rf_all(self, *commands: tuple[str, ...]) -> list[subprocess.CompletedProcess[str]]:
        """Several client commands at once (each is a process of its own; they start slowly)."""
        with ThreadPoolExecutor(max_workers=len(commands)) as pool:
            return list(pool.map(lambda args: self.rf(*args), commands))

    def docket(self, *args: str) -> Any:
        done = subprocess.run([sys.executable, "-m", "docket_core.cli", *args, "--json"], env=self.env, capture_output=True,
                              text=True, timeout=120, cwd=str(REPO))  # noqa: S603  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
        return lines[0] if len(lines) == 1 else lines

    def wait(self, what: str, check: Callable[[], Any], timeout: float = 90.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            forget_catalogs()
            value = check()
            if value:
                return value
            time.sleep(0.5)
        raise AssertionError(f"{what} did not happen within {timeout} s; serve log:\n{self.log.read_text(errors='replace')[-3000:]}")


@pytest.fixture(scope="module")
def served(inference: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("roboflow")
    ca, cert, key = _certificates(root)
    prefect, api = prefect_server(root / "prefect-home", root / "prefect.log")
    images = {f"/img/p{i}.jpg": jpeg_bytes(200 + i) for i in range(3)}
    try:
        with file_server(images) as files, webhook_server() as hooks:
            refs = "".join(json.dumps({"name": f"u{i}.jpg", "url": f"{files}/img/p{i}.jpg?sig=s3cr3t"}) + "\n" for i in range(3))
            with https_file_server({"/refs.jsonl": refs.encode()}, cert, key) as https:
                home, port = root / "docket", free_port()
                env = base_env(root / "serve-prefect") | {
                    "PREFECT_API_URL": api, "DOCKET_HOME": str(home), "DOCKET_ALLOWED_URL_HOSTS": "127.0.0.1",
                    "DOCKET_WEBHOOK_SECRET": WEBHOOK_SECRET, "DOCKET_EXTRA_CA_FILE": str(ca),
                    "DOCKET_RECEIVER_SECRET": generate_secret(), "PREFECT_RUNNER_POLL_FREQUENCY": "1",
                    # Small shards and chunks, one at a time, and a user workflow whose images take 1.5 s each:
                    # a job of 9 images runs long enough (3 chunks) to be aborted midway.
                    "DOCKET_SHARD_SIZE": "3", "DOCKET_MAX_WORKERS": "1", "DOCKET_FILE_WORKERS": "1",
                    "DOCKET_WORKFLOW_MODULES": "tests.fixtures.workflows.slow", "DOCKET_TEST_STEP_SECONDS": "1.5",
                }  # fmt: skip
                log = root / "serve.log"
                serve = start([sys.executable, "-m", "docket_core.cli", "serve", "--port", str(port)], env, log)
                try:
                    wait_http(f"http://127.0.0.1:{port}/healthz", serve, log, timeout=180)
                    base = f"http://127.0.0.1:{port}"
                    client_env = {k: v for k, v in os.environ.items()
                                  if not k.startswith(("DOCKET_", "PREFECT_", "PYTHON", "ROBOFLOW_"))}  # fmt: skip
                    client_env.update(API_BASE_URL=base, COLUMNS="250", NO_COLOR="1", DISABLE_VERSION_CHECK="true")
                    state = Served(base, home, env, client_env, inference, log, files, https, hooks)
                    issued = state.docket("api-keys", "create", "--workspace", WORKSPACE, "--label", "tests")
                    client_env["ROBOFLOW_API_KEY"] = issued["api_key"]
                    yield state
                finally:
                    stop(serve)
    finally:
        stop(prefect)


def field(output: str, label: str) -> str:
    """A value from one of the client's two-column tables (`│ Files Count │ 5 │`)."""
    match = re.search(rf"│\s*{re.escape(label)}\s*│\s*(.*?)\s*│", output)
    assert match, f"no {label!r} row in:\n{output[-3000:]}"
    return match.group(1)


def jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def names_in(batch: list[dict[str, Any]] | dict[str, Any]) -> list[str]:
    rows = batch if isinstance(batch, list) else [batch]
    return sorted(r["name"] for r in rows if r.get("status") == "ingested")


def batch_view(served: Served, batch_id: str) -> dict[str, Any] | None:
    from docket_core.errors import NotFoundError
    from docket_core.staging.queries import batch_details

    try:
        return batch_details(served.resources.catalog(), batch_id)
    except NotFoundError:
        return None


def ingests_done(served: Served, batch_id: str, count: int) -> bool:
    view = batch_view(served, batch_id)
    return bool(view) and len(view["ingests"]) >= count and all(i["status"] == "completed" for i in view["ingests"])


def job_view(served: Served, job_id: str) -> dict[str, Any]:
    from docket_core.jobs.queries import job_details

    return job_details(served.resources.catalog(), job_id)


def content_of(served: Served, batch_id: str) -> list[str]:
    """What `docket staging list-batch-content --json` lists: the batch's ingested files by name."""
    from docket_core.staging.queries import batch_content

    return [i["name"] for i in batch_content(served.resources.catalog(), batch_id, status="ingested")]


def shards_of(served: Served, batch_id: str) -> list[dict[str, Any]]:
    """What `docket staging list-ingest-details --json` lists: one record per shard."""
    from docket_core.staging.queries import ingest_details

    return list(ingest_details(served.resources.catalog(), batch_id))


@dataclass
class Staged:
    outputs: dict[str, str]
    folders: dict[str, Path]


@pytest.fixture(scope="module")
def staged(served: Served, tmp_path_factory: pytest.TempPathFactory) -> Staged:
    """Every way of staging, started at once through the client: simple uploads (few, guide, stop),
    tar shards with a webhook (many), a video (clips), references from a file (refs-local) and from
    an https URL (refs-url)."""
    from tests.docket_core.steps.test_video import make_video

    root = tmp_path_factory.mktemp("staged")
    folders = {"few": image_folder(root / "few", 5), "many": image_folder(root / "many", 40, prefix="many"),
               "guide": image_folder(root / "guide", 6, prefix="guide"), "stop": image_folder(root / "stop", 9, prefix="stop")}  # fmt: skip
    (root / "clips").mkdir()
    make_video(root / "clips" / "clip.mp4", seconds=2)
    refs = root / "refs.jsonl"
    lines = [{"name": f"l{i}.jpg", "url": f"{served.files}/img/p{i}.jpg?sig=s3cr3t"} for i in range(3)]
    lines.append({"name": "meta.jpg", "url": "http://169.254.169.254/latest/meta-data"})
    refs.write_text("".join(json.dumps(line) + "\n" for line in lines))
    images = ("data-staging", "create-batch-of-images")
    commands = {
        "few": (*images, "--images-dir", str(folders["few"]), "--batch-id", "few", "--batch-name", "Few photos"),
        "many": (*images, "--images-dir", str(folders["many"]), "--batch-id", "many", "--ingest-id", "bulk-1",
                 "--notifications-url", served.hooks.url("/staging")),
        "guide": (*images, "--images-dir", str(folders["guide"]), "--batch-id", "guide"),
        "stop": (*images, "--images-dir", str(folders["stop"]), "--batch-id", "stop"),
        "clips": ("data-staging", "create-batch-of-videos", "--videos-dir", str(root / "clips"), "--batch-id", "clips"),
        "refs-local": (*images, "--data-source", "references-file", "--references", str(refs), "--batch-id", "refs-local",
                       "--ingest-id", "refs-local-1"),
        "refs-url": (*images, "--data-source", "references-file", "--references", f"{served.https}/refs.jsonl?sig=s3cr3t",
                     "--batch-id", "refs-url"),
    }  # fmt: skip
    done = served.rf_all(*commands.values())
    outputs = {name: result.stdout for name, result in zip(commands, done, strict=True)}
    for batch_id in commands:
        served.wait(f"the ingest of {batch_id}", lambda b=batch_id: ingests_done(served, b, 1))
    return Staged(outputs, folders | {"refs": refs})


class TestStaging:
    def test_up_to_32_images_are_uploaded_one_by_one_and_listed_as_docket_lists_them(self, served: Served, staged: Staged,
                                                                                      tmp_path: Path) -> None:  # fmt: skip
        listed = tmp_path / "content.jsonl"
        shown, _ = served.rf_all(("data-staging", "show-batch-details", "--batch-id", "few"),
                                 ("data-staging", "list-batch-content", "--batch-id", "few", "-o", str(listed)))  # fmt: skip
        view = batch_view(served, "few")
        assert field(shown.stdout, "Name") == "Few photos" and field(shown.stdout, "Files Count") == str(view["files_count"]) == "5"
        assert field(shown.stdout, "Type").startswith("simple-batch (of images")
        assert sorted(m["file_name"] for m in jsonl(listed)) == content_of(served, "few") == [f"img{i:04d}.jpg" for i in range(5)]
        assert [i["source_kind"] for i in view["ingests"]] == ["folder"] * 5  # one ingest per upload, staged when answered

    def test_more_than_32_images_go_as_tar_shards_whose_ingest_notifies_the_webhook(self, served: Served, staged: Staged,
                                                                                    tmp_path: Path) -> None:  # fmt: skip
        view = batch_view(served, "many")
        assert view["files_count"] == 40 and view["failed_count"] == 0  # notification_config.json is no file of the batch
        details = tmp_path / "shards.jsonl"
        shown, _ = served.rf_all(("data-staging", "show-batch-details", "--batch-id", "many"),
                                 ("data-staging", "list-ingest-details", "--batch-id", "many", "-o", str(details)))  # fmt: skip
        assert field(shown.stdout, "Files Count") == "40" and field(shown.stdout, "Type").startswith("sharded-batch")
        shards, ours = jsonl(details), shards_of(served, "many")
        assert [s["shard_id"] for s in shards] == [o["shard_id"] for o in ours] and len(shards) == 14  # Docket's shards of 3
        assert sum(s["shard_objects_count"] for s in shards) == sum(o["ingested_files"] for o in ours) == 40
        assert {s["status_type"] for s in shards} == {"success"}
        [ingest_id] = {o["ingest_id"] for o in ours}
        assert ingest_id.startswith("bulk-1-")  # the ingest id came inside the tar (notification_config.json)

        [note] = served.hooks.wait_for(1, timeout=60, path="/staging")
        body = Webhook(WEBHOOK_SECRET).verify(note.body, note.headers)
        assert (body["type"], body["batch_id"], body["ingest_id"]) == ("docket-data-staging-notification-v1", "many", ingest_id)
        assert body["notification"]["success"] is True and body["notification"]["ingested"] == 40

    def test_videos_are_put_to_upload_urls_and_ingested(self, served: Served, staged: Staged) -> None:
        view = batch_view(served, "clips")
        assert (view["media_kind"], view["files_count"]) == ("videos", 1)
        shown = served.rf("data-staging", "show-batch-details", "--batch-id", "clips").stdout
        assert "videos" in field(shown, "Type") and field(shown, "Files Count") == "1"

    def test_references_from_a_local_jsonl_and_from_an_https_url_are_fetched_by_the_server(self, served: Served, staged: Staged,
                                                                                           tmp_path: Path) -> None:  # fmt: skip
        assert "refs-local-1/00000" in staged.outputs["refs-local"] and "ingest ID" in staged.outputs["refs-url"]
        local, remote = batch_view(served, "refs-local"), batch_view(served, "refs-url")
        assert (local["files_count"], local["errors_by_type"]) == (3, {"unsafe-url-detected": 1})
        assert remote["files_count"] == 3 and content_of(served, "refs-url") == ["u0.jpg", "u1.jpg", "u2.jpg"]
        details = tmp_path / "details.jsonl"
        _, again = served.rf_all(("data-staging", "list-ingest-details", "--batch-id", "refs-local", "-o", str(details)),
                                 ("data-staging", "create-batch-of-images", "--data-source", "references-file", "--references",
                                  str(staged.folders["refs"]), "--batch-id", "refs-local", "--ingest-id", "refs-local-1"))  # fmt: skip
        failed = [f["type"] for s in jsonl(details) for f in s["status_metadata"]["failedFiles"]]
        assert failed == ["unsafe-url-detected"] and len(jsonl(details)) == len(shards_of(served, "refs-local"))
        assert "duplicate" in again.stdout.lower()  # the same ingest id again: nothing is added
        assert batch_view(served, "refs-local")["files_count"] == 3
        assert "s3cr3t" not in served.log.read_text(errors="replace")


class TestJobs:
    def test_the_integration_guide_runs_ingest_job_and_export_and_the_parquet_reads_back(self, served: Served, staged: Staged,
                                                                                         tmp_path: Path) -> None:  # fmt: skip
        started = served.rf("batch-processing", "process-images-with-workflow", "--batch-id", "guide", "--workflow-id",
                            "image-metadata", "--job-id", "job-guide", "--job-name", "Guide job", "--machine-type", "gpu",
                            "--workers-per-machine", "2", "--notifications-url", served.hooks.url("/jobs")).stdout  # fmt: skip
        assert "job-guide" in started
        job = served.wait("the job", lambda: job_view(served, "job-guide")["state"] in ("succeeded", "failed") and job_view(served, "job-guide"))
        assert (job["state"], job["files_succeeded"]) == ("succeeded", 6)

        logs, out = tmp_path / "logs.jsonl", tmp_path / "out"
        details, listed, _, _ = served.rf_all(
            ("batch-processing", "show-job-details", "--job-id", "job-guide"), ("batch-processing", "list-jobs"),
            ("batch-processing", "fetch-logs", "--job-id", "job-guide", "-o", str(logs)),
            ("data-staging", "export-batch", "--batch-id", job["output_batch_id"], "--target-dir", str(out)))  # fmt: skip
        assert field(details.stdout, "Name") == "Guide job" and "processing - export" in field(details.stdout, "Progress")
        assert re.findall(r"│\s*Output Batches\s*│\s*(\S+)", details.stdout)[-1] == job["output_batch_id"] == "job-guide-out"
        assert '"machineType": "gpu"' in details.stdout  # recorded with the job, not applied
        assert "job-guide" in listed.stdout
        assert [e["log_type"] for e in jsonl(logs)][0] == "job-created" and jsonl(logs)[-1]["log_type"] == "job-finished"

        docs = pq.read_table(out / "documents").to_pylist()
        assert sorted(d["file_name"] for d in docs) == [f"guide{i:04d}.jpg" for i in range(6)]
        assert all(d["status"] == "succeeded" and d["width"] == 32 for d in docs)
        ours = pq.read_table(served.home / "store" / "jobs" / "job-guide" / "documents").to_pylist()
        assert sorted(docs, key=lambda d: d["file_name"]) == sorted(ours, key=lambda d: d["file_name"])
        assert pq.read_table(out / "datapoints").num_rows > 0
        assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.parquet")) == content_of(served, "job-guide-out")

        [note] = served.hooks.wait_for(1, timeout=60, path="/jobs")
        body = Webhook(WEBHOOK_SECRET).verify(note.body, note.headers)
        assert (body["type"], body["job_id"], body["job_state"]) == ("docket-batch-job-notification-v1", "job-guide", "success")

    def test_abort_stops_a_running_job_and_restart_finishes_it_with_the_overrides(self, served: Served, staged: Staged) -> None:
        served.rf("batch-processing", "process-images-with-workflow", "--batch-id", "stop", "--workflow-id", "slow-images",
                  "--job-id", "job-stop")  # fmt: skip
        aborted = served.rf("batch-processing", "abort-job", "--job-id", "job-stop").stdout
        assert re.search(r'"state": "(running|aborted)"', aborted), aborted
        job = served.wait("the abort", lambda: job_view(served, "job-stop")["state"] != "running" and job_view(served, "job-stop"))
        assert job["state"] == "aborted" and job["files_succeeded"] < 9, aborted  # the chunks not started were skipped

        restarted = served.rf("batch-processing", "restart-job", "--job-id", "job-stop", "--machine-type", "gpu",
                              "--max-image-failure-rate", "0.5").stdout  # fmt: skip
        assert '"machineType": "gpu"' in restarted  # reported as not applied
        job = served.wait("the restarted job", lambda: job_view(served, "job-stop")["state"] == "succeeded" and job_view(served, "job-stop"))
        assert (job["files_succeeded"], job["max_failure_rate"]) == (9, 0.5)
        shown = served.rf("batch-processing", "show-job-details", "--job-id", "job-stop").stdout
        assert "parameters-override-v1" in shown and '"machineType": "gpu"' in shown and "Is Running: 🏁" in shown


class TestRefusals:
    def test_a_wrong_or_revoked_key_is_unauthorised_and_bad_inputs_get_the_reason(self, served: Served, staged: Staged) -> None:
        from docket_core.auth import issue_token, revoke_token

        spare = issue_token(served.resources.catalog(), "api-key", scope={"workspace": WORKSPACE}).token
        revoke_token(served.resources.catalog(), token=spare)
        commands = [(("data-staging", "list-batches"), "dka_not-a-key"), (("data-staging", "list-batches"), spare),
                    (("batch-processing", "process-images-with-workflow", "--batch-id", "few", "--workflow-id", "nope"), None),
                    (("data-staging", "show-batch-details", "--batch-id", "no-such-batch"), None),
                    (("data-staging", "create-batch-of-images", "--images-dir", str(staged.folders["few"]), "--batch-id", "Bad Batch"), None),
                    (("data-staging", "list-batches"), None)]  # fmt: skip
        with ThreadPoolExecutor(max_workers=len(commands)) as pool:
            wrong, revoked, unknown, missing, bad, good = pool.map(lambda c: served.rf(*c[0], key=c[1], ok=False), commands)
        for refused in (wrong, revoked):
            assert refused.returncode != 0 and "Request unauthorised" in refused.stdout + refused.stderr
        assert "404" in unknown.stdout and "no workflow 'nope'" in unknown.stdout and "image-metadata" in unknown.stdout
        assert "404" in missing.stdout and "no batch 'no-such-batch'" in missing.stdout
        assert "batch id must match" in bad.stdout + bad.stderr
        assert good.returncode == 0 and all(b in good.stdout for b in ("few", "many", "clips"))
