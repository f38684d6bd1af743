"""Reports: analysis of a run directory, SLO verdicts, charts and summaries."""
