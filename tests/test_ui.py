"""The web UI in real headless Chromium against a live server over the shipped store."""

from __future__ import annotations

import shutil
import tempfile
from urllib.parse import urlencode

import pytest
import requests
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from conftest import OUTPUT
from kg.config import ROOT
from kg.errors import QuerySyntaxError
from kg.namespaces import COP, PREFIXES
from kg.queries import load_named_query
from live_server import serve

pytestmark = pytest.mark.browser

SCREENSHOTS = OUTPUT / "screenshots"
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
PROLOGUE = "".join(f"PREFIX {p}: <{iri}>\n" for p, iri in PREFIXES.items())


@pytest.fixture(scope="module")
def base_url(shipped_store):
    with serve(shipped_store) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.fail("headless Chromium is missing: run `make system-deps` (Debian chromium, chromium-driver)")
    profile = tempfile.mkdtemp(prefix="coprokg-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                 f"--user-data-dir={profile}", "--window-size=1400,1000", "--lang=en-GB"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # CSP violations are reported there
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def wait(driver, condition, timeout: float = 10):
    return WebDriverWait(driver, timeout).until(condition)


def open_page(driver, url: str) -> None:
    driver.get(url)
    wait(driver, lambda d: d.execute_script("return document.readyState") == "complete")


def fonts_loaded(driver) -> None:
    """Wait for the bundled web fonts, so layout and pictures show the real typefaces."""
    driver.execute_async_script("const done = arguments[0]; document.fonts.ready.then(() => done(true));")


def screenshot(driver, name: str, width: int = 1400) -> None:
    """Save the whole page (the window grown to the document's height) under tests/output/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    fonts_loaded(driver)
    height = driver.execute_script("return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)")
    driver.set_window_size(width, min(max(height + 120, 900), 6000))
    driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))
    driver.set_window_size(1400, 1000)


def select(store, body: str) -> list[dict]:
    solutions = store.query(PROLOGUE + body)
    names = [v.value for v in solutions.variables]
    return [{n: s[n].value for n in names if s[n] is not None} for s in solutions]


def set_language(driver, base_url: str, language: str) -> None:
    open_page(driver, f"{base_url}/cases?lang={language}")


def test_example_query_shows_the_expected_rows(browser, base_url, shipped_store):
    set_language(browser, base_url, "en")
    open_page(browser, base_url + "/")
    button = wait(browser, EC.element_to_be_clickable((By.CSS_SELECTOR, 'button.example[data-name="case_modes"]')))
    button.click()
    wait(browser, lambda d: "rows" in d.find_element(By.ID, "row-count").text)
    # The same named query, bound with the same example values the page used, straight on the store.
    query = load_named_query(ROOT / "queries" / "case_modes.rq")
    values = {p.name: (("en" if p.kind == "language" else p.example) or p.default) for p in query.parameters}
    expected = sorted({row["case"].value for row in query.run(shipped_store, values)})
    assert expected, "the example should select at least one shipped case"
    links = browser.find_elements(By.CSS_SELECTOR, "#results-table tbody td a.term")
    shown = sorted({a.get_attribute("title") for a in links if "/id/case/" in a.get_attribute("href")})
    assert shown == expected
    assert "VALUES ?mode" in browser.execute_script("return window.coproEditor.getValue()")
    screenshot(browser, "01-query-example")


def test_results_sort_and_page(browser, base_url, shipped_store):
    open_page(browser, base_url + "/")
    query = PROLOGUE + "SELECT ?s ?label WHERE { ?s rdfs:label ?label FILTER(LANG(?label) = 'en') }"
    browser.execute_script("window.coproEditor.setValue(arguments[0])", query)
    browser.find_element(By.ID, "run").click()
    wait(browser, lambda d: "rows" in d.find_element(By.ID, "row-count").text)
    total = len(select(shipped_store, "SELECT ?s ?label WHERE { ?s rdfs:label ?label FILTER(LANG(?label) = 'en') }"))
    assert browser.find_element(By.ID, "row-count").text.startswith(f"{total} rows")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#results-table tbody tr")) == min(total, 25)
    ordered = """
        const values = [...document.querySelectorAll('#results-table tbody td:nth-child(3) .literal')].map(e => e.textContent);
        const collator = new Intl.Collator('en', {numeric: true});
        return values.every((v, i) => i === 0 || collator.compare(values[i - 1], v) * arguments[0] <= 0);"""
    browser.find_element(By.CSS_SELECTOR, 'th[data-var="label"]').click()
    assert browser.execute_script(ordered, 1)
    first_ascending = browser.find_element(By.CSS_SELECTOR, "#results-table tbody td:nth-child(3)").text
    browser.find_element(By.CSS_SELECTOR, 'th[data-var="label"]').click()
    assert browser.execute_script(ordered, -1)
    assert browser.find_element(By.CSS_SELECTOR, "#results-table tbody td:nth-child(3)").text != first_ascending
    if total > 25:
        browser.find_element(By.ID, "next-page").click()
        first = browser.find_element(By.CSS_SELECTOR, "#results-table tbody td.index").text
        assert first == "26"


def test_syntax_error_is_shown_at_its_position(browser, base_url, shipped_store):
    bad = "SELECT * WHERE {\n  ?s rdfs:label ?l .\n  ?s foo:bar ?o\n}"
    with pytest.raises(QuerySyntaxError) as raised:
        shipped_store.query(PROLOGUE.replace("\n", " ") + bad)
    assert "Prefix not found" in str(raised.value)  # what the page must not show as its message
    open_page(browser, base_url + "/")
    browser.execute_script("window.coproEditor.setValue(arguments[0])", bad)
    browser.find_element(By.ID, "run").click()
    box = wait(browser, EC.visibility_of_element_located((By.ID, "error")))
    assert box.find_element(By.CSS_SELECTOR, ".error-detail").text.startswith("unknown prefix `foo:`")
    assert box.find_element(By.CSS_SELECTOR, ".position").text == "line 3, column 6"
    assert "u{00B7}" not in box.text  # the grammar dump stays folded away
    # The editor underlines the unknown prefixed name itself, not where the parser gave up.
    underline = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".cm-lintRange-error"))
    assert underline[0].text == "foo:bar"
    screenshot(browser, "02-query-syntax-error")


def test_known_prefixes_need_no_declaration(browser, base_url, shipped_store):
    open_page(browser, base_url + "/?" + urlencode({"query": "SELECT ?case ?city WHERE { ?case cop:city ?city }"}))
    browser.find_element(By.ID, "run").click()
    wait(browser, lambda d: "rows" in d.find_element(By.ID, "row-count").text)
    expected = len(select(shipped_store, "SELECT ?case ?city WHERE { ?case cop:city ?city }"))
    assert browser.find_element(By.ID, "row-count").text.startswith(f"{expected} rows") and expected
    assert browser.find_element(By.ID, "declared-prefixes").text == "declared for you: cop:"


def test_modes_page_puts_each_case_in_its_cell(browser, base_url, shipped_store):
    open_page(browser, base_url + "/modes")
    cells = browser.find_elements(By.CSS_SELECTOR, "#mode-grid .mode-cell")
    assert len(cells) == 4
    cases = select(shipped_store, "SELECT ?case ?a ?r WHERE { ?case a cop:CoproductionCase ; "
                                  "cop:hasAuthorityLevel ?a ; cop:hasResourceConcentration ?r }")
    assert len(cases) >= 4
    for case in cases:
        chip = browser.find_element(By.CSS_SELECTOR, f'.case-chip[data-case="{case["case"]}"]')
        cell = chip.find_element(By.XPATH, "ancestor::section[contains(@class, 'mode-cell')]")
        assert (cell.get_attribute("data-authority"), cell.get_attribute("data-resources")) == (case["a"], case["r"])
    # A condition of its mode that a case fails is flagged on the case.
    unmet = select(shipped_store, "SELECT DISTINCT ?case ?c WHERE { ?case cop:hasMode ?m . "
                                  "?m cop:hasApplicationCondition ?c . ?case cop:failsCondition ?c }")
    for row in unmet:
        chip = browser.find_element(By.CSS_SELECTOR, f'.case-chip[data-case="{row["case"]}"]')
        flagged = [a.get_attribute("title") for a in chip.find_elements(By.CSS_SELECTOR, ".flags .unmet a")]
        assert any(row["c"].endswith(title.split(":", 1)[1]) for title in flagged)
    screenshot(browser, "03-modes")


# On a 420 px phone: what sticks out of the page, of a 2x2 cell, and where the cells and the language switch are.
NARROW_LAYOUT = """
const width = document.documentElement.clientWidth;
const box = e => e.getBoundingClientRect();
const cells = [...document.querySelectorAll('#mode-grid .mode-cell')];
const outside = cells.flatMap(cell => [...cell.querySelectorAll('*')].filter(e => box(e).width > 0
    && (box(e).right > box(cell).right + 0.5 || box(e).left < box(cell).left - 0.5)).map(e => e.textContent.trim()));
const language = box(document.getElementById('lang-zh'));
return {width, scrollWidth: document.documentElement.scrollWidth, outside,
        lefts: [...new Set(cells.map(c => Math.round(box(c).left)))], tops: [...new Set(cells.map(c => Math.round(box(c).top)))],
        rightmost: Math.max(...cells.map(c => box(c).right)), language: [language.left, language.right, language.bottom]};
"""


@pytest.mark.parametrize("language", ["en", "zh"])
def test_modes_fit_a_420_px_screen(browser, base_url, language):
    browser.set_window_size(420, 900)
    try:
        open_page(browser, f"{base_url}/modes?lang={language}")
        fonts_loaded(browser)
        layout = browser.execute_script(NARROW_LAYOUT)
        assert layout["scrollWidth"] <= layout["width"], "the page scrolls sideways"
        assert len(layout["lefts"]) == 2 and len(layout["tops"]) == 2, "still a 2x2"
        assert layout["rightmost"] <= layout["width"] and layout["outside"] == []
        left, right, bottom = layout["language"]
        assert 0 <= left < right <= layout["width"] and bottom <= 120, "the language switch is on screen, at the top"
        screenshot(browser, f"13-modes-420px-{language}", width=420)
    finally:
        browser.set_window_size(1400, 1000)


def test_the_site_has_an_icon(browser, base_url):
    ico = requests.get(f"{base_url}/favicon.ico", timeout=10)
    assert ico.status_code == 200 and ico.headers["Content-Type"] == "image/vnd.microsoft.icon"
    assert ico.content[:4] == b"\x00\x00\x01\x00" and int.from_bytes(ico.content[4:6], "little") == 3  # ICO, 3 sizes
    open_page(browser, base_url + "/modes")
    linked = [e.get_attribute("href") for e in browser.find_elements(By.CSS_SELECTOR, 'link[rel="icon"]')]
    assert len(linked) == 2
    for href in linked:
        assert requests.get(href, timeout=10).headers["Content-Type"].startswith(("image/svg+xml", "image/vnd.microsoft.icon"))
    # The picture really draws: Chromium decodes the SVG icon at 32 px with the brand colour in its corner.
    corner = browser.execute_async_script("""
        const [href, done] = arguments; const img = new Image();
        img.onload = () => { const c = document.createElement('canvas'); c.width = c.height = 32;
          const g = c.getContext('2d'); g.drawImage(img, 0, 0, 32, 32); done([...g.getImageData(3, 16, 1, 1).data]); };
        img.onerror = () => done(null); img.src = href;""", linked[0])
    assert corner == [0x0f, 0x5e, 0x68, 255]


def test_class_tree_leads_to_an_individual_and_chinese_labels(browser, base_url, shipped_store):
    set_language(browser, base_url, "en")
    open_page(browser, base_url + "/ontology")
    screenshot(browser, "04-ontology")
    browser.find_element(By.CSS_SELECTOR, '#class-tree a[title="cop:CoproductionCase"]').click()
    wait(browser, EC.url_contains("/ontology/CoproductionCase"))
    label_en = select(shipped_store, f"SELECT ?l WHERE {{ <{COP.CoproductionCase}> rdfs:label ?l FILTER(LANGMATCHES(LANG(?l), 'en')) }}")
    assert browser.find_element(By.ID, "resource-label").text.startswith(label_en[0]["l"])
    screenshot(browser, "05-class-page")
    instance = browser.find_element(By.CSS_SELECTOR, "#instances a.term")
    iri = instance.get_attribute("title")
    instance.click()
    wait(browser, EC.url_contains("/id/case/"))
    assert browser.find_element(By.ID, "resource-iri").text.endswith(iri.split(":", 1)[1])
    browser.find_element(By.ID, "lang-zh").click()
    wait(browser, EC.url_contains("lang=zh"))
    full_iri = browser.find_element(By.ID, "resource-iri").text
    label_zh = select(shipped_store, f"SELECT ?l WHERE {{ <{full_iri}> rdfs:label ?l FILTER(LANGMATCHES(LANG(?l), 'zh')) }}")
    assert browser.find_element(By.ID, "resource-label").text.startswith(label_zh[0]["l"])
    assert browser.find_element(By.CSS_SELECTOR, 'nav a[data-nav="ontology"]').text == "本体"
    screenshot(browser, "06-individual-zh")
    set_language(browser, base_url, "en")


def test_mechanism_picture_and_case_page(browser, base_url, shipped_store):
    open_page(browser, base_url + "/mechanisms")
    lanes = browser.find_elements(By.CSS_SELECTOR, "#mechanism-board .lane[data-mechanism]")
    mechanisms = select(shipped_store, "SELECT ?m WHERE { ?m a cop:Mechanism }")
    assert len(lanes) == len(mechanisms) >= 3
    outcomes = select(shipped_store, f"SELECT ?o WHERE {{ <{COP.EmergenceMechanism}> cop:employsStrategy/cop:yieldsOutcome ?o }}")
    lane = browser.find_element(By.CSS_SELECTOR, f'.lane[data-mechanism="{COP.EmergenceMechanism}"]')
    shown = {a.get_attribute("title") for a in lane.find_elements(By.CSS_SELECTOR, ".outcomes a")}
    assert shown == {"cop:" + row["o"].rsplit("#", 1)[1] for row in outcomes}
    screenshot(browser, "07-mechanisms")
    open_page(browser, base_url + "/cases")
    screenshot(browser, "08-cases")
    open_page(browser, base_url + "/cases/hangzhou-community-meal-centre")
    actors = select(shipped_store, "SELECT DISTINCT ?a WHERE { ?p cop:participationIn "
                                   "<https://w3id.org/coprokg/id/case/hangzhou-community-meal-centre> ; cop:participant ?a }")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#actors .sector li a.term")) == len(actors)
    assert browser.find_elements(By.CSS_SELECTOR, "#observations a.evidence-ref")
    screenshot(browser, "09-case")
    open_page(browser, base_url + "/government")
    screenshot(browser, "10-government")
    open_page(browser, base_url + "/modes?lang=zh")
    screenshot(browser, "11-modes-zh")
    open_page(browser, base_url + "/docs?lang=en")
    assert browser.find_elements(By.CSS_SELECTOR, "h1, h2")
    screenshot(browser, "12-docs")


def test_compare_sets_the_cases_side_by_side_and_filters_them(browser, base_url, shipped_store):
    open_page(browser, base_url + "/compare?lang=zh")
    rows = browser.find_elements(By.CSS_SELECTOR, "#compare-table tbody tr[data-case]")
    cases = select(shipped_store, "SELECT ?c WHERE { ?c a cop:CoproductionCase }")
    assert len(rows) == len(cases) == 4
    # Each condition cell says what the store holds: met, failed, or not assessed, in the page's language.
    for status, predicate, words in (("met", "meetsCondition", "满足"), ("fails", "failsCondition", "不满足")):
        shown = browser.find_elements(By.CSS_SELECTOR, f"#compare-table td.status.{status}")
        held = select(shipped_store, f"SELECT ?c ?k WHERE {{ ?c cop:{predicate} ?k }}")
        assert len(shown) == len(held) and {cell.text for cell in shown} == {words}
    assert len(browser.find_elements(By.CSS_SELECTOR, "#compare-table td.status.not-assessed")) == 11 * 4 - 12
    header = browser.find_element(By.CSS_SELECTOR, f'#compare-table thead th[data-column="{COP.SurvivalMechanism}"]')
    assert header.text == "存续机制"
    screenshot(browser, "27-compare-zh")
    Select(browser.find_element(By.NAME, "mode")).select_by_value("cop:SharingAssisted")
    browser.find_element(By.CSS_SELECTOR, "#compare-filters button[type=submit]").click()
    wait(browser, lambda d: "mode=cop%3ASharingAssisted" in d.current_url or "mode=cop:SharingAssisted" in d.current_url)
    shown = [r.get_attribute("data-case") for r in browser.find_elements(By.CSS_SELECTOR, "#compare-table tbody tr")]
    assert shown == ["ningbo-home-care-platform"]
    link = browser.find_element(By.CSS_SELECTOR, '#compare-shown a[data-format="csv"]').get_attribute("href")
    download = requests.get(link, timeout=10)
    assert download.status_code == 200 and download.text.splitlines()[1].startswith("ningbo-home-care-platform,")
    screenshot(browser, "28-compare-filtered-zh")
    # A column's heading leads to its coding rule.
    browser.find_element(By.CSS_SELECTOR, f'#compare-table thead th[data-column="{COP.FewPartnersToChooseFrom}"] a').click()
    wait(browser, lambda d: d.current_url.endswith("/codebook#condition-few-partners-to-choose-from"))
    assert "当前来合作的潜在伙伴很少、政府几乎无从选择时为真" in browser.find_element(By.ID, "condition-few-partners-to-choose-from").text
    screenshot(browser, "29-codebook-zh")


def test_no_page_breaks_the_content_security_policy(browser, base_url):
    # The policy forbids inline scripts and styles: a page that used one would be reported in the console.
    browser.get_log("browser")  # drop what earlier tests left
    for path in ("/", "/ontology", "/ontology/CoproductionCase", "/mechanisms", "/modes", "/cases", "/compare",
                 "/codebook", "/government", "/docs", "/api/docs", "/ontology#CoproductionCase"):
        open_page(browser, base_url + path)
    open_page(browser, base_url + "/")
    wait(browser, EC.element_to_be_clickable((By.ID, "run"))).click()
    wait(browser, EC.presence_of_element_located((By.CSS_SELECTOR, "#results-table tbody tr")))
    violations = [entry["message"] for entry in browser.get_log("browser") if "Content Security Policy" in entry["message"]]
    assert violations == []
