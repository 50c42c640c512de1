"""The dashboard and the docs page in headless Chromium, as a person uses them."""

from __future__ import annotations

from typing import Any

import httpx
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as shown
from selenium.webdriver.support.ui import Select, WebDriverWait

WAIT_S = 30


def wait(browser: Any) -> WebDriverWait[Any]:
    return WebDriverWait(browser, WAIT_S)


def kianda_headers(server_url: str, sandbox: str) -> dict[str, str]:
    index = httpx.get(server_url + "/").json()
    form = next(api["credentials"] for api in index["apis"] if api["name"] == "kianda")
    token = httpx.post(server_url + "/kianda/Token", data=form).json()["access_token"]
    return {"Authorization": f"Bearer {token}", "X-Mock-Sandbox": sandbox}


def open_dashboard(browser: Any, server_url: str, sandbox: str) -> None:
    browser.get(server_url + "/__admin/ui")
    wait(browser).until(shown.presence_of_element_located((By.CSS_SELECTOR, "#instances tbody tr")))
    Select(browser.find_element(By.ID, "api")).select_by_value("kianda")
    box = browser.find_element(By.ID, "sandbox")
    box.clear()
    box.send_keys(sandbox, Keys.TAB)  # the change event: every panel now shows this sandbox
    wait(browser).until(
        shown.presence_of_element_located((By.CSS_SELECTOR, f'#instances tbody[data-sandbox="{sandbox}"]'))
    )


def test_find_and_open_a_seeded_instance(browser: Any, server_url: str) -> None:
    key = "training-approval-request-1"
    world = httpx.get(f"{server_url}/__admin/worlds/kianda/instance", params={"key": key}).json()
    open_dashboard(browser, server_url, "default")
    browser.find_element(By.ID, "search").send_keys(key)
    # The rows that answer the whole search (an answer to a prefix typed earlier is redrawn over).
    row = (By.CSS_SELECTOR, f'#instances tbody[data-query="{key}"] tr[data-key="{key}"]')
    wait(browser).until(shown.element_to_be_clickable(row)).click()
    wait(browser).until(shown.text_to_be_present_in_element((By.CSS_SELECTOR, "#instance-detail h3"), key))
    position = browser.find_element(By.CSS_SELECTOR, "#instance-detail .position").text
    assert f"process position: {world['summary']['position']}" in position
    assert (
        f'"processName": "{world["document"]["processName"]}"'
        in browser.find_element(By.CSS_SELECTOR, "#instance-detail pre").text
    )


def test_a_fault_added_on_the_page_fails_the_next_request(browser: Any, server_url: str) -> None:
    sandbox = "browser-fault"
    headers = kianda_headers(server_url, sandbox)
    open_dashboard(browser, server_url, sandbox)
    Select(browser.find_element(By.ID, "fault-method")).select_by_value("GET")
    path = browser.find_element(By.ID, "fault-path")
    path.clear()
    path.send_keys("/api/processes")
    browser.find_element(By.ID, "fault-add").click()
    wait(browser).until(
        shown.text_to_be_present_in_element((By.CSS_SELECTOR, "#faults ul"), "/api/processes in browser-fault")
    )
    assert httpx.get(server_url + "/kianda/api/processes", headers=headers).status_code == 503
    other = {**headers, "X-Mock-Sandbox": "default"}
    assert httpx.get(server_url + "/kianda/api/processes", headers=other).status_code == 200
    browser.find_element(By.CSS_SELECTOR, "#faults ul li button").click()
    wait(browser).until(shown.invisibility_of_element_located((By.CSS_SELECTOR, "#faults ul li")))
    assert httpx.get(server_url + "/kianda/api/processes", headers=headers).status_code == 200


def test_a_new_request_appears_in_the_live_journal(browser: Any, server_url: str) -> None:
    sandbox = "browser-journal"
    open_dashboard(browser, server_url, sandbox)
    answer = httpx.get(
        server_url + "/kianda/api/processes/equipment-request", headers=kianda_headers(server_url, sandbox)
    )
    assert answer.status_code == 200
    journal = (By.CSS_SELECTOR, "#journal tbody")
    wait(browser).until(shown.text_to_be_present_in_element(journal, "/kianda/api/processes/equipment-request"))
    browser.find_element(By.CSS_SELECTOR, "#journal tbody tr").click()
    detail = browser.find_element(By.ID, "journal-detail").text
    assert "operation getProcess" in detail and "equipment-request" in detail


def test_a_stub_that_breaks_the_spec_is_refused_on_the_page(browser: Any, server_url: str) -> None:
    open_dashboard(browser, server_url, "browser-stub")
    Select(browser.find_element(By.ID, "stub-method")).select_by_value("GET")
    browser.find_element(By.ID, "stub-path").send_keys("/api/processes")
    browser.find_element(By.ID, "stub-body").send_keys('{"not": "a list"}')
    browser.find_element(By.ID, "stub-add").click()
    wait(browser).until(shown.text_to_be_present_in_element((By.ID, "stub-error"), "the spec does not allow"))
    assert "is not of type 'array'" in browser.find_element(By.ID, "stub-error").text
    body = browser.find_element(By.ID, "stub-body")
    body.clear()
    body.send_keys("[]")
    browser.find_element(By.ID, "stub-add").click()
    wait(browser).until(shown.text_to_be_present_in_element((By.CSS_SELECTOR, "#stubs ul"), "listProcesses -> 200"))


def test_swagger_ui_shows_the_specs_and_tries_an_operation(browser: Any, server_url: str) -> None:
    browser.get_log("browser")  # empties it: the earlier tests' pages logged their expected refusals
    browser.get(server_url + "/__admin/docs?api=admin")
    operation = (By.ID, "operations-server-getHealth")
    wait(browser).until(shown.element_to_be_clickable(operation)).find_element(
        By.CSS_SELECTOR, ".opblock-summary"
    ).click()
    wait(browser).until(
        shown.element_to_be_clickable((By.CSS_SELECTOR, "#operations-server-getHealth .try-out__btn"))
    ).click()
    wait(browser).until(
        shown.element_to_be_clickable((By.CSS_SELECTOR, "#operations-server-getHealth .execute"))
    ).click()
    live = "#operations-server-getHealth .live-responses-table tr.response"
    wait(browser).until(shown.text_to_be_present_in_element((By.CSS_SELECTOR, f"{live} td.response-col_status"), "200"))
    assert '"status": "ok"' in browser.find_element(By.CSS_SELECTOR, f"{live} .response-col_description").text
    logins = browser.find_element(By.CSS_SELECTOR, '.logins details[data-api="kianda"]')
    logins.click()
    assert "admin@acme.ie" in logins.text  # the demo login is described on the page
    errors = [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []  # nothing failed to load or threw (get_log empties the log, so read it once)
