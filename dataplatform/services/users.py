"""User writes: role membership and API tokens."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from rest_framework.authtoken.models import Token

from dataplatform.roles import ADMIN, ROLES, role_groups_ensure


def user_set_roles(*, user, roles: list[str] | tuple[str, ...]) -> None:
    """Give ``user`` exactly ``roles`` among the platform's (other groups untouched)."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"Unknown roles: {sorted(unknown)}; the roles are {list(ROLES)}")
    role_groups_ensure()
    user.groups.remove(*Group.objects.filter(name__in=set(ROLES) - set(roles)))
    user.groups.add(*Group.objects.filter(name__in=roles))
    if hasattr(user, "_masklet_roles"):
        del user._masklet_roles


def user_ensure(*, username: str, password: str, roles: list[str] | tuple[str, ...], email: str = ""):
    """Create the user if missing, (re)set its password and roles; admins are also staff."""
    User = get_user_model()
    user, _ = User.objects.get_or_create(username=username, defaults={"email": email})
    user.set_password(password)
    user.is_active = True
    if ADMIN in roles:
        user.is_staff = True
    user.save()
    user_set_roles(user=user, roles=roles)
    return user


def user_token(*, user) -> Token:
    """The user's API token, made on first use."""
    return Token.objects.get_or_create(user=user)[0]


def user_token_revoke(*, user) -> None:
    """Delete the user's API token; the next POST /api/auth/token/ makes a new one."""
    Token.objects.filter(user=user).delete()
