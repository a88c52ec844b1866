"""The query workbench and the API page in real headless Chromium (issue 16), against a live server."""

from __future__ import annotations

import pytest
import requests
import test_ui
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from test_ui import fonts_loaded, open_page, screenshot, wait

pytestmark = pytest.mark.browser

# The same fixtures as the other UI tests: a live server over the shipped store, and headless Chromium.
base_url, browser = test_ui.base_url, test_ui.browser


def platform_fonts(driver, selector: str) -> list[dict]:
    """The fonts Chromium really drew the element's text with (DevTools' CSS.getPlatformFontsForNode)."""
    driver.execute_cdp_cmd("DOM.enable", {})
    driver.execute_cdp_cmd("CSS.enable", {})
    root = driver.execute_cdp_cmd("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
    node = driver.execute_cdp_cmd("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    return driver.execute_cdp_cmd("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]


def test_api_docs_is_a_page_of_the_site_with_chinese_in_the_bundled_font(browser, base_url):
    open_page(browser, base_url + "/?lang=zh")
    browser.find_element(By.CSS_SELECTOR, 'nav a[data-nav="api_docs"]').click()
    wait(browser, EC.url_contains("/api/docs"))
    assert browser.find_element(By.CSS_SELECTOR, "nav a.active").get_attribute("data-nav") == "api_docs"
    fonts_loaded(browser)
    heading = browser.find_element(By.TAG_NAME, "h1").text
    assert heading == "命名查询接口"
    assert "Noto Sans SC Variable" in browser.execute_script("return getComputedStyle(document.querySelector('h1')).fontFamily")
    loaded = browser.execute_script("return [...document.fonts].filter(f => f.status === 'loaded').map(f => f.family)")
    assert any("Noto Sans SC" in family for family in loaded), loaded
    # Every glyph of the heading came from the bundled web font, none from a system fallback (the machine has
    # no Chinese system font, so without it they would be tofu boxes).
    drawn = platform_fonts(browser, "h1")
    assert [f["isCustomFont"] for f in drawn] == [True] and "Noto Sans SC" in drawn[0]["familyName"], drawn
    assert drawn[0]["glyphCount"] == len(heading)
    summary = browser.find_element(By.CSS_SELECTOR, "#case_modes h2").text
    assert "各案例的合作生产模式" in summary
    assert all(f["isCustomFont"] for f in platform_fonts(browser, "#case_modes .primary p")), "a fallback font drew Chinese"
    screenshot(browser, "14-api-docs-zh")


def test_api_docs_run_shows_the_answer_in_place(browser, base_url):
    open_page(browser, base_url + "/api/docs?lang=zh")
    form = browser.find_element(By.CSS_SELECTOR, "#case_modes form.api-form")
    assert form.find_element(By.NAME, "lang").get_attribute("value") == "zh"
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    result = wait(browser, EC.visibility_of_element_located((By.CSS_SELECTOR, "#case_modes .api-result table")))
    assert browser.current_url == base_url + "/api/docs?lang=zh", "Run left the page"
    expected = requests.get(f"{base_url}/api/queries/case_modes",
                            params={"mode": "cop:ComplementaryAdvantage", "lang": "zh"}, timeout=10).json()
    assert expected, "the example should find cases"
    columns = [th.text for th in result.find_elements(By.CSS_SELECTOR, "thead th")]
    assert columns == [c for c in expected[0] if not c.endswith("@lang")]
    rows = result.find_elements(By.CSS_SELECTOR, "tbody tr")
    assert len(rows) == len(expected)
    label_column = columns.index("label")
    shown_labels = sorted(r.find_elements(By.TAG_NAME, "td")[label_column].text.split("@")[0] for r in rows)
    assert shown_labels == sorted(record["label"] for record in expected)
    meta = browser.find_element(By.CSS_SELECTOR, "#case_modes .result-meta").text
    assert f"{len(expected)} " in meta
    screenshot(browser, "15-api-docs-run")
    # A bad value is answered in place too, with the parameter named.
    field = browser.find_element(By.CSS_SELECTOR, "#case_modes input[name=mode]")
    field.clear()
    field.send_keys("cop:NoSuchMode")
    browser.find_element(By.CSS_SELECTOR, "#case_modes button[type=submit]").click()
    failed = wait(browser, EC.visibility_of_element_located((By.CSS_SELECTOR, "#case_modes .api-result.failed")))
    assert "HTTP 400" in failed.text and "mode" in failed.find_element(By.CSS_SELECTOR, ".error-detail").text
