"""The check every marketing view makes on the server: a missing permission answers 403 with
a page that names the permission (Wagtail's own admin wrapper would redirect to the
dashboard instead, which reads as if nothing happened)."""

from __future__ import annotations

from functools import wraps
from typing import Callable

from django.utils.translation import gettext as _

from .bulk import denied, permission_name


def require_any(*permissions: str) -> Callable:
    """The view answers 403 unless the user has one of ``permissions``."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def checked(request, *args, **kwargs):
            if not any(request.user.has_perm(permission) for permission in permissions):
                return denied(request, _("This needs the permission “%(permission)s”.")
                              % {"permission": permission_name(permissions[0])})
            return view(request, *args, **kwargs)

        return checked

    return decorate
