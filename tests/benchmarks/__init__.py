"""Benchmarks of wagtail_segments: ``python -m tests.benchmarks``.

    python -m tests.benchmarks [--db sqlite|postgres] [--contacts N] [--events M]
                               [--quick] [--json FILE] [--reps R] [--only a,b] [--keep]

It prints a table and, with ``--json``, writes one object whose keys are the figures, each
``{"value": …, "unit": …}`` (see docs/scaling.md for the figures, their targets and the
latest measured table). pytest does not collect it (``--ignore=tests/benchmarks``).

Isolation. Each run makes its own database and drops it at the end: ``--db postgres``
creates ``wsg_bench_<pid>`` on the server of ``WSG_BENCH_POSTGRES`` (default
``postgres://postgres@127.0.0.1:5432/``) and drops it afterwards; ``--db sqlite`` uses a
file in a temporary directory. The schema is made once per run, from the models (see
settings.py; ``--migrate`` replays the migrations instead), then data.py fills it inside
the database, builds the 50 dynamic segments of scenario.py, and closes every connection.
Each measurement (preview, rebuild, peak, tracking, incremental) then runs in its own child
process forked from that state, with its own new database connection (opened again, outside
the clock, before each timed operation of the rebuild and preview), and hands its figures
back through a pipe; the peak-memory child does nothing but one rebuild. ``--keep`` keeps
the database and ``--reuse NAME`` measures an existing one again (for profiling).

Medians of at least five repetitions; each comparison (tracking on/off/bare insert,
rebuild/hand-written SQL) is interleaved within the same run.
"""
