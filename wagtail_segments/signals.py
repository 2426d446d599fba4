"""Signals the app sends, so that packages above and host code can react without imports down.

``event_recorded(sender=Event, event)``: after an event row is written (not for bulk loads).
``contacts_merged(sender=Contact, source, into)``: inside the merge transaction, after the
events, tags and fields moved; receivers move what they keep per contact (memberships, runs).
"""

from django.dispatch import Signal

event_recorded = Signal()
contacts_merged = Signal()
