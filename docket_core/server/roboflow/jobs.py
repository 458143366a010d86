"""Routes: batch-processing jobs (create from a job definition, list, details, stages, tasks, abort,
restart with parameter overrides, logs), on the same domain functions as `docket jobs`."""

from __future__ import annotations

import time
from typing import Any, Optional

import anyio
from fastapi import APIRouter, Query, Request

from docket_core.jobs.finish import request_abort
from docket_core.jobs.plan import register_job
from docket_core.jobs.queries import job_details
from docket_core.jobs.models import JobRequest
from docket_core.names import check_id
from docket_core.notifications.outbox import check_endpoint_url
from docket_core.roboflow import job_views, jobdef, records
from docket_core.server.roboflow.common import Refused, RoboflowContext, RoboflowRoute, check_key, check_workspace, page_size

__all__ = ["jobs_router"]

PREFIX = "/batch-processing/v1/external/{workspace}/jobs"
_SETTLE_SECONDS = 20.0  # how long an abort waits for a just-started run to take up its job


async def _json_or_none(request: Request) -> Any:
    body = await request.body()
    if not body.strip():
        return None
    try:
        return await request.json()
    except ValueError as exc:
        raise Refused(400, f"expected a JSON body, got invalid JSON: {exc}", "InvalidRequest") from exc


def jobs_router(ctx: RoboflowContext) -> APIRouter:
    router = APIRouter(route_class=RoboflowRoute, tags=["roboflow batch processing"])
    catalog = ctx.resources.catalog

    def settle_pending(job_id: str) -> None:
        """A job whose run has not started it: cancel that run if it is not running yet (else it would
        start the job after the abort), or wait until it has started the job, which then sees the abort."""
        with catalog().read() as conn:
            record = records.job_records(conn, [job_id]).get(job_id)
        if record is None or not record.run_id or ctx.launcher.cancel(record.run_id):
            return
        deadline = time.monotonic() + _SETTLE_SECONDS
        while time.monotonic() < deadline and job_details(catalog(), job_id)["state"] == "pending":
            time.sleep(0.2)

    def key_for(request: Request, workspace: str) -> None:
        check_workspace(check_key(ctx, request), workspace)

    @router.get(PREFIX, summary="List jobs, newest first")
    def list_jobs(request: Request, workspace: str, pageSize: Optional[int] = Query(None),  # noqa: N803
                  nextPageToken: Optional[str] = Query(None)) -> dict[str, Any]:  # noqa: N803  # fmt: skip
        key_for(request, workspace)
        return job_views.jobs_page(catalog(), page_size=page_size(ctx, pageSize), token=nextPageToken)

    @router.post(PREFIX + "/{job_id}", summary="Create and start a job from a job definition")
    async def create_job(request: Request, workspace: str, job_id: str, name: Optional[str] = Query(None)) -> dict[str, Any]:
        await anyio.to_thread.run_sync(key_for, request, workspace)
        body = await _json_or_none(request)

        def create() -> dict[str, Any]:
            check_id(job_id, "job id")
            definition = jobdef.parse_definition(body)
            workflow = jobdef.resolve_workflow(definition, ctx.settings)
            if definition.notifications_url:
                check_endpoint_url(definition.notifications_url)
            job = jobdef.to_job_request(definition, job_id)
            register_job(job, workflow, ctx.resources)  # the job row (and its URL) exists before the answer
            kept = {k: v for k, v in body.items() if k != "notificationsURL"}  # the URL stays in the job row only
            records.record_job(catalog(), job_id, workspace=workspace, name=name, definition=kept)
            # Ids only: the job row (written above) keeps the notification URL, as across restarts.
            run = ctx.launcher.job(job.model_copy(update={"notifications_url": None}))
            records.set_run(catalog(), job_id, run)
            return {"status": "ok", "jobId": job_id, "workflowId": workflow.workflow_id, "flowRunId": run,
                    "notApplied": jobdef.not_applied(body)}  # fmt: skip

        return await anyio.to_thread.run_sync(create)

    @router.get(PREFIX + "/{job_id}", summary="Job details")
    def job(request: Request, workspace: str, job_id: str) -> dict[str, Any]:
        key_for(request, workspace)
        return {"job": job_views.job_metadata(catalog(), job_id)}

    @router.get(PREFIX + "/{job_id}/stages", summary="A job's stages")
    def stages(request: Request, workspace: str, job_id: str) -> dict[str, Any]:
        key_for(request, workspace)
        return job_views.job_stages(catalog(), job_id)

    @router.get(PREFIX + "/{job_id}/stages/{stage_id}/tasks", summary="A page of a stage's tasks")
    def tasks(request: Request, workspace: str, job_id: str, stage_id: str, pageSize: Optional[int] = Query(None),  # noqa: N803
              nextPageToken: Optional[str] = Query(None)) -> dict[str, Any]:  # noqa: N803  # fmt: skip
        key_for(request, workspace)
        return job_views.stage_tasks(catalog(), job_id, stage_id, page_size=page_size(ctx, pageSize), token=nextPageToken)

    @router.post(PREFIX + "/{job_id}/abort", summary="Stop a job: chunks not started are skipped")
    def abort(request: Request, workspace: str, job_id: str) -> dict[str, Any]:
        key_for(request, workspace)
        if job_details(catalog(), job_id)["state"] == "pending":
            settle_pending(job_id)
        state = request_abort(catalog(), job_id)
        return {"status": "ok", "jobId": job_id, "state": state, "message": "chunks not yet started are skipped; "
                "the job ends aborted (restart it to finish)"}  # fmt: skip

    @router.post(PREFIX + "/{job_id}/restart", summary="Run a job again (only files without a result), with overrides")
    async def restart(request: Request, workspace: str, job_id: str) -> dict[str, Any]:
        await anyio.to_thread.run_sync(key_for, request, workspace)
        body = await _json_or_none(request)

        def run() -> dict[str, Any]:
            details = job_details(catalog(), job_id)
            rate = details["max_failure_rate"]
            parsed = jobdef.parse_override(body) if body is not None else None
            if details["state"] in ("pending", "running"):
                raise Refused(409, f"job {job_id!r} is {details['state']}; abort it or wait for it to end before restarting",
                              "Conflict")  # fmt: skip
            if parsed is not None:
                if parsed.max_image_failure_rate is not None:
                    rate = parsed.max_image_failure_rate
                records.add_override(catalog(), job_id, dict(body), workspace=workspace, failure_rate=rate)
            override = dict(body) if body is not None else None
            job = JobRequest(batch_id=details["batch_id"], workflow_id=details["workflow_id"], job_id=job_id, max_failure_rate=rate)
            run_id = ctx.launcher.job(job)
            records.set_run(catalog(), job_id, run_id)
            return {"status": "ok", "jobId": job_id, "flowRunId": run_id,
                    "notApplied": jobdef.not_applied(override) if override else {}}  # fmt: skip

        return await anyio.to_thread.run_sync(run)

    @router.get(PREFIX + "/{job_id}/logs", summary="A page of a job's log")
    def logs(request: Request, workspace: str, job_id: str, severity: Optional[str] = Query(None),
             pageSize: Optional[int] = Query(None), nextPageToken: Optional[str] = Query(None)) -> dict[str, Any]:  # noqa: N803  # fmt: skip
        key_for(request, workspace)
        return job_views.job_logs(catalog(), job_id, severity=severity, page_size=page_size(ctx, pageSize), token=nextPageToken)

    return router
