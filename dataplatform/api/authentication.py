"""Token authentication for API clients (the session's, for the browser, is DRF's own).

DRF's ``TokenAuthentication`` with the same checks and messages, whose token-and-user query is
compiled once per process (``dataplatform.queries``): it runs on every API call, and the ORM took
longer to build it than the database takes to run it. Its own module: DRF reads
``DEFAULT_AUTHENTICATION_CLASSES`` while ``rest_framework.views`` is being imported.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from dataplatform.queries import CompiledValues

_TOKEN_FIELDS = ("key", "user_id", "created")


def _user_fields() -> list[str]:
    return [field.attname for field in get_user_model()._meta.concrete_fields]


def _token_query(*, key: str) -> QuerySet:
    return Token.objects.filter(key=key).values_list(*_TOKEN_FIELDS, *(f"user__{name}" for name in _user_fields()))


_TOKEN = CompiledValues(_token_query, key=str)


class CompiledTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <key>``: the token and its user in one compiled query."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        rows = _TOKEN.rows(key=key)
        if not rows:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        row, split = rows[0], len(_TOKEN_FIELDS)
        user = get_user_model().from_db(Token.objects.db, _user_fields(), row[split:])
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        token = Token.from_db(Token.objects.db, list(_TOKEN_FIELDS), row[:split])
        token.user = user
        return user, token
