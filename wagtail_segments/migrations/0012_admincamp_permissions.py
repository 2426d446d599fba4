from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('wagtail_segments', '0011_admincontacts_permissions'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='campaign',
            options={'ordering': ['name'], 'permissions': [('activate_campaign', 'Can activate a campaign'), ('send_broadcast', 'Can send a broadcast')], 'verbose_name': 'campaign', 'verbose_name_plural': 'campaigns'},
        ),
    ]
