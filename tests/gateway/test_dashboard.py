"""The dashboard over a real redis-server: sessions, scopes, CSRF, escaping and security headers.

The browser drives the same pages in ``tests/e2e/test_dashboard.py``; these tests pin the HTTP rules.
"""

from __future__ import annotations

import json
import re
import time

import pytest
import redis
from litestar.testing import TestClient

from gateway.config import Settings
from gateway.config.forwards import ForwardSettings
from gateway.frontends.dashboard import CONTENT_SECURITY_POLICY
from gateway.frontends.dashboard.charts import stacked_bars
from gateway.processes.app import create_app
from gateway.store import keys
from gateway.store.dlq import DeadLetters
from gateway.store.ledger import Ledger
from tests.helpers import (
    TOKENS,
    csrf,
    dead_letter,
    deliver,
    destination,
    github_signature,
    log_in,
    settings_for,
)

PAGES = [
    "/dashboard",
    "/dashboard/overview",
    "/dashboard/dlq",
    "/dashboard/events",
    "/dashboard/events/evt_x",
    "/dashboard/destinations",
    "/dashboard/events/evt_x/routes",
]
XSS = ["<script>alert(1)</script>", '"><img src=x onerror=alert(2)>', "javascript:alert(3)"]


@pytest.fixture
def client(redis_url):
    with TestClient(create_app(settings_for(redis_url))) as test_client:
        yield test_client


def dlq_size(redis_url: str) -> int:
    return int(redis.Redis.from_url(redis_url).zcard(keys.DLQ_INDEX))


@pytest.mark.parametrize("path", PAGES)
def test_pages_redirect_to_the_login_without_a_session(client, path):
    answer = client.get(path, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/dashboard/login?next=")
    assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    polled = client.get(path, headers={"HX-Request": "true"}, follow_redirects=False)
    assert polled.headers["hx-redirect"].startswith("/dashboard/login")


def test_login_sets_a_signed_httponly_samesite_session_and_logout_ends_it(client):
    page = client.get("/dashboard/login")
    assert page.status_code == 200 and "Admin token" in page.text
    csrf_cookie = page.headers["set-cookie"]
    assert "HttpOnly" in csrf_cookie and "SameSite=strict" in csrf_cookie and "Path=/dashboard" in csrf_cookie

    refused = client.post("/dashboard/login", data={"token": "wrong", "_csrf_token": csrf(client)})
    assert refused.status_code == 401 and "not valid" in refused.text
    assert "hookgate_session" not in client.cookies

    answer = client.post(
        "/dashboard/login",
        data={"token": TOKENS["reader"], "_csrf_token": csrf(client), "next": "https://evil.example/"},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/dashboard"  # never off-site
    session_cookie = answer.headers["set-cookie"]
    assert session_cookie.startswith("hookgate_session=")
    assert (
        "HttpOnly" in session_cookie
        and "SameSite=lax" in session_cookie
        and "Path=/dashboard" in session_cookie
    )
    assert (
        TOKENS["reader"] not in session_cookie and "reader" not in session_cookie
    )  # encrypted, not just signed
    assert client.get("/dashboard").status_code == 200

    copied = client.cookies["hookgate_session"]
    token = csrf(client, "/dashboard")
    out = client.post("/dashboard/logout", data={"_csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/dashboard/login"
    assert client.get("/dashboard", follow_redirects=False).status_code == 303
    client.cookies.set("hookgate_session", copied, path="/dashboard")  # a copy dies with the logout
    assert client.get("/dashboard", follow_redirects=False).status_code == 303


def test_a_session_ends_session_max_hours_after_the_login(client, monkeypatch):
    from gateway.frontends.dashboard import auth

    log_in(client, "reader")
    assert client.get("/dashboard", follow_redirects=False).status_code == 200
    later = time.time() + 24 * 3600 + 60
    monkeypatch.setattr(auth, "_now", lambda: later)
    assert client.get("/dashboard", follow_redirects=False).status_code == 303


def test_a_tampered_foreign_or_revoked_session_is_no_session(redis_url, client):
    log_in(client, "boss")
    cookie = client.cookies["hookgate_session"]
    flipped = cookie[:-6] + ("A" if cookie[-6] != "A" else "B") + cookie[-5:]
    client.cookies.set("hookgate_session", flipped, path="/dashboard")
    assert client.get("/dashboard", follow_redirects=False).status_code == 303

    other = create_app(settings_for(redis_url, session_secret="another-secret-of-enough-length"))
    with TestClient(other) as stranger:
        stranger.cookies.set("hookgate_session", cookie, path="/dashboard")
        assert stranger.get("/dashboard", follow_redirects=False).status_code == 303

    revoked = create_app(settings_for(redis_url, tokens={"reader": TOKENS["reader"]}))
    with TestClient(revoked) as later:
        later.cookies.set("hookgate_session", cookie, path="/dashboard")
        assert later.get("/dashboard", follow_redirects=False).status_code == 303


def test_actions_without_the_csrf_token_fail_and_change_nothing(client, redis_url):
    entry = dead_letter(redis_url, deliver(client, 1))
    assert client.post("/dashboard/login", data={"token": TOKENS["boss"]}).status_code == 403
    log_in(client, "boss")
    for path in ("/dashboard/dlq/retry", "/dashboard/dlq/discard"):
        answer = client.post(path, data={"ids": entry}, follow_redirects=False)
        assert answer.status_code == 403 and "expired or came from another site" in answer.text
        forged = client.post(path, data={"ids": entry, "_csrf_token": "forged"}, follow_redirects=False)
        assert forged.status_code == 403
    assert dlq_size(redis_url) == 1


def test_scopes_read_cannot_retry_replay_cannot_discard(client, redis_url):
    entry = dead_letter(redis_url, deliver(client, 1))
    log_in(client, "reader")
    token = csrf(client, "/dashboard/dlq")
    page = client.get("/dashboard/dlq").text
    assert re.search(r"<button[^>]*disabled[^>]*>Retry selected", page, re.S)
    for path in ("/dashboard/dlq/retry", "/dashboard/dlq/retry-matching", "/dashboard/dlq/discard"):
        denied = client.post(path, data={"ids": entry, "_csrf_token": token}, follow_redirects=False)
        assert denied.status_code == 403 and "lacks the" in denied.text
    assert client.post("/dashboard/events/evt_x/replay", data={"_csrf_token": token}).status_code == 403
    assert dlq_size(redis_url) == 1

    log_in(client, "replayer")
    token = csrf(client, "/dashboard/dlq")
    denied = client.post("/dashboard/dlq/discard", data={"ids": entry, "_csrf_token": token})
    assert denied.status_code == 403 and dlq_size(redis_url) == 1
    done = client.post(
        "/dashboard/dlq/retry", data={"ids": entry, "_csrf_token": token, "back": "/dashboard/dlq"}
    )
    assert done.status_code == 200 and "Retried 1 dead letter." in done.text
    assert dlq_size(redis_url) == 0
    assert redis.Redis.from_url(redis_url).llen(keys.dramatiq_queue(keys.DELIVER_QUEUE)) == 1


def test_discard_selected_and_retry_all_matching(client, redis_url):
    events = [deliver(client, n) for n in range(3)]
    entries = [dead_letter(redis_url, e) for e in events]
    log_in(client, "boss")
    token = csrf(client, "/dashboard/dlq")
    listed = client.get("/dashboard/dlq").text
    assert all(entry in listed for entry in entries) and "POST http://billing answered 500" in listed
    assert "Nothing selected." in client.post("/dashboard/dlq/retry", data={"_csrf_token": token}).text
    discarded = client.post("/dashboard/dlq/discard", data={"ids": entries[:2], "_csrf_token": token})
    assert "Discarded 2 dead letters." in discarded.text and dlq_size(redis_url) == 1
    none = client.post("/dashboard/dlq/retry-matching", data={"consumer": "nobody", "_csrf_token": token})
    assert "Retried 0 dead letters matching the filter." in none.text and dlq_size(redis_url) == 1
    matched = client.post("/dashboard/dlq/retry-matching", data={"q": "ANSWERED 500", "_csrf_token": token})
    assert "Retried 1 dead letter matching the filter." in matched.text and dlq_size(redis_url) == 0


def test_dead_letter_list_filters_and_pages(client, redis_url):
    entries = [dead_letter(redis_url, deliver(client, n)) for n in range(55)]
    log_in(client, "reader")
    first = client.get("/dashboard/dlq")
    shown = re.findall(r'name="ids" value="(dlq_[0-9a-f]+)"', first.text)
    assert len(shown) == 50
    next_url = re.search(r'href="([^"]+)" rel="next"', first.text).group(1).replace("&amp;", "&")
    rest = re.findall(r'name="ids" value="(dlq_[0-9a-f]+)"', client.get(next_url).text)
    assert sorted(shown + rest) == sorted(entries)
    assert "No dead letters match this filter." in client.get("/dashboard/dlq?source=stripe").text
    bad = client.get("/dashboard/dlq?since=soonish")
    assert bad.status_code == 422 and "since:" in bad.text


def test_attacker_payloads_are_escaped_everywhere(client, redis_url):
    body = json.dumps({"comment": XSS[0], "html": XSS[1], "link": XSS[2]}).encode()
    headers = {
        "X-Hub-Signature-256": github_signature(body),
        "X-GitHub-Delivery": XSS[1],
        "X-GitHub-Event": XSS[0],
        "X-Evil": XSS[1],
        "X-Link": XSS[2],
    }
    event_id = client.post("/webhooks/github", content=body, headers=headers).json()["event_id"]
    store = redis.Redis.from_url(redis_url)
    DeadLetters(store, Ledger(store)).add(
        event_id=event_id,
        consumer="billing",
        error_type="ForwardFailed",
        error=f"POST answered 500: {XSS[1]}",
        traceback=XSS[0],
        attempts=1,
    )
    log_in(client, "reader")
    for path in (f"/dashboard/events/{event_id}", "/dashboard/dlq", "/dashboard/events"):
        page = client.get(path).text
        assert "<script>alert" not in page and "<img src=x" not in page and 'href="javascript:' not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    detail = client.get(f"/dashboard/events/{event_id}").text
    assert "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in detail and "javascript:alert(3)" in detail


def test_no_inline_script_and_the_csp_on_every_page(client, redis_url):
    event_id = deliver(client, 1)
    dead_letter(redis_url, event_id)
    log_in(client, "boss")
    for path in [
        *PAGES[:4],
        "/dashboard/destinations",
        f"/dashboard/events/{event_id}",
        "/dashboard/events/evt_missing",
        "/dashboard/login",
    ]:
        answer = client.get(path)
        assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert answer.headers["x-frame-options"] == "DENY" and answer.headers["cache-control"] == "no-store"
        assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", answer.text)), path
        assert not re.search(r"\son[a-z]+=", answer.text), path  # no event-handler attributes
        assert "https://" not in answer.text and "http://" not in answer.text.replace("http://billing", "")
    assert client.get("/dashboard/static/htmx-2.0.11.min.js").headers["x-content-type-options"] == "nosniff"


def test_event_detail_shows_deliveries_attempts_and_dead_letter(client, redis_url):
    event_id = deliver(client, 7)
    deliver_again = client.post(
        "/webhooks/github",
        content=json.dumps({"n": 7}).encode(),
        headers={
            "X-Hub-Signature-256": github_signature(json.dumps({"n": 7}).encode()),
            "X-GitHub-Delivery": "d-7",
            "X-GitHub-Event": "push",
        },
    )
    assert deliver_again.status_code == 200
    dead_letter(redis_url, event_id)
    log_in(client, "reader")
    page = client.get(f"/dashboard/events/{event_id}").text
    assert "2 received (1 duplicate from the sender)" in page
    assert "In the dead-letter queue" in page and "POST http://billing answered 500" in page
    assert "&#34;n&#34;: 7" in page  # the body, pretty-printed
    assert "x-github-event" in page
    missing = client.get("/dashboard/events/evt_missing")
    assert missing.status_code == 404 and "No event <code>evt_missing</code>" in missing.text


def test_overview_counts_and_polling_fragment(client, redis_url):
    for n in range(3):
        deliver(client, n)
    dead_letter(redis_url, deliver(client, 9))
    log_in(client, "reader")
    page = client.get("/dashboard").text
    assert 'hx-trigger="every 5s"' in page and "htmx-2.0.11.min.js" in page
    fragment = client.get("/dashboard/overview", headers={"HX-Request": "true"}).text
    assert not fragment.lstrip().startswith("<!doctype")
    assert re.search(r'id="dlq-size">1<', fragment)
    assert re.search(r'<span class="value">4</span>\s*<span class="note">peak 4 a minute', fragment)
    assert re.search(r"billing</a></td>\s*<td class=\"num\">1</td>", fragment)


def test_an_unreachable_store_is_a_503_page(client):
    from gateway.processes.dev import free_port

    log_in(client, "reader")
    app = create_app(settings_for(f"redis://127.0.0.1:{free_port()}/0"))
    with TestClient(app) as offline:
        offline.cookies.set("hookgate_session", client.cookies["hookgate_session"], path="/dashboard")
        for path in ("/dashboard", "/dashboard/dlq", "/dashboard/events/evt_x"):
            answer = offline.get(path)
            assert answer.status_code == 503 and "The event store is unavailable; retry later." in answer.text
            assert "Traceback" not in answer.text and answer.headers["retry-after"] == "5"
        login = offline.post(
            "/dashboard/login", data={"token": TOKENS["reader"], "_csrf_token": csrf(offline)}
        )
        assert login.status_code == 503  # the login throttle cannot count: refuse rather than guess


def test_the_dashboard_is_on_the_admin_part_only(redis_url):
    settings = settings_for(redis_url)
    with TestClient(create_app(settings, part="public")) as public:
        assert public.get("/dashboard/login").status_code == 404
    with TestClient(create_app(settings, part="admin")) as admin:
        assert admin.get("/dashboard/login").status_code == 200


def test_stacked_bars_geometry():
    starts = [600.0 * 60 + 60 * i for i in range(4)]
    chart = stacked_bars(starts, {"a": [0, 2, 4, 0], "b": [1, 2, 0, 0]}, width=400, height=100)
    assert chart.peak == 4 and chart.total == 9
    heights = {(bar.series, bar.x // 100): bar.height for bar in chart.bars}
    assert heights == {(1, 0): 25.0, (0, 1): 50.0, (1, 1): 50.0, (0, 2): 100.0}
    assert [tick.label for tick in chart.ticks] == ["10:00"]
    assert chart.legend == [("a", 0, 6), ("b", 1, 3)]
    assert "b 10:00 UTC: 1 event" in [bar.title for bar in chart.bars]
    assert stacked_bars([], {}).bars == []


def test_login_attempts_are_limited_per_address(client):
    for _ in range(10):
        refused = client.post("/dashboard/login", data={"token": "guess", "_csrf_token": csrf(client)})
        assert refused.status_code == 401
    throttled = client.post("/dashboard/login", data={"token": TOKENS["boss"], "_csrf_token": csrf(client)})
    assert throttled.status_code == 429 and "Too many login attempts" in throttled.text
    assert "hookgate_session" not in client.cookies


def test_replay_from_the_event_page(client, redis_url):
    event_id = deliver(client, 1)
    log_in(client, "replayer")
    token = csrf(client, f"/dashboard/events/{event_id}")
    queue = keys.dramatiq_queue(keys.DISPATCH_QUEUE)
    before = redis.Redis.from_url(redis_url).llen(queue)
    replayed = client.post(f"/dashboard/events/{event_id}/replay", data={"force": "1", "_csrf_token": token})
    assert replayed.status_code == 200 and "Replayed (forced)." in replayed.text
    assert redis.Redis.from_url(redis_url).llen(queue) == before + 1
    unknown = client.post(
        f"/dashboard/events/{event_id}/replay", data={"consumer": "nope", "_csrf_token": token}
    )
    assert "Not replayed: consumer: no consumer named &#39;nope&#39;" in unknown.text
    gone = client.post("/dashboard/events/evt_gone/replay", data={"_csrf_token": token})
    assert "That event is no longer stored." in gone.text


def test_issues_page_detail_and_actions(client, redis_url):
    event_id = deliver(client, 77)
    entry = dead_letter(redis_url, event_id)
    log_in(client, "reader")
    overview = client.get("/dashboard").text
    assert 'id="open-issues"' in overview and "billing" in overview
    listed = client.get("/dashboard/issues").text
    issue_id = re.search(r'/dashboard/issues/(iss_[0-9a-f]+)"', listed).group(1)
    assert f"/dashboard/issues/{issue_id}" in client.get("/dashboard/dlq").text, "linked from its dead letter"
    detail = client.get(f"/dashboard/issues/{issue_id}").text
    assert (
        "answered 500" in detail and event_id in detail and "Retry all dead letters of this issue" in detail
    )
    token = csrf(client, f"/dashboard/issues/{issue_id}")
    denied = client.post(
        f"/dashboard/issues/{issue_id}/ack", data={"_csrf_token": token}, follow_redirects=False
    )
    assert denied.status_code == 403, "reading is not changing"
    client.post("/dashboard/logout", data={"_csrf_token": token})
    log_in(client, "replayer")
    token = csrf(client, f"/dashboard/issues/{issue_id}")
    acked = client.post(f"/dashboard/issues/{issue_id}/ack", data={"_csrf_token": token})
    assert acked.status_code == 200 and "The issue is acknowledged." in acked.text
    retried = client.post(f"/dashboard/issues/{issue_id}/retry", data={"_csrf_token": token})
    assert "Retried 1 dead letter of this issue." in retried.text
    assert dlq_size(redis_url) == 0 and entry
    assert client.get("/dashboard/issues/iss_missing").status_code == 404


def test_destinations_page_pauses_resumes_and_moves_held_to_the_dlq(client, redis_url):
    destination(redis_url, "billing", held=(deliver(client, 1),))
    destination(redis_url, "crm")
    redis.Redis.from_url(redis_url).hset(keys.lane("crm"), "last_error", f"POST answered 502: {XSS[1]}")
    log_in(client, "reader")
    page = client.get("/dashboard/destinations").text
    assert 'href="/dashboard/destinations" aria-current="page"' in page
    assert re.search(
        r'data-destination="billing">.*?class="status paused".*?<td class="num">1</td>', page, re.S
    )
    assert re.search(r'data-destination="crm">.*?class="status closed".*?0/4', page, re.S)
    assert "&#34;&gt;&lt;img src=x" in page and "<img src=x" not in page
    assert "<button" not in page.split("<main>")[1], "a read token sees no buttons"
    token = csrf(client, "/dashboard")
    for action in ("pause", "resume", "dead-letter"):
        denied = client.post(f"/dashboard/destinations/crm/{action}", data={"_csrf_token": token})
        assert denied.status_code == 403 and "lacks the" in denied.text, action

    client.post("/dashboard/logout", data={"_csrf_token": token})
    log_in(client, "replayer")
    forged = client.post("/dashboard/destinations/crm/pause", data={}, follow_redirects=False)
    assert forged.status_code == 403 and "expired or came from another site" in forged.text
    page = client.get("/dashboard/destinations").text
    assert "Resume billing" in page and "Pause crm" in page and "Move held to DLQ: billing" in page
    assert "Move held to DLQ: crm" not in page, "nothing held, nothing to move"
    token = csrf(client, "/dashboard/destinations")
    paused = client.post("/dashboard/destinations/crm/pause", data={"_csrf_token": token})
    assert paused.status_code == 200 and "crm is paused." in paused.text
    assert re.search(r'data-destination="crm">.*?class="status paused"', paused.text, re.S)
    resumed = client.post("/dashboard/destinations/crm/resume", data={"_csrf_token": token})
    assert "crm is closed." in resumed.text
    moved = client.post("/dashboard/destinations/billing/dead-letter", data={"_csrf_token": token})
    assert "Moved 1 held delivery of billing to the dead-letter queue." in moved.text
    assert dlq_size(redis_url) == 1
    gone = client.post("/dashboard/destinations/nobody/pause", data={"_csrf_token": token})
    assert "No destination named &#39;nobody&#39;." in gone.text


@pytest.mark.parametrize(
    "name",
    [
        "a" * 256,  # longer than a file name may be (ENAMETOOLONG)
        "b" * 300 + ".js",
        "c/" * 2100 + "d.js",  # longer than a path may be
        "htmx-2.0.11.min.js/e.js",  # a file used as a directory (ENOTDIR)
    ],
)
def test_a_static_path_that_cannot_name_a_file_is_not_found(name):
    """The file system refuses such names with an OSError, which Litestar answers 500; they name no
    file, so 404 (no Redis needed: the static files never touch it)."""
    with TestClient(create_app(settings_for("redis://127.0.0.1:1/0"))) as offline:
        missing = offline.get(f"/dashboard/static/{name}")
        assert missing.status_code == 404
        assert missing.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert offline.get("/dashboard/static/htmx-2.0.11.min.js").status_code == 200


# The event page's route test


def with_forwards(settings: Settings, *forwards: dict[str, object]) -> Settings:
    return settings.model_copy(update={"forward": [ForwardSettings.model_validate(f) for f in forwards]})


def test_the_route_test_shows_each_consumers_verdict_and_the_request_escaped(redis_url):
    settings = with_forwards(
        settings_for(redis_url),
        {  # passes the sender's headers and body on
            "name": "mirror",
            "source": "github",
            "url": "http://127.0.0.1:9/mirror",
            "headers": {"Authorization": "Bearer dashboard-route-secret"},
        },
        {
            "name": "main-only",
            "source": "github",
            "url": "http://127.0.0.1:9/main",
            "filter": {"body": {"ref": "refs/heads/main"}},
        },
        {"name": "stripe-only", "source": "stripe", "url": "http://127.0.0.1:9/stripe"},
    )
    body = json.dumps({"ref": XSS[0], "html": XSS[1]}).encode()
    headers = {
        "X-Hub-Signature-256": github_signature(body),
        "X-GitHub-Delivery": "d-routes",
        "X-GitHub-Event": "push",
        "X-Evil": XSS[1],
        "X-Link": XSS[2],
    }
    with TestClient(create_app(settings)) as client:
        event_id = client.post("/webhooks/github", content=body, headers=headers).json()["event_id"]
        log_in(client, "reader")
        page = client.get(f"/dashboard/events/{event_id}").text
        assert f'hx-get="/dashboard/events/{event_id}/routes"' in page and "Test the routes" in page

        answer = client.get(f"/dashboard/events/{event_id}/routes", headers={"HX-Request": "true"})
        assert answer.status_code == 200
        assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        fragment = answer.text
        assert not fragment.lstrip().startswith("<!doctype") and "<script" not in fragment
        missing = client.get("/dashboard/events/evt_missing/routes", headers={"HX-Request": "true"})
        assert "No event <code>evt_missing</code> is stored any more." in missing.text

    def verdict(name: str) -> str:
        found = re.search(rf'data-consumer="{name}">(.*?)</article>', fragment, re.S)
        assert found, name
        return found.group(1)

    mirror = verdict("mirror")
    assert '<span class="status processed">delivered</span>' in mirror
    assert "POST http://127.0.0.1:9/mirror" in mirror
    assert "Authorization" in mirror and "[redacted]" in mirror and "dashboard-route-secret" not in fragment
    # The body pretty-printed, and every attacker-controlled string escaped.
    assert "&#34;ref&#34;: &#34;&lt;script&gt;alert(1)&lt;/script&gt;&#34;" in mirror
    assert "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in mirror and "javascript:alert(3)" in mirror
    assert "<img" not in fragment and 'href="javascript:' not in fragment
    main_only = verdict("main-only")
    assert '<span class="status filtered">filtered</span>' in main_only and "would send" not in main_only
    assert (
        "body.ref: &#34;&lt;script&gt;alert(1)&lt;/script&gt;&#34; is not &#34;refs/heads/main&#34;"
        in main_only
    )
    stripe_only = verdict("stripe-only")
    assert '<span class="status unrouted">not routed</span>' in stripe_only
    assert "wants source &#39;stripe&#39; (any type)" in stripe_only


def test_the_route_test_says_why_it_cannot_run(redis_url):
    """A configuration whose consumers the web process cannot load (a transformation's module is not
    installed there): the fragment says so (``PAGES`` checks it needs a session)."""
    broken = {
        "name": "gone",
        "source": "github",
        "url": "http://127.0.0.1:9/",
        "transform": "tests.nowhere:shape",
    }
    with TestClient(create_app(with_forwards(settings_for(redis_url), broken))) as client:
        event_id = deliver(client, 1)
        log_in(client, "reader")
        failed = client.get(f"/dashboard/events/{event_id}/routes", headers={"HX-Request": "true"})
        assert failed.status_code == 200, "htmx shows only a 2xx answer"
        assert "The consumers cannot be loaded: forward &#39;gone&#39;: transform" in failed.text
        assert "Traceback" not in failed.text
