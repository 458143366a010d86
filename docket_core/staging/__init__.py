"""Data staging: files into named batches from folders, tar bundles and references files."""

from docket_core.staging.models import FileOutcome, IngestPlan, IngestRequest, IngestSummary, ShardSummary

__all__ = ["FileOutcome", "IngestPlan", "IngestRequest", "IngestSummary", "ShardSummary"]
