"""Prefect tasks: one module per stage, each a thin wrapper over plain functions in `docket`."""
