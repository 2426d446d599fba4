"""System checks catch the misconfigurations that would make tracking or tasks fail quietly."""

from types import SimpleNamespace

from django.test import override_settings

from wagtail_segments.checks import MIDDLEWARE, check_configuration


def ids(problems):
    return sorted(problem.id for problem in problems)


def test_the_example_site_is_configured_correctly():
    assert check_configuration() == []


def test_retry_not_above_timeout_is_an_error(settings):
    with override_settings(Q_CLUSTER={"orm": "default", "timeout": 300, "retry": 300}):
        assert ids(check_configuration()) == ["wagtail_segments.E004"]


def test_missing_django_q_and_middleware_are_errors(settings, monkeypatch):
    # The settings object is swapped, not overridden: changing INSTALLED_APPS reloads apps.
    site = SimpleNamespace(
        INSTALLED_APPS=[app for app in settings.INSTALLED_APPS if app != "django_q"],
        MIDDLEWARE=[m for m in settings.MIDDLEWARE if m != MIDDLEWARE],
        Q_CLUSTER=settings.Q_CLUSTER,
    )
    monkeypatch.setattr("wagtail_segments.checks.settings", site)
    assert ids(check_configuration()) == ["wagtail_segments.E001", "wagtail_segments.E002"]


def test_middleware_before_authentication_is_an_error(settings):
    middleware = [MIDDLEWARE] + [m for m in settings.MIDDLEWARE if m != MIDDLEWARE]
    with override_settings(MIDDLEWARE=middleware):
        assert ids(check_configuration()) == ["wagtail_segments.E003"]


def test_unknown_keys_and_bad_values_are_reported():
    with override_settings(WAGTAIL_SEGMENTS={"PAGE_VIEWS": "sometimes", "COOKY_NAME": "x"}):
        assert ids(check_configuration()) == ["wagtail_segments.E005", "wagtail_segments.W002"]


def test_cookie_outliving_retention_is_a_warning():
    with override_settings(WAGTAIL_SEGMENTS={"COOKIE_MAX_AGE_DAYS": 400, "RETENTION_DAYS": 30}):
        assert ids(check_configuration()) == ["wagtail_segments.W003"]
