"""Every setting of Tongxin, read from environment variables with safe defaults for the embedded run.

The embedded default is SQLite under `var/`; production sets DATABASE_URL (PostgreSQL), SECRET_KEY,
FIELD_ENCRYPTION_KEY, ALLOWED_HOSTS and REDIS_URL, and leaves DEBUG off.
"""

import os
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


PACKAGE_DIR = Path(__file__).resolve().parent.parent
BASE_DIR = Path(os.environ.get("TONGXIN_HOME", Path.cwd()))
VAR_DIR = Path(os.environ.get("TONGXIN_VAR", BASE_DIR / "var"))

DEBUG = env_bool("DEBUG")

DEV_SECRET_KEY = "dev-only-tongxin-secret-key-do-not-use-in-production"  # noqa: S105
DEV_FIELD_ENCRYPTION_KEY = "ZGV2LW9ubHktdG9uZ3hpbi1maWVsZC1rZXktMDAwMDA="  # noqa: S105
SECRET_KEY = os.environ.get("SECRET_KEY") or DEV_SECRET_KEY
# 32 bytes, base64. Encrypts ID numbers and phones at rest and keys their look-up hashes.
FIELD_ENCRYPTION_KEY = os.environ.get("FIELD_ENCRYPTION_KEY") or DEV_FIELD_ENCRYPTION_KEY
if not DEBUG and (SECRET_KEY == DEV_SECRET_KEY or FIELD_ENCRYPTION_KEY == DEV_FIELD_ENCRYPTION_KEY):
    raise ImproperlyConfigured(
        "DEBUG is off: set SECRET_KEY and FIELD_ENCRYPTION_KEY (see README, Configuration); "
        "the development defaults are refused."
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "tongxin.core.admin_site.TongxinAdminConfig",  # django.contrib.admin, platform admins only
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "csp",
    "ninja",  # the API docs page then uses Swagger UI from ninja's static files, not from a CDN
    "tongxin.core",
    "tongxin.accounts",
    "tongxin.registry",
    "tongxin.outbreak",
    "tongxin.testing",
    "tongxin.access",
    "tongxin.supplies",
    "tongxin.voice",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "tongxin.config.urls"
WSGI_APPLICATION = "tongxin.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
            ],
        },
    }
]

VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'tongxin.sqlite3'}"),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A gate and two sampling tables write at once: WAL, immediate transactions, a busy timeout.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "registry:home"
LOGOUT_REDIRECT_URL = "accounts:login"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Login guessing: this many failures per username, or per client address, within the window.
LOGIN_MAX_FAILURES = int(os.environ.get("LOGIN_MAX_FAILURES", "5"))
LOGIN_MAX_FAILURES_PER_ADDRESS = int(os.environ.get("LOGIN_MAX_FAILURES_PER_ADDRESS", "20"))
LOGIN_FAILURE_WINDOW_SECONDS = int(os.environ.get("LOGIN_FAILURE_WINDOW_SECONDS", "900"))

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", str(12 * 3600)))
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("BEHIND_TLS_PROXY"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Shanghai")
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns on every request when it is missing
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_ROOT = VAR_DIR / "media"
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# Registry rules; each number is a setting, not a constant in code.
TONGXIN_ELDERLY_AGE = int(os.environ.get("TONGXIN_ELDERLY_AGE", "60"))
TONGXIN_IMPORT_MAX_ROWS = int(os.environ.get("TONGXIN_IMPORT_MAX_ROWS", "200000"))
TONGXIN_IMPORT_UPLOAD_HOURS = int(os.environ.get("TONGXIN_IMPORT_UPLOAD_HOURS", "12"))
TONGXIN_IMPORT_MAX_BYTES = int(os.environ.get("TONGXIN_IMPORT_MAX_BYTES", str(10 * 1024 * 1024)))
TONGXIN_PAGE_SIZE = int(os.environ.get("TONGXIN_PAGE_SIZE", "50"))
NUM_PROXIES = int(os.environ.get("NUM_PROXIES", "0"))

# Outbreak rules: one of tongxin.outbreak.rules.BUILT_IN, tuned by a JSON object merged over it.
TONGXIN_RULE_SET = os.environ.get("TONGXIN_RULE_SET", "2022-11")
TONGXIN_RULES = os.environ.get("TONGXIN_RULES", "{}")

# Mass testing. Throughput of one sampling table in people per hour (the published sizing: one
# table per 600-800 people, samplers = population / 360 for a 24 h round); a unit's time slot is
# its people divided by what its point's tables sample in that time, rounded up to SLOT_ROUND
# minutes. Tube codes starting with one of these prefixes carry their pool size ("S:1,T:10");
# other codes take the table's setting. A tube bag holds BAG_SIZE tubes.
TONGXIN_TABLE_PEOPLE_PER_HOUR = int(os.environ.get("TONGXIN_TABLE_PEOPLE_PER_HOUR", "120"))
TONGXIN_SLOT_ROUND_MINUTES = int(os.environ.get("TONGXIN_SLOT_ROUND_MINUTES", "10"))
TONGXIN_PEOPLE_PER_TABLE = int(os.environ.get("TONGXIN_PEOPLE_PER_TABLE", "700"))
TONGXIN_PEOPLE_PER_POINT = int(os.environ.get("TONGXIN_PEOPLE_PER_POINT", "2500"))
TONGXIN_PEOPLE_PER_SAMPLER = int(os.environ.get("TONGXIN_PEOPLE_PER_SAMPLER", "360"))
TONGXIN_TUBE_POOL_PREFIXES = os.environ.get("TONGXIN_TUBE_POOL_PREFIXES", "S:1,F:5,T:10,W:20")
TONGXIN_BAG_SIZE = int(os.environ.get("TONGXIN_BAG_SIZE", "20"))
TONGXIN_SYNC_MAX_BATCH = int(os.environ.get("TONGXIN_SYNC_MAX_BATCH", "5000"))
TONGXIN_LAB_MAX_BYTES = int(os.environ.get("TONGXIN_LAB_MAX_BYTES", str(200 * 1024 * 1024)))

# Gates (access): the passes' Ed25519 signing key, base64 of a 32-byte seed; empty: derived from
# SECRET_KEY (every app server of a deployment shares it). Changing it invalidates every pass.
TONGXIN_PASS_SIGNING_KEY = os.environ.get("TONGXIN_PASS_SIGNING_KEY", "")
# How old a gate device's snapshot of statuses may grow before the page asks for a new one.
TONGXIN_GATE_SNAPSHOT_MINUTES = int(os.environ.get("TONGXIN_GATE_SNAPSHOT_MINUTES", "10"))
TONGXIN_GATE_SYNC_MAX_BATCH = int(os.environ.get("TONGXIN_GATE_SYNC_MAX_BATCH", "2000"))
# PostgreSQL: the gate check's few statements prepared once per connection (core.db.prepared_cursor);
# 0 behind a pooler that drops prepared statements (PgBouncer before 1.21 in transaction mode).
TONGXIN_DB_PREPARE = env_bool("TONGXIN_DB_PREPARE", True)

# Supplies: how long a parcel is held after disinfection before it is carried in (a compound may
# set its own), how many days between visits to a vulnerable resident, the largest parcel photo.
TONGXIN_PARCEL_HOLD_MINUTES = int(os.environ.get("TONGXIN_PARCEL_HOLD_MINUTES", "120"))
TONGXIN_CARE_VISIT_DAYS = int(os.environ.get("TONGXIN_CARE_VISIT_DAYS", "7"))
# An open request from a sealed home is late after this many hours; an urgent one (medicine for the
# elderly) sooner.
TONGXIN_REQUEST_LATE_HOURS = int(os.environ.get("TONGXIN_REQUEST_LATE_HOURS", "24"))
TONGXIN_REQUEST_URGENT_LATE_HOURS = int(os.environ.get("TONGXIN_REQUEST_URGENT_LATE_HOURS", "4"))
TONGXIN_PHOTO_MAX_BYTES = int(os.environ.get("TONGXIN_PHOTO_MAX_BYTES", str(5 * 1024 * 1024)))

# Voice, requests (issue 7): a request's first answer is due this many minutes after it came in
# (an urgent one sooner); the largest file given with a request.
TONGXIN_VOICE_FIRST_ANSWER_MINUTES = int(os.environ.get("TONGXIN_VOICE_FIRST_ANSWER_MINUTES", "120"))
TONGXIN_VOICE_URGENT_ANSWER_MINUTES = int(os.environ.get("TONGXIN_VOICE_URGENT_ANSWER_MINUTES", "30"))
TONGXIN_VOICE_ATTACHMENT_MAX_BYTES = int(
    os.environ.get("TONGXIN_VOICE_ATTACHMENT_MAX_BYTES", str(10 * 1024 * 1024))
)
# Voice, common questions: how alike (TF-IDF cosine, mean over two groups' texts) open requests must
# be to be suggested as one group answered once.
TONGXIN_VOICE_GROUP_THRESHOLD = float(os.environ.get("TONGXIN_VOICE_GROUP_THRESHOLD", "0.35"))
# Voice, notices: the SMS provider ("console" logs the messages, for the demo; else a dotted path to
# a class with `send(phones, text)`), the group robots' time-out, robots on this machine or the
# private network allowed (tests only: otherwise a robot URL could reach internal services), and how
# many tries before a delivery is given up.
TONGXIN_SMS_PROVIDER = os.environ.get("TONGXIN_SMS_PROVIDER", "console")
TONGXIN_WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("TONGXIN_WEBHOOK_TIMEOUT_SECONDS", "5"))
TONGXIN_WEBHOOK_ALLOW_LOCAL = env_bool("TONGXIN_WEBHOOK_ALLOW_LOCAL", False)
TONGXIN_NOTICE_MAX_ATTEMPTS = int(os.environ.get("TONGXIN_NOTICE_MAX_ATTEMPTS", "5"))
# Voice, resident portal: how long a login code sent by SMS works, and how long the link printed with
# a household's pass logs the household in (it stops at once when that pass is revoked or expires).
TONGXIN_PORTAL_CODE_MINUTES = int(os.environ.get("TONGXIN_PORTAL_CODE_MINUTES", "5"))
TONGXIN_PORTAL_LINK_DAYS = int(os.environ.get("TONGXIN_PORTAL_LINK_DAYS", "30"))
# The login code's SMS goes out in the background, so that the answer takes as long for a phone no
# resident has as for a registered one (no telling who is registered by the time it takes).
TONGXIN_PORTAL_SMS_BACKGROUND = env_bool("TONGXIN_PORTAL_SMS_BACKGROUND", True)
