#!/usr/bin/python3
"""The IG dashboard in a real browser: headless Chromium driven by Selenium.

Against a running hub with a pending request (scripts/browser-test.sh sets one up): signs in with
an IG officer's token, finds the request, approves it with a reason, finds the approval in the
access log, and looks at the uploads page and the public register. Every step asserts what the
page shows and saves a screenshot in the output folder for a person to look at.

Usage: /usr/bin/python3 Tests/Browser/ig_dashboard.py --hub URL --token-file FILE --request ID --out DIR
(Debian's python3 has python3-selenium; a pyenv python3 earlier on PATH may not.)
"""
import argparse
import os
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    # Root in a container: Chromium's sandbox cannot start, so it is turned off for this test only.
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,1100"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def gone(element):
    """Whether `element`'s page has been replaced. Selenium's staleness_of expects a stale-element
    error, but this chromedriver may instead answer "Node with given id does not belong to the
    document" when the old page goes mid-call (seen once in CI): that means gone too."""
    try:
        element.is_enabled()
        return False
    except StaleElementReferenceException:
        return True
    except WebDriverException as error:
        if "does not belong to the document" in (error.msg or ""):
            return True
        raise


class Steps:
    def __init__(self, driver, hub, out):
        self.driver, self.hub, self.out, self.count = driver, hub.rstrip("/"), out, 0

    def shot(self, name):
        self.count += 1
        path = os.path.join(self.out, f"{self.count:02d}-{name}.png")
        self.driver.save_screenshot(path)
        print(f"  screenshot {path}")

    def follow(self, element):
        """Clicks a link or button and waits for the next page: a click returns before it loads."""
        page = self.driver.find_element(By.TAG_NAME, "html")
        element.click()
        WebDriverWait(self.driver, 30).until(lambda driver: gone(page))
        WebDriverWait(self.driver, 30).until(lambda driver: driver.execute_script("return document.readyState") == "complete")

    def heading(self):
        return self.driver.find_element(By.TAG_NAME, "h1").text

    def expect(self, condition, message):
        if not condition:
            self.shot("FAILED")
            raise AssertionError(f"{message} (page {self.driver.current_url}, heading {self.heading()!r})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hub", required=True)
    parser.add_argument("--token-file", required=True)
    parser.add_argument("--request", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    token = open(args.token_file).read().strip()
    driver = browser()
    steps = Steps(driver, args.hub, args.out)
    try:
        print("1. a page of the dashboard, signed out, leads to the sign-in form")
        driver.get(steps.hub + "/ig/requests")
        steps.expect(driver.current_url.endswith("/ig/sign-in"), "not sent to the sign-in form")
        steps.expect(steps.heading() == "Sign in", "no sign-in heading")
        body = driver.find_element(By.TAG_NAME, "body")
        body.send_keys(Keys.TAB)
        focused = driver.switch_to.active_element
        steps.expect(focused.text == "Skip to main content", f"the first Tab stop is {focused.text!r}, not the skip link")
        steps.shot("sign-in")

        print("2. sign in with the IG officer's token")
        field = driver.find_element(By.ID, "token")
        label = driver.find_element(By.CSS_SELECTOR, "label[for=token]")
        steps.expect(label.text == "API token", "the token field has no label")
        field.send_keys(token)
        steps.follow(driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]"))
        steps.expect(steps.heading() == "Agreements", "signing in did not lead to the agreements page")
        steps.expect("Signed in as i-thackeray" in driver.find_element(By.TAG_NAME, "header").text, "the header does not say who is signed in")
        steps.expect("early-help-domestic-abuse" in driver.page_source, "the agreement is not listed")
        steps.shot("agreements")

        print("3. the pending request is listed with a decision form")
        steps.follow(driver.find_element(By.LINK_TEXT, "Requests"))
        steps.expect(steps.heading() == "Requests awaiting approval", "the requests page did not open")
        section = driver.find_element(By.CSS_SELECTOR, f"section[aria-labelledby='req-{args.request}']")
        steps.expect("n-carrow" in section.text, "the request does not name its requester")
        steps.shot("requests")

        print("4. approve it with a reason")
        section.find_element(By.ID, f"reason-{args.request}").send_keys("Proportionate, within the agreement's purpose (browser test)")
        steps.follow(section.find_element(By.CSS_SELECTOR, "button[value=approve]"))
        status = driver.find_element(By.CSS_SELECTOR, "[role=status]").text
        steps.expect(f"Request {args.request} is now ready." == status, f"no confirmation of the approval: {status!r}")
        steps.expect(not driver.find_elements(By.CSS_SELECTOR, f"section[aria-labelledby='req-{args.request}']"), "the approved request is still listed")
        steps.shot("approved")

        print("5. the approval is in the access log")
        steps.follow(driver.find_element(By.LINK_TEXT, "Access log"))
        driver.find_element(By.ID, "f-agreement").send_keys("early-help-domestic-abuse")
        driver.find_element(By.ID, "f-action").send_keys("request.approve")
        steps.follow(driver.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]"))
        rows = [row.text for row in driver.find_elements(By.CSS_SELECTOR, "main table tbody tr")]
        steps.expect(len(rows) == 1, f"expected one approval in the log, found {len(rows)}")
        steps.expect(args.request in rows[0] and "user:i-thackeray" in rows[0] and "approved" in rows[0], f"the entry is not the approval: {rows[0]!r}")
        steps.shot("access-log")

        print("6. uploads: the police extract is on time, the other providers' are missing")
        steps.follow(driver.find_element(By.LINK_TEXT, "Uploads"))
        police = [row.text for row in driver.find_elements(By.CSS_SELECTOR, "main table tbody tr") if "police_da_incidents" in row.text]
        steps.expect(police and "on time" in police[0], f"the police extract is not on time: {police!r}")
        steps.shot("uploads")

        print("7. the transparency log verifies")
        steps.follow(driver.find_element(By.LINK_TEXT, "Transparency log"))
        steps.follow(driver.find_element(By.XPATH, "//button[text()='Verify the log now']"))
        steps.expect("The audit log is intact" in driver.find_element(By.CSS_SELECTOR, "main [role=status]").text, "verification did not pass")
        steps.shot("transparency")

        print("8. sign out; the public register needs no sign-in")
        steps.follow(driver.find_element(By.XPATH, "//button[text()='Sign out']"))
        steps.expect(steps.heading() == "Sign in" and "You have signed out." in driver.page_source, "signing out did not return to the form")
        driver.get(steps.hub + "/register")
        steps.expect(steps.heading() == "Register of data sharing agreements", "the register did not open")
        steps.expect("n-carrow" not in driver.page_source and "i-thackeray" not in driver.page_source, "the register names a person")
        steps.shot("register")
    finally:
        driver.quit()
    print(f"browser test: ok ({steps.count} screenshots in {args.out})")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as failure:
        print(f"browser test: FAILED: {failure}", file=sys.stderr)
        sys.exit(1)
