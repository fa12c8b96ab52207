"""Labels: a project's label set, and a label on every masklet. Existing masklets get their
project's default label ("object"), created here for every project."""

import django.db.models.deletion
from django.db import migrations, models

DEFAULT_NAME, DEFAULT_COLOR = "object", "#1f77b4"


def default_labels(apps, schema_editor):
    Project = apps.get_model("dataplatform", "Project")
    Label = apps.get_model("annotation", "Label")
    Masklet = apps.get_model("annotation", "Masklet")
    for project in Project.objects.all().only("pk"):
        label, _ = Label.objects.get_or_create(project=project, name=DEFAULT_NAME,
                                               defaults={"color": DEFAULT_COLOR})
        Masklet.objects.filter(video__project=project, label__isnull=True).update(label=label)


class Migration(migrations.Migration):
    # Not one transaction: PostgreSQL refuses to make the column NOT NULL in the transaction that
    # filled it (its deferred foreign-key checks are still pending). Each step is atomic.
    atomic = False

    dependencies = [
        ('annotation', '0010_modelversion_checkpoint_status_and_validation'),
        ('dataplatform', '0003_job_kind_model_validation'),
    ]

    operations = [
        migrations.CreateModel(
            name='Label',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(help_text='Unique within the project, e.g. "person".', max_length=64)),
                ('color', models.CharField(default='#1f77b4', help_text='#rrggbb', max_length=7)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('project', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='labels',
                                              to='dataplatform.project')),
            ],
            options={
                'ordering': ['project_id', 'id'],
            },
        ),
        migrations.AddConstraint(
            model_name='label',
            constraint=models.UniqueConstraint(fields=('project', 'name'), name='label_unique_name_per_project'),
        ),
        migrations.AddConstraint(
            model_name='label',
            constraint=models.CheckConstraint(condition=models.Q(('color__regex', '^#[0-9a-f]{6}$')),
                                              name='label_color_hex'),
        ),
        migrations.AddConstraint(
            model_name='label',
            constraint=models.CheckConstraint(condition=models.Q(('name', ''), _negated=True),
                                              name='label_name_not_blank'),
        ),
        migrations.AddField(
            model_name='masklet',
            name='label',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='masklets',
                                    to='annotation.label'),
        ),
        migrations.RunPython(default_labels, migrations.RunPython.noop, atomic=True),
        migrations.AlterField(
            model_name='masklet',
            name='label',
            field=models.ForeignKey(help_text="What the object is; a label of its video's project.",
                                    on_delete=django.db.models.deletion.PROTECT, related_name='masklets',
                                    to='annotation.label'),
        ),
    ]
