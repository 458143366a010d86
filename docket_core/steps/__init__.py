"""Built-in workflow steps: plain functions from one file to datapoints (see `docket_core.workflows.model`)."""
