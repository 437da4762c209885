"""Opens a local HTML file in a real headless Chromium (Debian's `chromium`, driven by Playwright; no browser is
downloaded) and records what the page did: console messages, page errors, network requests, dialogs."""
import contextlib
import os
import shutil

import pytest

INSTALL_HINT = ("no Chromium found: install Debian's package (apt-get install -y chromium) or set CHROMIUM_PATH to a "
                "Chromium or Chrome executable")


def chromium_path():
    """The Chromium executable: $CHROMIUM_PATH, else the first of chromium, chromium-browser, google-chrome on PATH."""
    if os.environ.get("CHROMIUM_PATH"):
        return os.environ["CHROMIUM_PATH"]
    return next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)


class PageEvents:
    def __init__(self):
        self.console, self.errors, self.requests, self.dialogs = [], [], [], []


@contextlib.contextmanager
def open_page(path, width=1280):
    """Yields (page, events) for the file at `path`; skips the test when no Chromium is installed."""
    executable = chromium_path()
    if executable is None:
        pytest.skip(INSTALL_HINT)
    from playwright.sync_api import sync_playwright
    events = PageEvents()
    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox cannot start.
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.on("console", lambda message: events.console.append((message.type, message.text)))
            page.on("pageerror", lambda error: events.errors.append(str(error)))
            page.on("request", lambda request: events.requests.append(request.url))
            page.on("dialog", lambda dialog: (events.dialogs.append(dialog.message), dialog.dismiss()))
            page.goto("file://" + os.path.abspath(path), wait_until="load")
            # The page itself is the one request allowed; anything else is a request the page made.
            events.requests[:] = [url for url in events.requests if url != page.url]
            yield page, events
        finally:
            browser.close()
