"""Segments that name other segments must not form a cycle: it is refused on save."""

from __future__ import annotations

from .compiler import referenced_segments


def segment_cycle(segment) -> list[str] | None:
    """Names along a path from ``segment`` back to itself through membership rules, or None."""
    from .models import Segment

    start = segment.pk
    if start is None:
        return None
    names = dict(Segment.objects.values_list("pk", "name"))
    names[start] = segment.name
    stack = [(start, [start], referenced_segments(segment))]
    seen: set[int] = set()
    while stack:
        node, path, targets = stack.pop()
        for target in targets:
            if target == start:
                return [names.get(pk, str(pk)) for pk in [*path, start]]
            if target in seen or target not in names:
                continue
            seen.add(target)
            other = Segment.objects.filter(pk=target).first()
            if other is not None:
                stack.append((target, [*path, target], referenced_segments(other)))
    return None
