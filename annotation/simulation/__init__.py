"""Simulated annotators: the SAM 2 paper's click protocol and annotation-time model, driving the
platform's REST API like a client, so the data engine's metrics can be checked end to end.

- ``annotator``: the click policy (GT centre, largest error region, stop rule) and the time model.
- ``protocols``: how one object is annotated in each phase, against any session.
- ``client``: a typed REST client of the annotation API (token auth).
- ``runner``: setup (synthetic videos, ingest, tasks, the annotator), the run, the report.
"""
