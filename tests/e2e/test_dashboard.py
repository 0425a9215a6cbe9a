"""The dashboard in Debian's chromium: a real gateway, worker and failing forward target.

Takes the README's screenshots (1280 by 800) as it goes: into ``docs/screenshots/`` under ``make
screenshots`` (``README_SCREENSHOTS=1``), else into the test's temporary folder, so a test run leaves the
working tree as it found it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

import redis
from playwright.sync_api import expect

from gateway.store import keys
from tests.helpers import GITHUB_SECRET, destination, post, wait_for, write_config

README_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
TOKENS = {"ops": "ops-token-secret", "viewer": "viewer-token-secret"}
XSS = ["<script>alert(1)</script>", '"><img src=x onerror=alert(2)>', "javascript:alert(3)"]


def admin_config(forwards: str) -> str:
    tokens = "".join(
        f'\n[[admin.tokens]]\nname = "{name}"\nscopes = ["{scope}"]\n'
        f'token = "sha256:{hashlib.sha256(TOKENS[name].encode()).hexdigest()}"\n'
        for name, scope in (("ops", "admin"), ("viewer", "read"))
    )
    return (
        "\n[retries]\nmax_retries = 1\nmin_backoff_ms = 100\nmax_backoff_ms = 200\n"
        f'\n[admin]\nsession_secret = "e2e-dashboard-session-secret"\n{tokens}{forwards}'
    )


def forward(name: str, url: str, events: list[str] | None = None) -> str:
    line = f'\n[[forward]]\nname = "{name}"\nsource = "github"\nurl = "{url}"\n'
    return line + (f"events = {json.dumps(events)}\n" if events else "")


def log_in(page: Any, base: str, token: str) -> None:
    page.goto(f"{base}/dashboard")
    expect(page).to_have_url(re.compile(r"/dashboard/login\?next=%2Fdashboard$"))
    page.fill("#token", token)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{base}/dashboard")


def watch(page: Any) -> dict[str, list[str]]:
    """Every dialog (accepted, so confirmations go through) and every CSP complaint on the console."""
    seen: dict[str, list[str]] = {"dialogs": [], "csp": []}

    def on_dialog(dialog: Any) -> None:
        seen["dialogs"].append(f"{dialog.type}: {dialog.message}")
        dialog.accept()

    page.on("dialog", on_dialog)
    page.on(
        "console",
        lambda message: (
            seen["csp"].append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return seen


def test_operator_logs_in_sees_dead_letters_retries_discards_and_logs_out(
    tmp_path, redis_url, sink, start_gateway, start_worker, page, browser
):
    config = write_config(
        tmp_path,
        admin_config(
            forward("billing", sink.url("/billing"), ["push"]) + forward("crm", sink.url("/crm"), ["issues"])
        ),
    )
    screenshots = README_SCREENSHOTS if os.environ.get("README_SCREENSHOTS") == "1" else tmp_path
    gateway = start_gateway(redis_url, config=config)
    start_worker(redis_url, config=config)
    store = redis.Redis.from_url(redis_url)
    seen = watch(page)

    log_in(page, gateway.url, TOKENS["ops"])
    expect(page.locator("#dlq-size")).to_have_text("0")

    # billing's target fails twice (max_retries = 1: two attempts, then the DLQ); crm's rejects at once.
    sink.plan("/billing", 500, 500)
    sink.plan("/crm", 400)
    push = json.dumps({"ref": "refs/heads/main", "commits": [{"id": "6113728f", "message": "Fix the build"}]})
    billing_event = post(gateway.url, "github", GITHUB_SECRET, push.encode(), delivery="push-1")
    retried = post(gateway.url, "github", GITHUB_SECRET, push.encode(), delivery="push-1", duplicate=True)
    assert retried == billing_event  # a sender's retry
    issue = b'{"action": "opened", "issue": {"number": 7}}'
    crm_event = post(gateway.url, "github", GITHUB_SECRET, issue, event="issues")
    for n in range(6):
        post(gateway.url, "hooks", "hooks-secret", json.dumps({"n": n}).encode(), event="ping")
        post(gateway.url, "solo", "solo-secret", json.dumps({"n": n}).encode(), event="ping")

    # The overview refreshes by itself (htmx polling): no reload here.
    expect(page.locator("#dlq-size")).to_have_text("2", timeout=30_000)
    expect(page.locator("#failing")).to_contain_text("billing")
    expect(page.locator("#failing")).to_contain_text("crm")
    page.screenshot(path=str(screenshots / "overview.png"))

    page.get_by_role("link", name="Dead letters", exact=True).click()
    rows = page.locator("#dead-letters tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("#dead-letters")).to_contain_text("POST")
    page.screenshot(path=str(screenshots / "dlq.png"))

    # A read token looks but cannot retry: the button is disabled, a hand-made POST is refused.
    viewer = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    log_in(viewer, gateway.url, TOKENS["viewer"])
    viewer.goto(f"{gateway.url}/dashboard/dlq")
    expect(viewer.get_by_role("button", name="Retry selected")).to_be_disabled()
    csrf = viewer.locator('input[name="_csrf_token"]').first.get_attribute("value")
    entry = viewer.locator('#dead-letters input[name="ids"]').first.get_attribute("value")
    denied = viewer.request.post(
        f"{gateway.url}/dashboard/dlq/retry", form={"ids": entry, "_csrf_token": csrf}, max_redirects=0
    )
    assert denied.status == 403 and "lacks the &#39;replay&#39; scope" in denied.text()
    no_csrf = page.request.post(f"{gateway.url}/dashboard/dlq/retry", form={"ids": entry}, max_redirects=0)
    assert no_csrf.status == 403
    assert store.zcard(keys.DLQ_INDEX) == 2
    viewer.context.close()

    # The detail page: delivery count, headers, body and the attempt timeline with errors.
    page.locator("#dead-letters tbody tr", has_text="billing").get_by_role("link", name="push").click()
    expect(page).to_have_url(f"{gateway.url}/dashboard/events/{billing_event}")
    expect(page.locator("#deliveries")).to_contain_text("2 received (1 duplicate from the sender)")
    expect(page.locator("#headers")).to_contain_text("push-1")
    expect(page.locator("#body")).to_contain_text('"message": "Fix the build"')
    billing = page.locator(".consumer", has_text="billing")
    expect(billing.locator(".timeline li.failed")).to_have_count(2)
    expect(billing.locator(".timeline li.failed").first).to_contain_text("answered 500")
    expect(billing.locator(".timeline details").first).to_contain_text("Traceback")
    expect(page.locator(".consumer", has_text="test.recorder")).to_contain_text("succeeded")
    page.screenshot(path=str(screenshots / "event.png"))

    # The target recovers (the sink answers 200 from now on): retry from the detail page.
    page.get_by_role("button", name="Retry billing").click()
    expect(page.locator(".flash")).to_have_text("Retried 1 dead letter.")
    page.get_by_role("link", name="Dead letters", exact=True).click()
    expect(rows).to_have_count(1)
    expect(page.locator("#dead-letters")).not_to_contain_text("billing")
    wait_for(lambda: len(sink.to("/billing")) == 3, message="billing's third POST")
    page.goto(f"{gateway.url}/dashboard/events/{billing_event}")
    for _ in range(100):
        if page.locator("h1 .status").inner_text() == "processed":
            break
        page.wait_for_timeout(100)
        page.reload()
    expect(page.locator("h1 .status")).to_have_text("processed")
    expect(billing.locator(".timeline li.retried")).to_have_count(1)
    expect(billing.locator(".timeline li.succeeded")).to_have_count(1)

    # Discard crm's dead letter from the list (a confirmation first); its event stays stored.
    page.get_by_role("link", name="Dead letters", exact=True).click()
    page.locator("#dead-letters tbody tr", has_text="crm").locator('input[name="ids"]').check()
    page.get_by_role("button", name="Discard selected").click()
    expect(page.locator(".flash")).to_have_text("Discarded 1 dead letter.")
    expect(page.locator("main")).to_contain_text("No dead letters.")
    assert seen["dialogs"] == ["confirm: Discard the selected dead letters? Their events stay stored."]
    assert store.exists(keys.event(crm_event))

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{gateway.url}/dashboard/login")
    page.goto(f"{gateway.url}/dashboard/dlq")
    expect(page).to_have_url(re.compile(r"/dashboard/login\?next=%2Fdashboard%2Fdlq$"))
    assert seen["csp"] == []


def test_attacker_payloads_render_as_inert_text(tmp_path, redis_url, sink, start_gateway, start_worker, page):
    config = write_config(tmp_path, admin_config(forward("sinkhole", sink.url("/sinkhole"))))
    gateway = start_gateway(redis_url, config=config)
    start_worker(redis_url, config=config)
    sink.plan("/sinkhole", 400)
    body = json.dumps({"comment": XSS[0], "html": XSS[1], "url": XSS[2]})
    extra = {"X-Comment": XSS[0], "X-Link": XSS[2]}
    event_id = post(gateway.url, "github", GITHUB_SECRET, body.encode(), event=XSS[1], headers=extra)
    wait_for(lambda: redis.Redis.from_url(redis_url).zcard(keys.DLQ_INDEX) == 1, message="the dead letter")
    seen = watch(page)

    log_in(page, gateway.url, TOKENS["ops"])
    for path in ("/dashboard", "/dashboard/dlq", "/dashboard/events", f"/dashboard/events/{event_id}"):
        page.goto(gateway.url + path)
        page.wait_for_load_state("networkidle")
        assert page.locator("img").count() == 0, path
        assert page.locator("a[href^='javascript:']").count() == 0, path
    expect(page.locator("#body")).to_contain_text(f'"comment": "{XSS[0]}"')
    expect(page.locator("#headers")).to_contain_text(XSS[0])
    expect(page.locator("#headers")).to_contain_text(XSS[2])
    expect(page.locator("h1")).to_contain_text(XSS[1])
    page.goto(f"{gateway.url}/dashboard/dlq")
    expect(page.locator("#dead-letters")).to_contain_text(XSS[1])
    page.wait_for_timeout(500)
    assert seen["dialogs"] == []
    assert seen["csp"] == []


def test_issues_page_acknowledges_and_retries_an_issues_dead_letters(
    tmp_path, redis_url, sink, start_gateway, start_worker, page
):
    config = write_config(tmp_path, admin_config(forward("billing", sink.url("/billing"), ["push"])))
    screenshots = README_SCREENSHOTS if os.environ.get("README_SCREENSHOTS") == "1" else tmp_path
    gateway = start_gateway(redis_url, config=config)
    start_worker(redis_url, config=config)
    seen = watch(page)
    sink.plan("/billing", *[503] * 4)
    for n in range(2):
        post(gateway.url, "github", GITHUB_SECRET, json.dumps({"ref": "refs/heads/main", "n": n}).encode())

    log_in(page, gateway.url, TOKENS["ops"])
    expect(page.locator("#open-issues")).to_contain_text("billing", timeout=30_000)
    page.locator("#open-issues").click()
    rows = page.locator("#issues tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("answered")
    page.screenshot(path=str(screenshots / "issues.png"))

    rows.first.locator("a").first.click()
    expect(page.locator("#issue-dead-letters")).to_have_text("2")
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.locator("#issue-status")).to_have_text("acknowledged")
    # The target recovers; one action retries both dead letters of the issue.
    page.get_by_role("button", name="Retry all dead letters of this issue").click()
    expect(page.locator(".flash")).to_contain_text("Retried 2 dead letters of this issue.")
    wait_for(lambda: len([r for r in sink.to("/billing")]) >= 4 + 2, message="both retried")
    assert seen["csp"] == [] and any("Retry every dead letter" in d for d in seen["dialogs"])


def test_destinations_page_pauses_and_resumes_a_destination(
    tmp_path, redis_url, start_gateway, page, browser
):
    config = write_config(tmp_path, admin_config(""))
    gateway = start_gateway(redis_url, config=config)
    destination(redis_url, "billing")
    destination(redis_url, "crm")
    redis.Redis.from_url(redis_url).hset(keys.lane("crm"), "last_error", f"POST answered 502: {XSS[1]}")
    seen = watch(page)

    log_in(page, gateway.url, TOKENS["ops"])
    page.get_by_role("link", name="Destinations", exact=True).click()
    expect(page).to_have_url(f"{gateway.url}/dashboard/destinations")
    billing = page.locator('#destinations tr[data-destination="billing"]')
    expect(page.locator("#destinations tbody tr")).to_have_count(2)
    expect(billing.locator(".status")).to_have_text("closed")
    expect(billing).to_contain_text("0/4")
    expect(page.locator('#destinations tr[data-destination="crm"]')).to_contain_text(XSS[1])
    assert page.locator("img").count() == 0

    page.get_by_role("button", name="Pause billing").click()
    expect(page.locator(".flash")).to_have_text("billing is paused.")
    expect(billing.locator(".status")).to_have_text("paused")
    expect(page.locator('#destinations tr[data-destination="crm"] .status')).to_have_text("closed")
    assert redis.Redis.from_url(redis_url).hget(keys.lane("billing"), "paused") == b"1"

    page.get_by_role("button", name="Resume billing").click()
    expect(page.locator(".flash")).to_have_text("billing is closed.")
    expect(billing.locator(".status")).to_have_text("closed")
    expect(page.get_by_role("button", name="Pause billing")).to_be_visible()

    # A read token sees the destinations and no buttons.
    viewer = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    log_in(viewer, gateway.url, TOKENS["viewer"])
    viewer.goto(f"{gateway.url}/dashboard/destinations")
    expect(viewer.locator("#destinations tbody tr")).to_have_count(2)
    expect(viewer.locator("main button")).to_have_count(0)
    viewer.context.close()
    assert seen["csp"] == [] and seen["dialogs"] == []


def test_the_event_page_tests_the_routes(tmp_path, redis_url, sink, start_gateway, start_worker, page):
    """A read token clicks "Test the routes": each consumer's verdict, and what a forward would send."""
    main_only = forward("main-only", sink.url("/main")) + 'filter = { body = { ref = "refs/heads/main" } }\n'
    everything = (
        forward("everything", sink.url("/all")) + 'headers = { Authorization = "Bearer e2e-secret" }\n'
    )
    config = write_config(tmp_path, admin_config(main_only + everything))
    gateway = start_gateway(redis_url, config=config)
    start_worker(redis_url, config=config)
    push = json.dumps({"ref": "refs/heads/dev", "comment": XSS[0]}).encode()
    event_id = post(gateway.url, "github", GITHUB_SECRET, push, headers={"X-Comment": XSS[1]})
    wait_for(lambda: len(sink.to("/all")) == 1, message="the delivery to everything")
    seen = watch(page)

    log_in(page, gateway.url, TOKENS["viewer"])
    page.goto(f"{gateway.url}/dashboard/events/{event_id}")
    state = page.locator(".consumer", has_text="main-only").locator("h3 .status")
    expect(state).to_have_text("filtered")  # recorded in dispatch, before everything's delivery
    assert state.evaluate("badge => getComputedStyle(badge).borderTopStyle") == "dashed"
    expect(page.locator("#route-verdicts")).to_have_count(0)

    page.get_by_role("button", name="Test the routes").click()
    verdicts = page.locator("#route-verdicts")
    declined = verdicts.locator('[data-consumer="main-only"]')
    expect(declined.locator(".status")).to_have_text("filtered")
    expect(declined).to_contain_text('body.ref: "refs/heads/dev" is not "refs/heads/main"')
    delivered = verdicts.locator('[data-consumer="everything"]')
    expect(delivered.locator(".status")).to_have_text("delivered")
    expect(delivered.locator(".request-line")).to_have_text(f"POST {sink.url('/all')}")
    expect(delivered.locator(".sent-headers")).to_contain_text("[redacted]")
    expect(delivered.locator(".sent-headers")).to_contain_text(XSS[1])
    expect(delivered.locator(".sent-body")).to_contain_text(f'"comment": "{XSS[0]}"')
    expect(verdicts.locator('[data-consumer="test.recorder"] .status')).to_have_text("delivered")
    expect(verdicts.locator('[data-consumer="test.slow"] .status')).to_have_text("not routed")
    assert "e2e-secret" not in verdicts.inner_text()
    assert page.locator("img").count() == 0 and verdicts.locator("script").count() == 0
    assert len(sink.to("/all")) == 1 and sink.to("/main") == [], "a route test sends nothing"
    assert seen["csp"] == [] and seen["dialogs"] == []
