"""The domain side of the Roboflow-style batch API: what `docket_core.server.roboflow` needs beyond
staging and jobs, without HTTP: capability URLs (`urls`), the API's own records (`records`), job
definitions mapped to Docket jobs (`jobdef`), ingests started by the API (`ingests`), the wire views
of batches and jobs (`views`, `job_views`), and the expiry of staged data (`expiry`).
"""
