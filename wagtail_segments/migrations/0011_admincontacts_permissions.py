from django.db import migrations, models


class Migration(migrations.Migration):
    """The "erase a contact" permission of the contact detail screen (issue 9)."""

    dependencies = [
        ("wagtail_segments", "0010_admin_permissions"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="contact",
            options={
                "ordering": [models.OrderBy(models.F("last_seen"), descending=True, nulls_last=True), "-pk"],
                "permissions": [("export_contacts", "Can export contacts"), ("erase_contact", "Can erase a contact")],
                "verbose_name": "contact",
                "verbose_name_plural": "contacts",
            },
        ),
    ]
