"""Chromium on the live server with the demo loaded, recording what an attack would leave:
console errors, Content-Security-Policy violations, dialogs and an injected script's flag."""

from __future__ import annotations

import os
from urllib.parse import urlparse

import pytest
from django.core.management import call_command

# Playwright's sync API runs an event loop in this thread; Django's ORM refuses to run inside one
# unless told it is safe (it is: the tests do not share connections with the loop).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# Runs before any of the page's scripts: every violation of the policy the page meets, and the
# list a payload written into the page pushes to when it runs (window.__xss).
PROBES = """
window.__violations = [];
window.__xss = [];
document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(
  `${e.effectiveDirective} refused ${e.blockedURI || 'inline'} (${e.sourceFile}:${e.lineNumber})`));
"""


@pytest.fixture
def open_chromium(browser, live_server, transactional_db, django_user_model):
    """open_chromium(bypass_csp=False) -> a page on the live server (demo loaded) that reaches
    nothing off the server; page.errors, page.dialogs, page.violations(), page.fired() (what
    payloads ran), page.sign_in() (an editor, through the login form)."""
    call_command("load_demo", verbosity=0)
    contexts = []

    def open_page(bypass_csp: bool = False):
        context = browser.new_context(
            viewport={"width": 1280, "height": 900}, bypass_csp=bypass_csp
        )
        contexts.append(context)
        page = context.new_page()
        host = urlparse(live_server.url).netloc
        errors: list[str] = []
        dialogs: list[str] = []

        def console(msg) -> None:
            # Base tiles from other hosts are aborted on purpose; their failures are expected,
            # and so are the payloads' images (they exist to fail and fire onerror).
            where = urlparse(msg.location.get("url") or live_server.url).netloc
            if msg.type == "error" and where in (host, "") and "/xss-" not in msg.text:
                errors.append(msg.text)

        def dialog(d) -> None:
            dialogs.append(d.message)
            d.dismiss()

        page.on("console", console)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("dialog", dialog)
        page.route(
            "**/*",
            lambda route: (
                route.continue_() if urlparse(route.request.url).netloc == host else route.abort()
            ),
        )
        page.add_init_script(PROBES)

        def sign_in() -> None:
            django_user_model.objects.create_superuser("editor", "editor@example.org", "pw")
            page.goto(f"{live_server.url}/admin/login/")
            page.fill("#id_username", "editor")
            page.fill("#id_password", "pw")
            page.click("input[type=submit]")
            page.wait_for_url(f"{live_server.url}/admin/")

        page.errors, page.dialogs, page.base, page.sign_in = (
            errors,
            dialogs,
            live_server.url,
            sign_in,
        )
        page.violations = lambda: page.evaluate("window.__violations")
        page.fired = lambda: page.evaluate("window.__xss")
        return page

    yield open_page
    for context in contexts:
        for page in context.pages:
            page.wait_for_load_state("networkidle", timeout=30000)
        context.close()
