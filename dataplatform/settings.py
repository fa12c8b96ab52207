"""Masklet settings: the one module that reads the environment.

Every variable is documented here next to its default, and in the README's configuration table.
The defaults are the embedded demo (SQLite, Celery's filesystem transport, media in a local
folder, all under ``var/``); production switches each integration with an environment variable.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return default if value in (None, "") else int(value)


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return default if value in (None, "") else float(value)


def env_choice(name: str, default: str, choices: tuple[str, ...], what: str) -> str:
    """A setting with a fixed vocabulary (case-insensitive); anything else stops the process at start."""
    value = env(name, default).strip().lower() or default
    if value not in choices:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"{name} must be {what}, got {os.environ.get(name)!r}")
    return value


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


# MASKLET_VAR_DIR: where the embedded demo keeps its database, broker files and media. Default: var/
VAR_DIR = Path(env("MASKLET_VAR_DIR", str(BASE_DIR / "var"))).resolve()

# SECRET_KEY: Django's signing key. Default: an insecure development key; set it in production.
SECRET_KEY = env("SECRET_KEY", "masklet-insecure-development-key-change-me")
# DEBUG: Django's debug mode. Default: false.
DEBUG = env_bool("DEBUG", False)
# ALLOWED_HOSTS: comma-separated host names the web server answers to. Default: localhost names.
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
# CSRF_TRUSTED_ORIGINS: comma-separated origins allowed to POST with session auth. Default: none.
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")


# The embedded demo's SQLite takes concurrent clients and a worker: WAL lets reads go on during a
# write; a write transaction takes the write lock when it begins (IMMEDIATE), so a busy database
# makes it wait (up to the timeout, in seconds) instead of failing with "database is locked" when
# a transaction that has read wants to write after another has written.
SQLITE_OPTIONS = {
    "transaction_mode": "IMMEDIATE",
    "timeout": 30,
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
}


def database_from_url(url: str) -> dict:
    """``sqlite:///path`` or ``postgres://user:password@host:port/name?option=value``."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = unquote(parsed.path)
        path = path[1:] if path.startswith("//") else path  # sqlite:////abs/path
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": path or str(VAR_DIR / "masklet.sqlite3"),
                "OPTIONS": SQLITE_OPTIONS}
    if parsed.scheme in {"postgres", "postgresql", "pgsql"}:
        options = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parsed.path.lstrip("/")) or "masklet",
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "",
            "PORT": str(parsed.port or ""),
            "OPTIONS": options,
            # DATABASE_CONN_MAX_AGE: seconds a PostgreSQL connection is reused. Default: 60
            "CONN_MAX_AGE": env_int("DATABASE_CONN_MAX_AGE", 60),
        }
    raise ValueError(f"DATABASE_URL must start with sqlite:// or postgres://, got {url!r}")


# DATABASE_URL: the database. Default: SQLite at var/masklet.sqlite3.
# Production: postgres://user:password@host:5432/masklet
DATABASE_URL = env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'masklet.sqlite3'}")
DATABASES = {"default": database_from_url(DATABASE_URL)}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's assets, served by us: the docs work offline
    "storages",
    "dataplatform",
    "annotation",
]

# All migrations live in migrations/, one package per app.
MIGRATION_MODULES = {"dataplatform": "migrations.dataplatform", "annotation": "migrations.annotation"}

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "dataplatform.urls"
WSGI_APPLICATION = "dataplatform.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "dataplatform" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# STATIC_ROOT: where collectstatic gathers static files (web UI build included). Default: var/static
STATIC_ROOT = Path(env("STATIC_ROOT", str(VAR_DIR / "static")))
if STATIC_ROOT.is_relative_to(VAR_DIR):
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every request otherwise
STATICFILES_DIRS = [p for p in [BASE_DIR / "frontend" / "dist"] if p.is_dir()]

LOGIN_URL = "/api/auth/login/"

# ---- Media storage -------------------------------------------------------------------------
# STORAGE_BACKEND: "local" (a folder, MEDIA_ROOT) or "s3" (AWS S3 or MinIO via django-storages).
# Default: local.
STORAGE_BACKEND = env("STORAGE_BACKEND", "local").lower()
# MEDIA_ROOT: the local media folder. Default: var/media
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media/"
# S3_BUCKET: the bucket for frames, uploads, checkpoints and exports. Default: masklet
S3_BUCKET = env("S3_BUCKET", "masklet")
# S3_ENDPOINT_URL: the S3 endpoint (MinIO: http://minio:9000). Default: AWS's own.
S3_ENDPOINT_URL = env("S3_ENDPOINT_URL", "") or None
# S3_REGION: the bucket's region. Default: us-east-1
S3_REGION = env("S3_REGION", "us-east-1")
# S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY: credentials. Default: boto3's own chain (env, role).
S3_ACCESS_KEY_ID = env("S3_ACCESS_KEY_ID", "") or None
S3_SECRET_ACCESS_KEY = env("S3_SECRET_ACCESS_KEY", "") or None
# S3_PRESIGNED_EXPIRY: seconds a media URL (frame, thumbnail, export download) stays valid, on
# every backend: presigned on S3, signed by the server on local storage. Default: 3600
S3_PRESIGNED_EXPIRY = env_int("S3_PRESIGNED_EXPIRY", 3600)
if S3_PRESIGNED_EXPIRY < 1:
    raise ValueError(f"S3_PRESIGNED_EXPIRY must be at least 1 second, got {S3_PRESIGNED_EXPIRY}")
# KEEP_FAILED_SOURCES: keep the uploaded file of a video whose ingest failed, for diagnosis (its
# frames and thumbnail go either way). Default: false (a failed ingest leaves nothing stored).
KEEP_FAILED_SOURCES = env_bool("KEEP_FAILED_SOURCES", False)
# S3_PUBLIC_ENDPOINT_URL: the endpoint browsers use for presigned URLs, when it differs from the
# one the servers use (e.g. http://localhost:9000 vs http://minio:9000). Default: S3_ENDPOINT_URL
S3_PUBLIC_ENDPOINT_URL = env("S3_PUBLIC_ENDPOINT_URL", "") or None

if STORAGE_BACKEND == "s3":
    _s3_options = {
        "bucket_name": S3_BUCKET,
        "endpoint_url": S3_ENDPOINT_URL,
        "region_name": S3_REGION,
        "access_key": S3_ACCESS_KEY_ID,
        "secret_key": S3_SECRET_ACCESS_KEY,
        "querystring_auth": True,
        "querystring_expire": S3_PRESIGNED_EXPIRY,
        "file_overwrite": True,
        "default_acl": None,
        "signature_version": "s3v4",
        "addressing_style": "path",
    }
    DEFAULT_STORAGE = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": _s3_options}
elif STORAGE_BACKEND == "local":
    DEFAULT_STORAGE = {"BACKEND": "django.core.files.storage.FileSystemStorage",
                       "OPTIONS": {"location": str(MEDIA_ROOT), "base_url": MEDIA_URL}}
else:
    raise ValueError(f"STORAGE_BACKEND must be 'local' or 's3', got {STORAGE_BACKEND!r}")

STORAGES = {
    "default": DEFAULT_STORAGE,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# ---- Upload and video limits ------------------------------------------------------------------
# MAX_UPLOAD_MB: the largest video upload accepted, in MiB. Default: 2048
MAX_UPLOAD_BYTES = env_int("MAX_UPLOAD_MB", 2048) * 1024 * 1024
# MAX_VIDEO_SECONDS: the longest video accepted. Default: 600 (10 minutes)
MAX_VIDEO_SECONDS = env_float("MAX_VIDEO_SECONDS", 600.0)
# MAX_VIDEO_WIDTH / MAX_VIDEO_HEIGHT: the largest frame accepted, in pixels. Default: 3840 × 2160
MAX_VIDEO_WIDTH = env_int("MAX_VIDEO_WIDTH", 3840)
MAX_VIDEO_HEIGHT = env_int("MAX_VIDEO_HEIGHT", 2160)
# MIN_VIDEO_SIDE: the smallest width or height accepted, in pixels. Default: 16
MIN_VIDEO_SIDE = env_int("MIN_VIDEO_SIDE", 16)
# ANNOTATION_FPS: frames per second sampled for annotation in new projects. Default: 6 (SA-V's)
ANNOTATION_FPS = env_float("ANNOTATION_FPS", 6.0)
# FRAME_JPEG_QUALITY: JPEG quality of the stored annotation frames. Default: 90
FRAME_JPEG_QUALITY = env_int("FRAME_JPEG_QUALITY", 90)
# Large uploads stream to disk, never to memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# ---- Celery -----------------------------------------------------------------------------------
# CELERY_BROKER_URL: the broker. Default: Celery's filesystem transport under var/broker
# (embedded demo). Production: redis://redis:6379/0 (or amqp:// for RabbitMQ).
CELERY_BROKER_URL = env("CELERY_BROKER_URL", "filesystem://")
BROKER_DIR = VAR_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "control_folder": str(BROKER_DIR / "control"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "store_processed": False,
        # The filesystem transport polls; 20 ms keeps an interactive click's round trip short.
        "polling_interval": 0.02,
    }
else:
    # CELERY_VISIBILITY_TIMEOUT: seconds before Redis redelivers an unacknowledged task. Default: 3600
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600)}
# CELERY_RESULT_BACKEND: where interactive results travel back (on Redis, a prompt's answer as a
# direct reply on a list; dataplatform/replies.py). Default: the broker's Redis when the broker is
# Redis, else files under var/results (embedded demo).
CELERY_RESULT_BACKEND = env(
    "CELERY_RESULT_BACKEND",
    CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else f"file://{VAR_DIR / 'results'}",
)
if CELERY_RESULT_BACKEND.startswith("file://"):
    Path(CELERY_RESULT_BACKEND.removeprefix("file://")).mkdir(parents=True, exist_ok=True)
    # Kombu's and Celery's file-based broker and results, with atomic writes (dataplatform/broker.py).
    CELERY_RESULT_BACKEND = f"dataplatform.broker:AtomicFilesystemBackend+{CELERY_RESULT_BACKEND}"
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT = "dataplatform.broker:AtomicFilesystemTransport"
if CELERY_BROKER_URL.startswith("filesystem://"):
    for _folder in ("queue", "control", "processed"):
        (BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
# CELERY_TASK_ALWAYS_EAGER: run tasks in the calling process (no worker). Default: false.
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
# JOB_STALE_SECONDS: a running Job whose heartbeat is older than this is re-queued by the reaper.
# Default: 300
JOB_STALE_SECONDS = env_int("JOB_STALE_SECONDS", 300)
# JOB_MAX_ATTEMPTS: how many times the reaper re-queues a Job before marking it failed. Default: 3
JOB_MAX_ATTEMPTS = env_int("JOB_MAX_ATTEMPTS", 3)

# TASK_LEASE_SECONDS: how long an annotation task stays leased without a heartbeat. Default: 900
TASK_LEASE_SECONDS = env_int("TASK_LEASE_SECONDS", 900)
# REVIEW_LEASE_SECONDS: how long a reviewer holds a masklet from the verification queue. Default: 600
REVIEW_LEASE_SECONDS = env_int("REVIEW_LEASE_SECONDS", 600)
# VERIFIER_MIN_AUDITS: audits of one kind of automatic decision (accepts or rejects) before the audited
# precision can stop automatic decisions. Default: 20
VERIFIER_MIN_AUDITS = env_int("VERIFIER_MIN_AUDITS", 20)

# ---- Prompt limits (checked before a prompt is stored or sent to a worker; a 400 names them) --
# PROMPT_MAX_POINTS: points (clicks) in one prompt. Default: 64
PROMPT_MAX_POINTS = env_int("PROMPT_MAX_POINTS", 64)
# PROMPT_MAX_MASK_BYTES: the compressed RLE counts of one mask prompt, in bytes. Default: 1048576 (1 MiB)
PROMPT_MAX_MASK_BYTES = env_int("PROMPT_MAX_MASK_BYTES", 1024 * 1024)
# TASK_MAX_OBJECTS: objects (masklets) one annotation task may add. Default: 64
TASK_MAX_OBJECTS = env_int("TASK_MAX_OBJECTS", 64)

# ---- Engine -----------------------------------------------------------------------------------
# ENGINE_DEVICE: "cpu", "cuda" or "auto" (CUDA when present). Default: auto
ENGINE_DEVICE = env("ENGINE_DEVICE", "auto")
# ENGINE_DEFAULT_CONFIG: the model config of the default model version. Default: micro
ENGINE_DEFAULT_CONFIG = env("ENGINE_DEFAULT_CONFIG", "micro")
# ENGINE_DEFAULT_CHECKPOINT: the checkpoint of ENGINE_DEFAULT_CONFIG when that config ships no
# weights (every official SAM 2 / 2.1 config): a file path or a storage URI, which bootstrap
# registers, checks and makes active. Required for such a config. Default: empty
ENGINE_DEFAULT_CHECKPOINT = env("ENGINE_DEFAULT_CHECKPOINT", "")
# MAX_CHECKPOINT_MB: the largest model checkpoint accepted (upload, storage URI or file), in MiB.
# Default: 4096 (sam2.1_hiera_large.pt is 898 MB)
MAX_CHECKPOINT_MB = env_int("MAX_CHECKPOINT_MB", 4096)
# ENGINE_DTYPE: autocast precision on CUDA: float32, bfloat16 or float16 (the CPU runs float32).
# Default: float32
ENGINE_DTYPE = env_choice("ENGINE_DTYPE", "float32", ("float32", "fp32", "bfloat16", "bf16", "float16", "fp16"),
                          "float32, bfloat16 or float16 (or fp32, bf16, fp16)")
# ENGINE_COMPILE: torch.compile the image encoder and the memory attention on GPU workers: off, on
# or max-autotune (the first frames after a model load then take the compilation). Default: off
ENGINE_COMPILE = env_choice("ENGINE_COMPILE", "off",
                            ("off", "0", "false", "no", "on", "1", "true", "yes", "max-autotune"),
                            "off, on or max-autotune")
# ENGINE_OFFLOAD_FRAMES: on a GPU, a session of a video with at least this many frames keeps the
# memories behind the propagation front in host memory; 0: never. Default: 1000
ENGINE_OFFLOAD_FRAMES = env_int("ENGINE_OFFLOAD_FRAMES", 1000)
# ENGINE_CPU_THREADS: torch threads per worker process on the CPU; 0 keeps torch's default. Default: 0
ENGINE_CPU_THREADS = env_int("ENGINE_CPU_THREADS", 0)
# ENGINE_SESSION_CACHE: interactive sessions a GPU worker keeps open (least recently used leave
# first; a returning one is rebuilt by replaying its prompts). Default: 4
ENGINE_SESSION_CACHE = env_int("ENGINE_SESSION_CACHE", 4)
# ENGINE_SESSION_CACHE_MB: the memory those open sessions may take, estimated. Default: 4096
ENGINE_SESSION_CACHE_MB = env_int("ENGINE_SESSION_CACHE_MB", 4096)
# ENGINE_SESSION_MEMORY_MB: memory one session may keep for tracked frames, so that a correction
# anywhere goes through the model's memory; past it the frames farthest from the work go first.
# Default: 1024
ENGINE_SESSION_MEMORY_MB = env_float("ENGINE_SESSION_MEMORY_MB", 1024.0)
# ENGINE_UNDO_MEMORY_MB: memory one session may keep for undo snapshots (the state before each
# interaction, beyond what the session holds anyway); an undo to a state whose snapshot was
# dropped recomputes it by replay. 0: no snapshots. Default: 512
ENGINE_UNDO_MEMORY_MB = env_float("ENGINE_UNDO_MEMORY_MB", 512.0)
# ENGINE_SESSION_REPLY_TIMEOUT: seconds to wait for a session's worker before pinging it (and
# reopening the session elsewhere when it does not answer). Default: 5
ENGINE_SESSION_REPLY_TIMEOUT = env_float("ENGINE_SESSION_REPLY_TIMEOUT", 5.0)
# ENGINE_SESSION_OPEN_TIMEOUT: seconds opening a session may take (model load + replay). Default: 120
ENGINE_SESSION_OPEN_TIMEOUT = env_float("ENGINE_SESSION_OPEN_TIMEOUT", 120.0)
# ENGINE_SESSION_MAX_WAIT: seconds a prompt may wait on a live but busy worker; also the expiry
# of prompt messages. Default: 300
ENGINE_SESSION_MAX_WAIT = env_float("ENGINE_SESSION_MAX_WAIT", 300.0)

# ---- REST framework ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an unauthenticated API call gets 401 with WWW-Authenticate, not 403.
        # DRF's token authentication with its query compiled once (dataplatform/api/authentication.py).
        "dataplatform.api.authentication.CompiledTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    # API_PAGE_SIZE: items per page of list endpoints. Default: 50
    "PAGE_SIZE": env_int("API_PAGE_SIZE", 50),
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "dataplatform.errors.api_exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Masklet API",
    "DESCRIPTION": "The data engine for video segmentation: projects, videos, jobs, annotation, review.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from our own static files (drf-spectacular-sidecar), never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Choice sets that share a field name get a clear name each in the schema.
    "ENUM_NAME_OVERRIDES": {
        "VideoStatusEnum": "dataplatform.models.Video.Status",
        "JobStatusEnum": "dataplatform.models.Job.Status",
        "JobKindEnum": "dataplatform.models.Job.Kind",
        "MaskletKindEnum": "annotation.models.Masklet.Kind",
        "ReviewDecisionEnum": "annotation.models.Review.Decision",
        "VideoSplitEnum": "dataplatform.models.Video.Split",
        "EvaluationSplitEnum": "annotation.services.evaluations.EVALUATION_SPLITS",
    },
}

# ---- Login throttling (django-axes; dataplatform/logins.py) --------------------------------------
# Failed logins are counted per username and per address (in the database, so every web process
# shares them); past the limit, logins for that username or from that address answer 429 with
# Retry-After until the cool-off has passed. A successful login clears its username's failures.
INSTALLED_APPS.append("axes")
MIDDLEWARE.append("axes.middleware.AxesMiddleware")  # last: turns a refused login into the 429
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
# LOGIN_FAILURE_LIMIT: failed logins for one username, or from one address, before logins are
# paused. Default: 5
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
# LOGIN_COOLOFF_MINUTES: how long logins stay paused; a try during the pause starts it over.
# Default: 15
AXES_COOLOFF_TIME = timedelta(minutes=env_float("LOGIN_COOLOFF_MINUTES", 15.0))
# TRUSTED_PROXY_COUNT: reverse proxies in front of the web server that append to X-Forwarded-For;
# the login's address is then the one the outermost of them saw. Default: 0 (the peer's address)
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_HANDLER = "dataplatform.logins.LoginAttemptsHandler"
AXES_LOCKOUT_CALLABLE = "dataplatform.logins.lockout_response"
AXES_CLIENT_IP_CALLABLE = "dataplatform.logins.client_address"
AXES_DISABLE_ACCESS_LOG = True  # the failures are what counts; no table of every successful login
AXES_VERBOSE = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    # LOG_LEVEL: the log level of Masklet's own loggers. Default: INFO
    "loggers": {
        "masklet": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
        "django": {"handlers": ["console"], "level": "WARNING"},
    },
}
