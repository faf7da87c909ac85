"""detect-secrets' detectors, used as a library: their expressions find, this module locates.

Only the detectors whose formats survive ordinary cluster output are used: the keyword detector
(its own rules are in `formats.py`, told by the label), the hex-entropy detector (sha256 digests,
machine IDs), the public-IP detector and the PEM-header detector (`formats.PRIVATE_KEY` removes the
whole block, not only its first line) are left out. The base64-entropy detector keeps its own
rules: quoted strings only, above 4.5 bits per character.

Loaded on first use: importing detect-secrets pulls in `requests`, a third of a second on its own,
which a run has already paid for through papermill and most site builds never need.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from functools import cache

from homeops.redaction.formats import Span

# module of detect_secrets.plugins -> detector class
REGEX_DETECTORS = {
    "aws": "AWSKeyDetector",
    "azure_storage_key": "AzureStorageKeyDetector",
    "basic_auth": "BasicAuthDetector",  # https://user:password@host
    "discord": "DiscordBotTokenDetector",
    "github_token": "GitHubTokenDetector",
    "gitlab_token": "GitLabTokenDetector",
    "jwt": "JwtTokenDetector",
    "mailchimp": "MailchimpDetector",
    "npm": "NpmDetector",
    "openai": "OpenAIDetector",
    "pypi_token": "PypiTokenDetector",
    "sendgrid": "SendGridDetector",
    "slack": "SlackDetector",
    "square_oauth": "SquareOAuthDetector",
    "stripe": "StripeDetector",
    "telegram_token": "TelegramBotTokenDetector",
    "twilio": "TwilioKeyDetector",
}


def _kind(secret_type: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", secret_type.lower()).strip("-")


@cache
def _detectors() -> tuple[tuple[str, object], ...]:
    loaded = []
    for module, name in REGEX_DETECTORS.items():
        detector = getattr(importlib.import_module(f"detect_secrets.plugins.{module}"), name)()
        loaded.append((_kind(detector.secret_type), detector))
    return tuple(loaded)


@cache
def _entropy():
    from detect_secrets.plugins.high_entropy_strings import Base64HighEntropyString

    return Base64HighEntropyString()


def spans(text: str) -> Iterator[Span]:
    for kind, detector in _detectors():
        for regex in detector.denylist:
            for match in regex.finditer(text):
                located = _located(match)
                # A detector may judge its matches further (the JWT one decodes them).
                if located and any(True for _ in detector.analyze_string(match.group(0))):
                    yield (*located, kind)
    entropy = _entropy()
    for match in entropy.regex.finditer(text):
        if entropy.calculate_shannon_entropy(match.group(2)) > entropy.entropy_limit:
            yield (*match.span(2), "high-entropy-string")


def _located(match: re.Match[str]) -> tuple[int, int] | None:
    """Where the secret is: detect-secrets reports the non-empty groups of a match, or all of it."""
    groups = [match.span(i) for i in range(1, (match.re.groups or 0) + 1) if match.group(i)]
    if not match.re.groups:
        groups = [match.span()]
    if not groups:
        return None
    return min(s for s, _ in groups), max(e for _, e in groups)
