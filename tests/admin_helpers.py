"""Building admin requests in tests: users with chosen permissions, and a segment's rules in
the shape the StreamField editor posts them."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission


def editor(username: str = "editor", *codenames: str):
    """A staff user with Wagtail admin access and the given wagtail_segments permissions."""
    user = get_user_model().objects.create_user(username, f"{username}@example.com", "pw")
    perms = Permission.objects.filter(
        content_type__app_label__in=["wagtailadmin", "wagtail_segments"],
        codename__in=["access_admin", *codenames],
    )
    user.user_permissions.add(*perms)
    return user


def _value(data: dict, prefix: str, value) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "rules" and isinstance(inner, list):
                stream(data, f"{prefix}-{key}", inner)
            else:
                _value(data, f"{prefix}-{key}", inner)
    elif isinstance(value, list):  # a multiple select: one value per option chosen
        data[prefix] = [str(item) for item in value]
    elif value is True:
        data[prefix] = "on"
    elif value is None or value is False:
        data[prefix] = ""
    else:
        data[prefix] = str(value)


def stream(data: dict, prefix: str, items: list[dict]) -> dict:
    """Add ``items`` (raw rules, as tests.segment_helpers builds them) to ``data`` as the
    StreamField editor posts them under ``prefix``."""
    data[f"{prefix}-count"] = str(len(items))
    for index, item in enumerate(items):
        data[f"{prefix}-{index}-type"] = item["type"]
        data[f"{prefix}-{index}-deleted"] = ""
        data[f"{prefix}-{index}-order"] = str(index)
        data[f"{prefix}-{index}-id"] = ""
        _value(data, f"{prefix}-{index}-value", item["value"])
    return data


def segment_form(*rules: dict, match: str = "all", **fields) -> dict:
    """The segment edit form's POST data."""
    data = {
        "name": "Preview", "slug": "preview", "description": "", "kind": "dynamic",
        "active": "on", "match": match, "reminder_days": "", "automatic_touchpoints_count": "on",
        **fields,
    }
    return stream(data, "rules", list(rules))
