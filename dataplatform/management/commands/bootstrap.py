"""``python manage.py bootstrap [--demo]``: what a fresh platform needs before anyone logs in.

Always (idempotent): the role groups (annotator, reviewer, admin) and an active model version
(the shipped weights of ENGINE_DEFAULT_CONFIG, unless some version is active already; for a config
shipped without weights, the checkpoint ENGINE_DEFAULT_CHECKPOINT names, registered and checked).
With ``--demo``: one user per role with a known password (reset on every run, so the printed
logins always work; the admin is also staff), their API tokens, and a demo project.
Never use ``--demo`` on a deployment reachable by others: the passwords are in this file.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from annotation.services.modelversions import model_version_ensure_default, model_version_register_default
from dataplatform.errors import ApplicationError
from dataplatform.models import Project
from dataplatform.roles import ADMIN, ANNOTATOR, REVIEWER, role_groups_ensure
from dataplatform.services.projects import project_create
from dataplatform.services.users import user_ensure, user_token

DEMO_PROJECT = "Demo"
# username, password, roles
DEMO_USERS: list[tuple[str, str, tuple[str, ...]]] = [
    ("annotator", "annotator-demo", (ANNOTATOR,)),
    ("reviewer", "reviewer-demo", (REVIEWER,)),
    ("admin", "admin-demo", (ADMIN,)),
]


class Command(BaseCommand):
    help = "Create the role groups and the default model version; with --demo, demo users and a project."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--demo", action="store_true",
                            help="Also create one user per role (known passwords) and a demo project.")

    def handle(self, *args, demo: bool = False, **options) -> None:
        try:
            # A config without shipped weights needs ENGINE_DEFAULT_CHECKPOINT: copied and checked
            # outside the transaction (a large file), never replaced by random weights.
            model_version_register_default()
            with transaction.atomic():
                groups = role_groups_ensure()
                version = model_version_ensure_default()
        except ApplicationError as error:
            raise CommandError(error.message) from error
        self.stdout.write(f"Roles: {', '.join(group.name for group in groups)}")
        self.stdout.write(f"Active model version: {version.name} (config {version.config_name})")
        if not demo:
            return
        rows = []
        with transaction.atomic():
            admin_user = None
            for username, password, roles in DEMO_USERS:
                user = user_ensure(username=username, password=password, roles=roles)
                admin_user = user if ADMIN in roles else admin_user
                rows.append((username, password, ", ".join(roles), user_token(user=user).key))
            project = Project.objects.filter(name=DEMO_PROJECT).first()
            if project is None:
                project = project_create(name=DEMO_PROJECT, description="Demo videos for trying the platform.",
                                         created_by=admin_user)
        self.stdout.write(f"Demo project: {project.name} (id {project.pk})")
        self.stdout.write(self._table(("username", "password", "role", "API token"), rows))

    @staticmethod
    def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
        widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]

        def line(cells) -> str:
            return "  ".join(str(cell).ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()

        rule = "  ".join("-" * width for width in widths)
        return "\n".join([line(header), rule, *(line(row) for row in rows)])
