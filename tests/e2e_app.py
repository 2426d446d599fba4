"""A test-only app for the qcluster child: registers the campaign actions of tests/e2e_actions.py."""

from django.apps import AppConfig


class E2EActions(AppConfig):
    name = "tests.e2e_app"
    label = "wsg_e2e"

    def ready(self) -> None:
        from tests import e2e_actions  # noqa: F401  (defining the classes registers them)
