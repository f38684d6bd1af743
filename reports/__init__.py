"""Reports: from a saved run directory alone, the analysis, the SLO verdicts and the report.

``build`` reads a run (``inputs``), measures it (``analyse``: endpoints, ``recovery``,
``completion``, ``integrity``, ``plenary_figures``, ``unacked``, ``span``), resolves every SLO
(``measurable``, ``verdict``: met, breached, not measured, not applicable) and writes
``report/``: ``html``, ``summary_files`` (summary.json and summary.md), ``junit``, the charts
(``run_charts``, ``charts``). ``plan*``, ``knee`` and ``sizing`` do the same for a capacity plan.
"""
