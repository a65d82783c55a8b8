from django.contrib.auth.hashers import make_password
from django.db import migrations


def create_users(apps, schema_editor):
    User = apps.get_model("auth", "User")
    for name in ("alice", "bob", "carol"):
        User.objects.create(username=name, password=make_password(name + "-password"))


class Migration(migrations.Migration):
    dependencies = [("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(create_users)]
