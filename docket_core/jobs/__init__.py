"""Jobs: a workflow run over a batch, chunk by chunk, its results landing as Parquet."""

from docket_core.jobs.models import ChunkSummary, JobPlan, JobRequest

__all__ = ["ChunkSummary", "JobPlan", "JobRequest"]
