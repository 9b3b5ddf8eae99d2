"""A real browser uses the deployed app: sign in through the form, add an item, reload, see it."""

from __future__ import annotations

import uuid

from playwright.sync_api import expect

from tests.e2e.browser import ARTIFACTS, chromium_browser
from tests.e2e.helpers import DeployedApp


def test_browser_signs_in_adds_an_item_and_keeps_it_after_reload(items_app: DeployedApp) -> None:
    """Chromium is sent to the login page, signs in, adds an item, reloads and still sees it (screenshot saved)."""
    name = f"Buy oat milk {uuid.uuid4().hex[:6]}"
    url = items_app.url
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium_browser() as browser:
        context = browser.new_context(viewport={"width": 900, "height": 600})
        page = context.new_page()
        page.goto(f"{url}/")
        expect(page).to_have_url(f"{url}/login.html")
        expect(page.locator("h1")).to_have_text("Sign in")

        page.fill("#password", "not the password")
        page.click("#sign-in")
        expect(page).to_have_url(f"{url}/login.html?error=1")
        expect(page.locator("#login-error")).to_be_visible()

        page.fill("#password", items_app.password)
        page.click("#sign-in")
        expect(page).to_have_url(f"{url}/")
        session = [c for c in context.cookies() if c["name"] == "app_session"]
        assert len(session) == 1
        assert (session[0]["httpOnly"], session[0]["secure"], session[0]["sameSite"]) == (True, True, "Lax")

        page.fill("#item-name", name)
        page.click("#add-item")
        item = page.locator("#items li", has_text=name)
        expect(item).to_be_visible()

        page.reload()
        expect(item).to_be_visible()
        page.screenshot(path=ARTIFACTS / "browser-signed-in.png", full_page=True)

        item.get_by_role("button", name="Delete item").click()
        expect(item).to_have_count(0)
        page.reload()
        expect(page.locator("#items li").first).to_be_visible()
        expect(item).to_have_count(0)
        context.close()
