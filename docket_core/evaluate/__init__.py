"""Capture evaluation: truth records, the development data sets' truth, scoring and the run.

`truth` holds the truth JSONL format; `datasets` builds truth for the real development data at run
time (never stored); `score` compares captured values with the truth; `run` sends files through a
workflow with the job code and times them. `bench/capture.py` is the command around them.
"""
