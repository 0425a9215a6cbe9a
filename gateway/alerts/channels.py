"""Where notifications go: Slack (and anything that takes Slack's webhook payload, such as Mattermost),
Discord, Microsoft Teams and email through apprise, and a generic webhook signed with the Standard
Webhooks scheme so its receiver can check it came from hookgate."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import apprise
import httpx

import signatures
from gateway.alerts.issues import Issue
from gateway.config import ChannelSettings
from gateway.platform.timeparse import rfc3339

#: What each notification says it is.
HEADLINES = {"opened": "OPEN", "reminder": "STILL OPEN", "resolved": "RESOLVED"}


class ChannelFailed(Exception):
    """A channel did not take a notification; the outbox retries it."""


@dataclass(frozen=True)
class Notification:
    """One message about one issue: it opened, is still open (a reminder), or resolved."""

    id: str
    kind: str  # opened | reminder | resolved
    rule: str
    issue: Issue
    link: str | None

    @property
    def title(self) -> str:
        return f"[hookgate] {HEADLINES[self.kind]}: {self.issue.title}"[:250]

    @property
    def text(self) -> str:
        """What failed, since when, how many, the last error, and where to look."""
        issue = self.issue
        lines = [f"Alert {self.rule!r}: {issue.title}"]
        if issue.consumer:
            lines.append(f"Consumer: {issue.consumer}")
        if issue.source:
            lines.append(f"Source: {issue.source}")
        lines.append(f"Since: {rfc3339(issue.opened_at or issue.first_seen)}")
        if issue.kind == "failure":
            lines.append(f"Failed attempts: {issue.count}, dead letters: {issue.dead_letters}")
        if self.kind == "resolved" and issue.resolved_at:
            lines.append(f"Resolved: {rfc3339(issue.resolved_at)}")
        if issue.last_error:
            lines.append(f"Last error: {issue.last_error[:500]}")
        if self.link:
            lines.append(f"Details: {self.link}")
        return "\n".join(lines)

    def payload(self) -> dict[str, Any]:
        """The JSON a webhook channel posts."""
        return {
            "type": f"hookgate.issue.{self.kind}",
            "id": self.id,
            "rule": self.rule,
            "title": self.title,
            "text": self.text,
            "link": self.link,
            "issue": self.issue.record(),
        }


class Channel(Protocol):
    name: str

    def send(self, notification: Notification) -> None:
        """Deliver it, or raise ChannelFailed."""


class SlackChannel:
    """Posts Slack's incoming-webhook payload to the URL it is given, as is."""

    def __init__(self, name: str, url: str, timeout: float) -> None:
        self.name, self._url, self._timeout = name, url, timeout

    def send(self, notification: Notification) -> None:
        _post(
            self._url,
            json.dumps({"text": f"*{notification.title}*\n{notification.text}"}).encode(),
            {},
            self._timeout,
        )


class WebhookChannel:
    """Posts the notification as JSON, signed with the Standard Webhooks scheme (``webhook-id`` is the
    notification's id, the same on every retry, so a receiver can drop a repeat)."""

    def __init__(self, name: str, url: str, secret: str, timeout: float) -> None:
        self.name, self._url, self._timeout = name, url, timeout
        self._signer = signatures.build("standard-webhooks", [secret])

    def send(self, notification: Notification) -> None:
        body = json.dumps(notification.payload()).encode()
        headers = self._signer.sign(body, delivery_id=notification.id)
        _post(self._url, body, headers, self._timeout)


class AppriseChannel:
    """Discord, Microsoft Teams and email, through apprise."""

    def __init__(self, name: str, url: str) -> None:
        self.name = name
        self._apprise = apprise.Apprise()
        if not self._apprise.add(url):
            raise ValueError(f"channels.{name}: apprise does not understand this channel's URL")

    def send(self, notification: Notification) -> None:
        if not self._apprise.notify(title=notification.title, body=notification.text):
            raise ChannelFailed(f"{self.name}: apprise could not deliver (see the apprise log lines)")


def _post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> None:
    try:
        answer = httpx.post(
            url,
            content=body,
            headers={"Content-Type": "application/json", **headers},
            timeout=timeout,
            follow_redirects=False,
        )
    except httpx.HTTPError as exc:
        raise ChannelFailed(f"{type(exc).__name__}: {exc}") from None
    if not 200 <= answer.status_code < 300:
        raise ChannelFailed(f"answered {answer.status_code}")


def email_url(smtp_url: str, sender: str, recipients: tuple[str, ...]) -> str:
    """apprise's ``mailto://`` for ``smtp://`` (plain), ``smtp+starttls://`` or ``smtps://`` (TLS)."""
    parsed = urllib.parse.urlsplit(smtp_url)
    modes = {"smtp": "insecure", "smtp+starttls": "starttls", "smtps": "ssl"}
    if parsed.scheme not in modes or not parsed.hostname:
        raise ValueError(
            "smtp_url must look like smtp://[user:password@]host[:port] (or smtps://, smtp+starttls://)"
        )
    auth = ""  # user and password stay percent-encoded, as given
    if parsed.username:
        auth = parsed.username + (f":{parsed.password}" if parsed.password else "") + "@"
    port = f":{parsed.port}" if parsed.port else ""
    query = urllib.parse.urlencode(
        {"from": sender, "to": ",".join(recipients), "mode": modes[parsed.scheme], "smtp": parsed.hostname}
    )
    return f"mailto://{auth}{parsed.hostname}{port}?{query}"


def build_channel(name: str, settings: ChannelSettings, environ: Mapping[str, str] | None = None) -> Channel:
    resolved = settings.resolved(name, environ)
    if settings.kind == "slack":
        return SlackChannel(name, resolved["url"], settings.timeout_seconds)
    if settings.kind == "webhook":
        return WebhookChannel(name, resolved["url"], resolved["secret"], settings.timeout_seconds)
    if settings.kind == "email":
        assert settings.from_ is not None
        return AppriseChannel(name, email_url(resolved["smtp_url"], settings.from_, settings.to))
    return AppriseChannel(name, resolved["url"])  # discord, teams: their webhook URLs as given
