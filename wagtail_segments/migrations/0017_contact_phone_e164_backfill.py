"""``phone_e164`` for the contacts that were there before it: each phone read in E.164 with
the site's ``SMS_DEFAULT_REGION`` of the day. Not atomic: one transaction per primary-key
range (``renormalise_phones``), so a million contacts are never one transaction. Stopped
half-way, it is run again by ``manage.py normalise_phones``, which only writes what differs.
"""

from django.db import migrations

from wagtail_segments.contacts.phone import renormalise_phones


def backfill(apps, schema_editor):
    renormalise_phones(apps.get_model("wagtail_segments", "Contact").objects.all())


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("wagtail_segments", "0016_contact_phone_e164"),
    ]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
    ]
