"""Finding contacts by what people type: emails, normalised as the unique key is."""

from __future__ import annotations

from typing import Iterable

from .models import Contact, normalise_email

BATCH_SIZE = 2_000  # emails per query, well below every database's parameter limit


def contacts_by_email(emails: Iterable[str]) -> tuple[list[int], list[str]]:
    """The ids of the live contacts with these emails, and the emails no contact has."""
    keys: dict[str, str] = {}
    for email in emails:
        key = normalise_email(email)
        if key:
            keys.setdefault(key, email.strip())
    found: dict[str, int] = {}
    key_list = list(keys)
    for start in range(0, len(key_list), BATCH_SIZE):
        found.update(
            Contact.objects.live().filter(email_key__in=key_list[start:start + BATCH_SIZE]).values_list("email_key", "pk")
        )
    return [found[key] for key in key_list if key in found], [keys[key] for key in key_list if key not in found]
