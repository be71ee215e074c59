#!/usr/bin/env python3
"""Drives Tocsin's web console in headless Chromium, as an operator would, against a running server.

The flow: sign in (when TOCSIN_USER is given), create a Slack integration whose webhook is the fake receiver, route
backups/warning to it, press Test and read the service's answer, post an event through the API and see its delivery
on /deliveries, then post one the fake refuses, see it failed with the fake's answer, and retry it from the console.

Environment:
  TOCSIN_URL           the server, e.g. http://127.0.0.1:9095 (required)
  FAKE_SLACK_URL       the fake Slack incoming-webhook URL (required)
  FAIL_MARKER          text in an event's summary that makes the fake refuse its first delivery (required)
  SCREENSHOT_DIR       where each step's screenshot goes (default .build/screenshots)
  TOCSIN_USER, TOCSIN_PASSWORD   sign in with these when authentication is on
  TOCSIN_INGEST_TOKEN  bearer token for posting events when authentication is on

Exits 0 when every step saw what it expected; otherwise prints which step failed and why, saves failure.png, exits 1.
"""

import json
import os
import sys
import time
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

BASE = os.environ["TOCSIN_URL"].rstrip("/")
FAKE_SLACK_URL = os.environ["FAKE_SLACK_URL"]
FAIL_MARKER = os.environ["FAIL_MARKER"]
SCREENSHOTS = os.environ.get("SCREENSHOT_DIR", ".build/screenshots")
USER = os.environ.get("TOCSIN_USER")
PASSWORD = os.environ.get("TOCSIN_PASSWORD", "")
INGEST_TOKEN = os.environ.get("TOCSIN_INGEST_TOKEN")
INTEGRATION = "team-slack"
WAIT_SECONDS = 30


class StepFailed(Exception):
    pass


def make_driver():
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1400,1000"):
        options.add_argument(argument)
    service = webdriver.ChromeService(executable_path=os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(WAIT_SECONDS)
    return driver


class Flow:
    def __init__(self, driver):
        self.driver = driver
        self.step_number = 0
        self.step_name = "start"

    def step(self, name):
        self.step_number += 1
        self.step_name = name
        print(f"step {self.step_number}: {name}", flush=True)

    def screenshot(self, label):
        path = os.path.join(SCREENSHOTS, f"{self.step_number:02d}-{label}.png")
        self.driver.save_screenshot(path)

    def open(self, path):
        self.driver.get(BASE + path)
        self.expect_no_error_flash()

    def find(self, css):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def wait_for(self, description, condition, timeout=WAIT_SECONDS):
        try:
            # The page reloads under the wait after a change: an element read from the old page is simply looked up again.
            wait = WebDriverWait(self.driver, timeout, poll_frequency=0.2, ignored_exceptions=(StaleElementReferenceException,))
            return wait.until(lambda _: condition())
        except TimeoutException:
            raise StepFailed(f"timed out waiting for {description}; the page says: {self.page_text()[:1500]}")

    def page_text(self):
        return self.driver.find_element(By.TAG_NAME, "body").text

    def flash(self):
        boxes = self.driver.find_elements(By.ID, "flash")
        if not boxes or not boxes[0].is_displayed():
            return None
        return boxes[0].get_attribute("class"), boxes[0].text

    def expect_no_error_flash(self):
        shown = self.flash()
        if shown and "error" in shown[0]:
            raise StepFailed(f"the console shows an error: {shown[1]}")

    def wait_until_reloaded(self, description):
        """The console reloads the page after a successful change and shows what it did in an info flash."""
        def done():
            shown = self.flash()
            if shown and "error" in shown[0]:
                raise StepFailed(f"{description}: the console shows an error: {shown[1]}")
            return shown is not None and "info" in shown[0]
        self.wait_for(description, done)

    def reload_until(self, description, condition, timeout=WAIT_SECONDS):
        deadline = time.monotonic() + timeout
        while True:
            if condition():
                return
            if time.monotonic() > deadline:
                raise StepFailed(f"timed out waiting for {description}; the page says: {self.page_text()[:1500]}")
            time.sleep(0.5)
            self.driver.refresh()


def post_event(event):
    headers = {"Content-Type": "application/json"}
    if INGEST_TOKEN:
        headers["Authorization"] = "Bearer " + INGEST_TOKEN
    request = urllib.request.Request(BASE + "/api/v1/events", data=json.dumps(event).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            answer = json.loads(response.read())
    except urllib.error.HTTPError as error:
        raise StepFailed(f"POST /api/v1/events answered {error.code}: {error.read().decode(errors='replace')}")
    routed = answer["accepted"][0]["integrations"]
    if INTEGRATION not in routed:
        raise StepFailed(f"the event was routed to {routed}, not to {INTEGRATION}")


def run(flow):
    driver = flow.driver

    flow.step("sign in")
    flow.open("/login")
    if USER:
        flow.find("#login-name").send_keys(USER)
        flow.find("#login-password").send_keys(PASSWORD)
        flow.screenshot("login")
        flow.find("#login-submit").click()
        flow.wait_for("the alerts page after signing in", lambda: driver.current_url.startswith(BASE + "/alerts"))
        flow.wait_for("who is signed in", lambda: USER in flow.find("#signed-in-as").text)
    else:
        flow.screenshot("login")
        flow.open("/alerts")
    flow.screenshot("alerts")

    flow.step("create a Slack integration")
    flow.open("/integrations")
    Select(flow.find("#integration-type")).select_by_value("slack")
    url_field = flow.wait_for("the Slack fields", lambda: driver.find_elements(By.CSS_SELECTOR, '#integration-fields [data-key="url"]'))[0]
    flow.find("#integration-name").send_keys(INTEGRATION)
    url_field.send_keys(FAKE_SLACK_URL)
    if url_field.get_attribute("type") != "password":
        raise StepFailed("the webhook URL is a secret but its field is not masked")
    flow.screenshot("integration-form")
    flow.find("#integration-save").click()
    flow.wait_until_reloaded("saving the integration")
    row = flow.find(f'tr[data-integration="{INTEGRATION}"]')
    if FAKE_SLACK_URL in driver.page_source:
        raise StepFailed("the integrations page shows the webhook URL, a secret")
    if "managed" not in row.text:
        raise StepFailed(f"the new integration is not listed as managed: {row.text}")
    flow.screenshot("integration-created")

    flow.step("route backups/warning to it")
    flow.open("/routing")
    cell = flow.find('td.cell[data-scope="backups"][data-severity="warning"]')
    Select(cell.find_element(By.CSS_SELECTOR, "select.add")).select_by_value(INTEGRATION)
    cell.find_element(By.CSS_SELECTOR, '[data-action="route-add"]').click()
    flow.wait_until_reloaded("saving the routing cell")
    cell = flow.find('td.cell[data-scope="backups"][data-severity="warning"]')
    if INTEGRATION not in cell.text:
        raise StepFailed(f"the backups/warning cell does not list {INTEGRATION}: {cell.text}")
    flow.screenshot("routed")

    flow.step("test the integration")
    flow.open("/integrations")
    flow.find(f'[data-action="test-integration"][data-name="{INTEGRATION}"]').click()
    result = flow.find(f'output.test-result[data-for="{INTEGRATION}"]')
    flow.wait_for("the test's answer", lambda: "delivered" in result.text or "bad" in (result.get_attribute("class") or ""))
    flow.expect_no_error_flash()
    if "delivered" not in result.text:
        raise StepFailed(f"the test was not delivered: {result.text}")
    flow.screenshot("tested")

    flow.step("post an event and see its delivery")
    post_event({"kind": "notification", "category": "backups", "severity": "warning", "summary": "Nightly backup is late"})
    flow.open("/deliveries")
    flow.reload_until(
        "the delivery to the fake",
        lambda: any(INTEGRATION in row.text and "delivered" in row.text
                    for row in driver.find_elements(By.CSS_SELECTOR, "#recent-deliveries tbody tr")),
    )
    flow.screenshot("delivered")

    flow.step("a delivery fails and is retried from the console")
    post_event({"kind": "notification", "category": "backups", "severity": "warning", "summary": "Backup failed " + FAIL_MARKER})
    flow.open("/deliveries")
    flow.reload_until("the failed delivery", lambda: driver.find_elements(By.CSS_SELECTOR, "#failed-deliveries tbody tr"))
    failed_row = flow.find("#failed-deliveries tbody tr")
    if INTEGRATION not in failed_row.text or "400" not in failed_row.text:
        raise StepFailed(f"the failed delivery does not show the service's answer: {failed_row.text}")
    flow.screenshot("failed")
    failed_row.find_element(By.CSS_SELECTOR, '[data-action="retry"]').click()
    flow.wait_until_reloaded("the retry")
    flow.reload_until("the retried delivery to go out", lambda: "No failed deliveries." in flow.page_text())
    flow.screenshot("retried")


def main():
    os.makedirs(SCREENSHOTS, exist_ok=True)
    driver = make_driver()
    flow = Flow(driver)
    try:
        run(flow)
    except Exception as error:  # every failure is reported with its step, and the page as it was
        print(f"FAILED at step {flow.step_number} ({flow.step_name}): {error}", flush=True)
        try:
            driver.save_screenshot(os.path.join(SCREENSHOTS, "failure.png"))
        except Exception:
            pass
        return 1
    finally:
        driver.quit()
    print("console flow passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
