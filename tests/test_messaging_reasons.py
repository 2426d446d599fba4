"""The admin's words for the reason and source codes stored on contacts and consents."""

from wagtail_segments.messaging.reasons import reason_label, source_label


def test_a_stored_code_reads_as_words():
    assert reason_label("suppressed") == "on the suppression list"
    assert reason_label("complained") == "marked as spam"
    assert reason_label("unsubscribed (provider: sendgrid)") == "unsubscribed (email provider sendgrid)"


def test_a_source_the_package_does_not_write_is_kept_inside_the_words():
    assert reason_label("opted out (reply STOP)") == "opted out (reply STOP)"
    assert source_label("newsletter form") == "newsletter form"


def test_a_reason_typed_by_staff_is_shown_as_typed():
    assert reason_label("asked on the phone (twice)") == "asked on the phone (twice)"
    assert reason_label("bounced (half") == "bounced (half"

