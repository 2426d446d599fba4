"""Signals the app sends, so that packages above and host code can react without imports down.

``event_recorded(sender=Event, event)``: after an event row is written (not for bulk loads).
``contacts_merged(sender=Contact, source, into)``: inside the merge transaction, after the
events, tags and fields moved; receivers move what they keep per contact (memberships, runs).
"""

from django.dispatch import Signal

event_recorded = Signal()
contacts_merged = Signal()

# ``events_processed(sender=Event, first_id, last_id, contact_ids, kinds)``: sent inside the
# transaction of each batch of the background pass over new events, with the contacts it
# touched and the event kinds it saw. The segments engine re-evaluates those contacts.
events_processed = Signal()

# ``contacts_imported(sender=Contact, changed_ids, tagged_ids)``: sent inside the transaction of
# each chunk of a CSV import (not in a dry run), whose bulk writes send no ``post_save`` or
# ``m2m_changed``: the contacts created or whose fields changed, and those given new tags.
contacts_imported = Signal()

# Sent after commit, once per batch: ``segment_entered(sender=Segment, segment, contact_ids,
# source, initial)`` and ``segment_left(sender=Segment, segment, contact_ids, source)``.
# ``initial`` is True for the first build of a new segment, so campaigns need not fire for
# everyone already matching.
segment_entered = Signal()
segment_left = Signal()
