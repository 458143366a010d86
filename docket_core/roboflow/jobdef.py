"""Roboflow job definitions (`simple-image-processing-v1`, `simple-video-processing-v1`) as Docket jobs.

The definition names a staging batch and a workflow by id; Docket maps the id to its registry
(built-ins, DOCKET_WORKFLOW_PATHS, DOCKET_WORKFLOW_MODULES) and refuses an unknown one. The failure
budget (`maxImageFailureRate`) and `notificationsURL` are applied; the cloud-compute knobs (machine
type, workers per machine, parallel tasks, timeouts, inference backend, workflow parameters, output
persistence) are recorded with the job, listed under `notApplied`, and do nothing.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from docket_core.errors import InputError
from docket_core.jobs.models import JobRequest
from docket_core.settings import DocketSettings
from docket_core.workflows.registry import Workflow, get_workflow, load_workflows

__all__ = ["JobDefinition", "ParametersOverride", "not_applied", "parse_definition", "parse_override", "resolve_workflow", "to_job_request"]

MEDIA_OF_JOB_TYPE = {"simple-image-processing-v1": "images", "simple-video-processing-v1": "videos"}


class _Wire(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=False)


class ComputeConfiguration(_Wire):
    type: Literal["compute-configuration-v1", "compute-configuration-v2"] = "compute-configuration-v2"
    machine_type: str | None = Field(default=None, alias="machineType")
    workers_per_machine: int | None = Field(default=None, alias="workersPerMachine")


class JobInput(_Wire):
    type: Literal["staging-batch-input-v1"]
    batch_id: str = Field(alias="batchId")
    part_name: str | None = Field(default=None, alias="partName")


class ProcessingSpecification(_Wire):
    type: Literal["workflows-processing-specification-v1"]
    workspace: str | None = None
    workflow_id: str = Field(alias="workflowId")


class JobDefinition(_Wire):
    type: Literal["simple-image-processing-v1", "simple-video-processing-v1"]
    job_input: JobInput = Field(alias="jobInput")
    compute_configuration: ComputeConfiguration | None = Field(default=None, alias="computeConfiguration")
    processing_specification: ProcessingSpecification = Field(alias="processingSpecification")
    max_image_failure_rate: float | None = Field(default=None, ge=0, le=1, alias="maxImageFailureRate")
    notifications_url: str | None = Field(default=None, alias="notificationsURL")


class ParametersOverride(_Wire):
    type: Literal["parameters-override-v1"]
    compute_configuration: ComputeConfiguration | None = Field(default=None, alias="computeConfiguration")
    max_image_failure_rate: float | None = Field(default=None, ge=0, le=1, alias="maxImageFailureRate")


def _reason(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors())


def parse_definition(body: Any) -> JobDefinition:
    """Raises:
    InputError: the body is not a job definition Docket runs (the message names the field)."""
    if isinstance(body, dict) and body.get("type") == "trt-compilation-v1":
        raise InputError("job type 'trt-compilation-v1' (TensorRT compilation) is not supported by Docket; "
                         "expected simple-image-processing-v1 or simple-video-processing-v1")  # fmt: skip
    try:
        return JobDefinition.model_validate(body)
    except ValidationError as exc:
        raise InputError(f"expected a job definition: {_reason(exc)}") from exc


def parse_override(body: Any) -> ParametersOverride:
    try:
        return ParametersOverride.model_validate(body)
    except ValidationError as exc:
        raise InputError(f"expected a parameters-override-v1 body: {_reason(exc)}") from exc


def resolve_workflow(definition: JobDefinition, settings: DocketSettings) -> Workflow:
    """The Docket workflow the definition names.

    Raises:
        NotFoundError: no workflow by that id (the message lists the known ones).
        InputError: the workflow does not process the job type's media.
    """
    workflow = get_workflow(definition.processing_specification.workflow_id,
                            load_workflows(settings.workflow_paths, settings.workflow_modules))  # fmt: skip
    media = MEDIA_OF_JOB_TYPE[definition.type]
    if media not in workflow.media_kinds:
        raise InputError(f"workflow {workflow.workflow_id!r} processes {', '.join(sorted(workflow.media_kinds))}; "
                         f"a {definition.type} job needs one for {media}")  # fmt: skip
    return workflow


_APPLIED = {"type", "jobInput", "processingSpecification", "maxImageFailureRate", "notificationsURL"}
_APPLIED_SPEC = {"type", "workspace", "workflowId"}


def not_applied(definition: dict[str, Any]) -> dict[str, Any]:
    """The knobs of a definition (or an override) that Docket records but does not apply."""
    ignored = {k: v for k, v in definition.items() if k not in _APPLIED and k != "computeConfiguration"}
    compute = {k: v for k, v in (definition.get("computeConfiguration") or {}).items() if k != "type"}
    if compute:
        ignored["computeConfiguration"] = compute
    spec = {k: v for k, v in (definition.get("processingSpecification") or {}).items() if k not in _APPLIED_SPEC}
    if spec:
        ignored["processingSpecification"] = spec
    job_input = {k: v for k, v in (definition.get("jobInput") or {}).items() if k not in ("type", "batchId")}
    if job_input:
        ignored["jobInput"] = job_input
    ignored.pop("type", None)
    return ignored


def to_job_request(definition: JobDefinition, job_id: str) -> JobRequest:
    return JobRequest(batch_id=definition.job_input.batch_id, workflow_id=definition.processing_specification.workflow_id,
                      job_id=job_id, max_failure_rate=definition.max_image_failure_rate,
                      notifications_url=definition.notifications_url)  # fmt: skip
