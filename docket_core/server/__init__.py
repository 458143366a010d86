"""The HTTP entry points that `docket serve` assembles into one app (see `docket_core.server.app`).

Each door is a thin router over the domain: the push receiver (`receiver`), and beside it the
Rossum-compatible REST API, the Roboflow-style batch API and the review pages. Nothing here holds
business rules; the CLI and these routers call the same domain functions.
"""
