"""User writes: accounts (admins create, change roles, deactivate), role membership and API tokens."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from rest_framework.authtoken.models import Token

from dataplatform.errors import ApplicationError
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


def user_create(*, username: str, password: str, roles: list[str], email: str = ""):
    """A new account with ``roles`` (admins: staff too); the password checked by the validators."""
    User = get_user_model()
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": [f"The username {username!r} is taken."]})
    user = User(username=username, email=email, is_staff=ADMIN in roles)
    validate_password(password, user)
    user.set_password(password)
    user.full_clean(exclude=["password"])
    try:
        with transaction.atomic():
            user.save()
            user_set_roles(user=user, roles=roles)
    except IntegrityError as error:  # lost a race on the unique username
        raise ValidationError({"username": [f"The username {username!r} is taken."]}) from error
    return user


def user_update(*, user, actor, roles: list[str] | None = None, is_active: bool | None = None,
                email: str | None = None, password: str | None = None):
    """Change an account's roles, active flag, email or password. Admins cannot lock themselves out
    (deactivate their own account or drop their own admin role): another admin does that.
    A deactivated account can no longer log in, and its API token is revoked."""
    if user.pk == actor.pk and (is_active is False or (roles is not None and ADMIN not in roles)):
        raise ApplicationError("You cannot deactivate your own account or remove your own admin role: ask "
                               "another admin.", {"fields": {"is_active" if is_active is False else "roles":
                                                             ["Not on your own account."]}})
    fields = []
    if email is not None:
        user.email, fields = email, [*fields, "email"]
    if password is not None:
        validate_password(password, user)
        user.set_password(password)
        fields.append("password")
    if is_active is not None:
        user.is_active, fields = is_active, [*fields, "is_active"]
    with transaction.atomic():
        if roles is not None:
            user.is_staff = ADMIN in roles if not user.is_superuser else user.is_staff
            fields.append("is_staff")
            user_set_roles(user=user, roles=roles)
        if fields:
            user.save(update_fields=fields)
        if is_active is False or password is not None:
            user_token_revoke(user=user)
    return user
