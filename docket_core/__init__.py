"""Docket: self-hosted staging and batch processing of documents and images, orchestrated by Prefect.

The `docket` package is the domain: it imports no Prefect, so it is fast to test and usable anywhere.
Prefect blocks, tasks and flows live in the sibling packages `blocks`, `tasks` and `flows`.
"""

__version__ = "0.1.0"
