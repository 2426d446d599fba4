"""Signals the app sends, so that packages above and host code can react without imports down.

``event_recorded(sender=Event, event)``: after an event row is written (not for bulk loads).
``contacts_merged(sender=Contact, source, into)``: inside the merge transaction, after the
events, tags and fields moved; receivers move what they keep per contact (memberships, runs).
"""

from django.dispatch import Signal

event_recorded = Signal()
contacts_merged = Signal()

# ``events_processed(sender=Event, events, contact_ids, kinds)``: sent after each batch of the
# background pass over new events has committed (its position, last seen and country saved),
# with ``events`` (a queryset of exactly the batch's events: each event is in one batch, once),
# the contacts they belong to and their kinds. The segments engine re-evaluates those
# contacts. A receiver that raises is logged; the pass goes on.
events_processed = Signal()

# ``contacts_imported(sender=Contact, changed_ids, tagged_ids)``: sent inside the transaction of
# each chunk of a CSV import (not in a dry run), whose bulk writes send no ``post_save`` or
# ``m2m_changed``: the contacts created or whose fields changed, and those given new tags.
contacts_imported = Signal()

# Sent after commit, once per batch: ``segment_entered(sender=Segment, segment, contact_ids,
# source, initial)`` and ``segment_left(sender=Segment, segment, contact_ids, source)``.
# ``source`` is a plain ``str``, a value of ``Membership.Source`` ("rule", "manual",
# "import", "campaign", "api"). ``initial`` is True for the first build of a new segment, so
# campaigns need not fire for everyone already matching.
segment_entered = Signal()
segment_left = Signal()
