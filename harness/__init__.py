"""The harness: the ``sirekap-loadtest`` command line and one run, start to finish."""
