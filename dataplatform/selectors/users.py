"""User reads for the admin pages: the accounts, their roles, searchable."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Prefetch, Q, QuerySet

from dataplatform.errors import NotFoundError
from dataplatform.roles import ADMIN, ROLES


def user_list(*, search: str = "", role: str | None = None, is_active: bool | None = None) -> QuerySet:
    """Accounts by username, their role groups prefetched; ``role`` admin includes staff."""
    users = get_user_model().objects.prefetch_related(
        Prefetch("groups", queryset=Group.objects.filter(name__in=ROLES), to_attr="role_groups")).order_by("username")
    if search:
        users = users.filter(Q(username__icontains=search) | Q(email__icontains=search))
    if role == ADMIN:
        users = users.filter(Q(groups__name=ADMIN) | Q(is_staff=True) | Q(is_superuser=True)).distinct()
    elif role:
        users = users.filter(groups__name=role)
    if is_active is not None:
        users = users.filter(is_active=is_active)
    return users


def user_get(*, user_id: int):
    user = user_list().filter(pk=user_id).first()
    if user is None:
        raise NotFoundError(f"User {user_id} does not exist.")
    return user


def user_role_names(user) -> list[str]:
    """The roles an account holds, in ROLES order, whether or not it is active (the admin page shows
    a deactivated account's roles); staff and superusers hold admin."""
    names = {group.name for group in getattr(user, "role_groups", None) or user.groups.filter(name__in=ROLES)}
    if user.is_staff or user.is_superuser:
        names.add(ADMIN)
    return [role for role in ROLES if role in names]
