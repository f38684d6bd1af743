"""The names of the files and folders of a run directory, ``runs/<UTC time>-<scenario>/``.

Written by the harness (the record, the scenario as run, the mock's inputs, the scraped metrics,
the export), by the load generator (timeline, ledger, load summary, plenary, live progress) and
read by the reports; a report needs nothing else.
"""

from __future__ import annotations

from typing import Final

# the harness
RECORD: Final = "run.json"  # rundir.record: versions, clock, target, faults, status, exit code
SCENARIO: Final = "scenario.toml"  # the scenario as run (with --speedup applied)
REGISTRY: Final = "registry.csv"  # the mock's TPS and devices
OPERATORS: Final = "operators.csv"  # the mock's PPK operators
CAPACITY: Final = "capacity.json"  # the mock's capacity model
MOCK_DB: Final = "mock.db"  # the embedded mock's SQLite database
SERVER_METRICS: Final = "server_metrics.jsonl"  # the target's /metrics, scraped each second
EXPORT: Final = "export.ndjson"  # what the target stored (its admin export)
READBACK: Final = "readback.jsonl"  # rundir.readback: each form read back after the load
SWEEP: Final = "sweep.json"  # a plan's settings and stages
PLAN_CHECK: Final = "plan_check.json"  # `plan --verify`: the replays, predicted and measured
HAPROXY: Final = "haproxy.jsonl"  # a deployment's load balancer: each instance up or down
PENDING_REVERTS: Final = "pending_reverts.json"  # command faults' reverts still owed
RECAP: Final = "recap.jsonl"  # a hindcast's national recap, read through the run

# the load generator
TIMELINE: Final = "timeline.jsonl"  # rundir.timeline: per second and endpoint
LEDGER: Final = "ledger.jsonl"  # rundir.ledger: one line per TPS form and device
LOAD_SUMMARY: Final = "load_summary.json"  # rundir.load_summary: totals, slip, reasons
PLENARY: Final = "plenary.jsonl"  # rundir.plenary_record: one line per TPS form the PPK saw
PROGRESS: Final = "progress.json"  # rundir.progress: live figures, removed at the end

# folders
LOGS: Final = "logs"
COMMAND_LOGS: Final = "logs/commands"  # each command fault's command: output, exit code
LOCUST: Final = "locust"  # Locust's own csv and html
REPORT: Final = "report"  # reports: report.html, summary.json, summary.md, junit.xml, charts/
STAGES: Final = "stages"  # a plan's stage run folders
REPLAYS: Final = "replays"  # `plan --verify`: the replays' run folders

# what the reports read, in the order they read it
INPUTS: Final = (TIMELINE, LEDGER, LOAD_SUMMARY, SERVER_METRICS, EXPORT, PLENARY)
OPTIONAL_INPUTS: Final = (HAPROXY, READBACK, RECAP)  # a deployment's; the read-back; a hindcast's
