"""Authentication: session login/logout for the browser (CSRF enforced), tokens for API clients."""

from __future__ import annotations

from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.signals import user_logged_in
from django.middleware.csrf import get_token
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import ensure_csrf_cookie
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from dataplatform.api.base import ApiView, validated_body
from dataplatform.api.serializers import (
    CredentialsSerializer,
    CsrfSerializer,
    ErrorSerializer,
    MeSerializer,
    TokenSerializer,
)
from dataplatform.errors import ApplicationError
from dataplatform.services.users import user_token, user_token_revoke

ERRORS = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer}
# The login throttle (dataplatform/logins.py) answers 429 with Retry-After.
LOGIN_ERRORS = {**ERRORS, 429: ErrorSerializer}


def _authenticate(request: Request) -> object:
    data = validated_body(request, CredentialsSerializer)
    user = authenticate(request._request, username=data["username"], password=data["password"])
    if user is None:
        raise ApplicationError("Wrong username or password, or the account is disabled.",
                               code="invalid_credentials")
    return user


@extend_schema(tags=["auth"])
class CsrfApi(ApiView):
    """Sets the CSRF cookie for a browser about to log in; also returns the token."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(operation_id="auth_csrf", responses=CsrfSerializer)
    @method_decorator(ensure_csrf_cookie)
    def get(self, request: Request) -> Response:
        return Response({"csrf_token": get_token(request._request)})


@extend_schema(tags=["auth"])
class LoginApi(ApiView):
    """Session login for the browser. The CSRF token (cookie + X-CSRFToken header) is required."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(operation_id="auth_login", request=CredentialsSerializer,
                   responses={200: MeSerializer, **LOGIN_ERRORS})
    def post(self, request: Request) -> Response:
        SessionAuthentication().enforce_csrf(request)  # no login CSRF
        user = _authenticate(request)
        login(request._request, user)
        return Response(MeSerializer(user).data)


@extend_schema(tags=["auth"])
class LogoutApi(ApiView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="auth_logout", request=None,
                   responses={204: OpenApiResponse(description="Logged out."), **ERRORS})
    def post(self, request: Request) -> Response:
        logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["auth"])
class MeApi(ApiView):
    """Who is logged in, and with which roles (a user without any role gets an empty list)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="auth_me", responses={200: MeSerializer, **ERRORS})
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(request.user).data)


@extend_schema(tags=["auth"])
class TokenApi(ApiView):
    """API tokens: POST username + password → the user's token; DELETE revokes it."""

    permission_classes = [AllowAny]

    def get_authenticators(self):
        # Obtaining a token takes credentials in the body, not a session (so no CSRF either).
        if getattr(self.request, "method", None) == "POST":
            return []
        return super().get_authenticators()

    def get_permissions(self):
        if getattr(self.request, "method", None) == "DELETE":
            return [IsAuthenticated()]
        return super().get_permissions()

    @extend_schema(operation_id="auth_token_create", request=CredentialsSerializer,
                   responses={200: TokenSerializer, **LOGIN_ERRORS})
    def post(self, request: Request) -> Response:
        user = _authenticate(request)
        # Trading the password for a token is a login, though no session starts: the login
        # throttle clears the username's failures (dataplatform/logins.py), last_login moves.
        user_logged_in.send(sender=type(user), request=request._request, user=user)
        return Response({"token": user_token(user=user).key})

    @extend_schema(operation_id="auth_token_revoke",
                   responses={204: OpenApiResponse(description="Token revoked."), **ERRORS})
    def delete(self, request: Request) -> Response:
        user_token_revoke(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
