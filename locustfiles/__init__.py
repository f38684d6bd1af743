"""The load generator: simulated KPPS devices and PPK operators on Locust.

What runs inside the Locust process and nothing else; Locust (and gevent, which it brings) is
imported only in this package, since it monkey-patches the standard library. The harness runs
it as a subprocess; it can also be run by hand (``locust -f locustfiles/sirekap.py``).

- ``sirekap``: the locustfile: options, the load shape, the user classes;
- ``jobs``: the plan, every TPS form of the run in ready order; ``generator``, ``dispatcher``:
  a process's jobs, started on time (open arrivals) on the shared clock;
- ``device``, ``api``, ``transport``, ``retry``, ``correction``: one KPPS device uploading a form
  through the API class, with retries and the officer's corrections;
- ``ppk_operator``, ``operator_desk``: the kecamatan plenary's operators;
- ``conductor``: the master's side (workers, live progress, the final files);
  ``form_record``, ``recorder``, ``reconcile``, ``refusals``, ``load_summary``: what the run
  files say, in the run directory's format (the ``rundir`` package).
"""
