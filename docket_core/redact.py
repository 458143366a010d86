"""Which parts of a URL are credentials, so that Docket never shows them.

Signed download URLs carry their credential in the query string (`references.redact_url` hides the
whole query). Some webhook services put it in the path instead: a Slack incoming webhook is
`https://hooks.slack.com/services/T…/B…/<token>`, and whoever holds the URL can post. For the hosts
in `WEBHOOK_PATH_SECRETS` the path after the listed prefix is a credential too. Settings URLs (a
store or a catalog) may carry a password in their userinfo or in a `password=` query parameter.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, urlsplit

__all__ = ["LOCAL_FILE", "REDACTED", "WEBHOOK_PATH_SECRETS", "path_secret", "redact_config_url", "scrub_url_secrets",
           "strip_local_paths"]  # fmt: skip

REDACTED = "<redacted>"
LOCAL_FILE = "<local file>"

# Local paths in library messages (FFmpeg's "...: '/tmp/docket-dl-x1/3'", pypdf's, OS errors'): quoted
# ones whole (they may hold spaces), bare ones of two parts or more; never the path of a URL.
_QUOTED_PATH = re.compile(r"""(['"])(?:/|[A-Za-z]:[\\/]|\\\\)[^'"\n]*\1""")
_BARE_PATH = re.compile(r"(?<![\w:/.~-])/(?:[^\s'\"/<>]+/)+[^\s'\"<>,;)\]]*(?<!:)")

# (host, or a suffix of it after a dot; path prefix): what follows the prefix is the credential.
WEBHOOK_PATH_SECRETS: tuple[tuple[str, str], ...] = (
    ("hooks.slack.com", "/services/"),  # incoming webhooks: /services/T…/B…/<token>
    ("hooks.slack.com", "/workflows/"),  # Workflow Builder triggers
    ("hooks.slack.com", "/triggers/"),
    ("discord.com", "/api/webhooks/"),  # /api/webhooks/<id>/<token>
    ("discordapp.com", "/api/webhooks/"),
    ("webhook.office.com", "/webhookb2/"),  # Teams / Office 365 connectors: <tenant>.webhook.office.com
    ("webhook.office.com", "/"),
    ("outlook.office.com", "/webhook/"),
    ("outlook.office365.com", "/webhook/"),
    ("logic.azure.com", "/workflows/"),  # Teams "Workflows" (Power Automate) webhooks
    ("chat.googleapis.com", "/v1/spaces/"),
    ("hooks.zapier.com", "/hooks/catch/"),
    ("maker.ifttt.com", "/trigger/"),  # /trigger/<event>/with/key/<key>
    ("api.telegram.org", "/bot"),  # /bot<token>/sendMessage
    ("webhook.site", "/"),
)

# Query parameters that hold a credential in a settings URL (a store or catalog URL).
_SECRET_PARAM = re.compile(r"pass|pwd|secret|token|key|sig|credential|auth", re.IGNORECASE)


def _host(netloc: str) -> str:
    host = netloc.rpartition("@")[2].lower()
    if host.startswith("["):
        return host.partition("]")[0] + "]"
    return host.partition(":")[0]


def path_secret(url: str) -> str | None:
    """The credential in `url`'s path when its host is a known webhook service, else None."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    host = _host(parts.netloc)
    for known, prefix in WEBHOOK_PATH_SECRETS:
        if (host == known or host.endswith("." + known)) and parts.path.startswith(prefix) and len(parts.path) > len(prefix):
            return parts.path[len(prefix) :]
    return None


def scrub_url_secrets(text: str, url: str) -> str:
    """`text` (an error message, a log line) with `url`'s query string and path credential replaced."""
    query = url.split("#", 1)[0].partition("?")[2]
    for secret in sorted({s for s in (query, path_secret(url.split("?", 1)[0])) if s}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def redact_config_url(url: str) -> str:
    """A store or catalog URL safe to print: the userinfo password as `***`, the values of
    secret-looking query parameters (`password=`, `token=`, `sig=`, ...) and webhook path credentials
    as `<redacted>`; everything else as it is, so the setting stays recognisable."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<set, not a URL>"
    # Replace only what is secret, in the text as given (rebuilding with urlunsplit would turn
    # sqlite:////abs/catalog.db into sqlite://abs/catalog.db).
    shown = url
    user, at, hostport = parts.netloc.rpartition("@")
    if at and ":" in user:
        shown = shown.replace(parts.netloc, f"{user.partition(':')[0]}:***@{hostport}", 1)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if any(_SECRET_PARAM.search(k) for k, _ in pairs):
        query = "&".join(f"{quote(k, safe='')}={REDACTED if _SECRET_PARAM.search(k) else quote(v, safe='/:,-=')}" for k, v in pairs)
        shown = shown.replace("?" + parts.query, "?" + query, 1)
    secret = path_secret(url)
    if secret:
        shown = shown.replace(secret, REDACTED, 1)
    return shown


def strip_local_paths(text: str) -> str:
    """`text` (a rejection reason, a step's error) without the local paths libraries quote in their
    messages: a reason goes out in listings, notifications and outputs, and a path tells a stranger
    about the machine (user names, temporary folders) while saying nothing about the file."""
    text = _QUOTED_PATH.sub(lambda m: f"{m.group(1)}{LOCAL_FILE}{m.group(1)}", text)
    return _BARE_PATH.sub(LOCAL_FILE, text)
