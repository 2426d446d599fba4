"""``--profile FILE``: one first build of the five-rule segment under pyinstrument (when
installed; cProfile otherwise), and the query plans of its query and of the hand-written SQL."""

from __future__ import annotations

from django.db import connection
from django.utils import timezone

from . import scenario
from .measure import drop_events_after, five_segment, fresh_connection, reset_segment


def profile_rebuild(meta: dict, path: str) -> str:
    from wagtail_segments.segments.compiler import matching_contacts
    from wagtail_segments.segments.evaluation import rebuild_segment
    from wagtail_segments.segments.rules import RuleContext

    segment = five_segment()
    mark = reset_segment(segment)
    segment = five_segment()
    fresh_connection()
    now = timezone.now()
    try:
        from pyinstrument import Profiler
    except ImportError:
        Profiler = None
    if Profiler is not None:
        profiler = Profiler(interval=0.001)
        profiler.start()
        rebuild_segment(segment, now=now)
        profiler.stop()
        report = profiler.output_text(unicode=True, color=False, show_all=False)
    else:
        import cProfile
        import io
        import pstats

        profile = cProfile.Profile()
        profile.runcall(rebuild_segment, segment, now=now)
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(40)
        report = out.getvalue()
    drop_events_after(mark)
    context = RuleContext(now=now)
    query = matching_contacts(segment, context)
    sql, params = query.query.sql_with_params()
    explain = "EXPLAIN (ANALYZE, BUFFERS) " if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN "
    with connection.cursor() as cursor:
        cursor.execute(explain + sql, params)
        plan = "\n".join(" ".join(str(c) for c in row) for row in cursor.fetchall())
        cursor.execute(explain + scenario.hand_sql(connection.vendor), scenario.hand_params(meta, now, connection))
        hand_plan = "\n".join(" ".join(str(c) for c in row) for row in cursor.fetchall())
    with open(path, "w") as out:
        out.write(f"# profile of one first build\n\n{report}\n\n# the rebuild's query: SQL\n\n{sql}\n{params}\n\n"
                  f"# the rebuild's query: plan\n\n{plan}\n\n# hand-written SQL: plan\n\n{hand_plan}\n")
    return path
