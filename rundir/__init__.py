"""The run directory: the contract between the load generator, the harness and the reports.

A run writes everything a report needs into ``runs/<UTC time>-<scenario>/``, so ``report``,
``compare`` and ``history`` work from saved folders with nothing running. This package is that
folder's format, and imports nothing else of the project (the harness, the locustfiles and the
reports import it):

- :mod:`rundir.names`: every file and folder name; :mod:`rundir.layout`: a run directory's paths;
- :mod:`rundir.files`: atomic writes, JSON and JSON Lines;
- :mod:`rundir.record`: ``run.json``, the run record (versions, clock, target, faults, status);
- :mod:`rundir.histogram`: mergeable latency histograms (at most 1% relative error);
- :mod:`rundir.timeline`: ``timeline.jsonl``, per second and endpoint, mergeable across workers;
- :mod:`rundir.ledger`: ``ledger.jsonl``, one line per TPS form and device, and its outcomes;
- :mod:`rundir.failures`: the failure kinds (refused, timeout, reset, truncated, 4xx, 5xx);
- :mod:`rundir.plenary_record`: ``plenary.jsonl``, the PPK plenary's dealings per TPS form;
- :mod:`rundir.progress`: ``progress.json``, the generator's live figures;
- :mod:`rundir.generator_files`: the generator's files, written at its end;
- :mod:`rundir.endpoints`: the endpoint names every record uses;
- :mod:`rundir.exits`: exit codes and the error base that carries them;
- :mod:`rundir.timing`: the timings the harness and the generator agree on.
"""
