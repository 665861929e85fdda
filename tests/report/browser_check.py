#!/usr/bin/env python3
"""Open report.html in headless Debian chromium (Playwright, network off) and
check it works as a person would use it.

usage: browser_check.py REPORT_HTML SCREENSHOT_PNG LAYERS HEADS STRONG_L,H OTHER_L,H DOCS

Checks: no console errors or page errors; no request other than the file
itself and data: URIs; the heatmap has LAYERS x HEADS cells; the planted
strong head's cell is blue; hovering it shows its statistics; clicking
another cell shows that head's scatter and one point per document; the
heads table sorts. Saves a full-page screenshot. Exit 0 = all good.
"""
import re, sys
from playwright.sync_api import sync_playwright

html, shot = sys.argv[1], sys.argv[2]
L, H = int(sys.argv[3]), int(sys.argv[4])
strong = tuple(int(v) for v in sys.argv[5].split(","))
other = tuple(int(v) for v in sys.argv[6].split(","))
docs = int(sys.argv[7])
problems = []


def check(ok, what):
    if not ok:
        problems.append(what)
        print("FAIL:", what)
    return ok


with sync_playwright() as p:
    browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
    ctx = browser.new_context(offline=True, viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: m.type in ("error", "warning") and problems.append("console %s: %s" % (m.type, m.text)))
    page.on("pageerror", lambda e: problems.append("page error: %s" % e))
    page.goto("file://" + html)
    page.wait_for_selector("body[data-heatmap-ready]", timeout=20000)

    foreign = [u for u in requests if not (u.startswith("file://") and u.endswith(".html")) and not u.startswith("data:")]
    check(not foreign, "requests other than the page itself: %s" % foreign[:5])

    cells = page.locator("#heatmap .cell path")
    check(cells.count() == L * H, "heatmap has %d cells, expected %d" % (cells.count(), L * H))

    cell = cells.nth(strong[0] * H + strong[1])
    fill = cell.get_attribute("fill") or ""
    m = re.match(r"rgb\((\d+),\s*(\d+),\s*(\d+)\)", fill) or re.match(r"#(..)(..)(..)", fill)
    if check(m is not None, "cannot read the strong cell's fill %r" % fill):
        base = 10 if fill.startswith("rgb") else 16
        r, g, b = (int(v, base) for v in m.groups())
        check(b > r + 60, "planted strong head L%d H%d is not blue: %s" % (strong + (fill,)))

    cell.hover()
    tip = page.locator("#tooltip")
    page.wait_for_timeout(200)
    check(tip.is_visible(), "hovering a cell shows no tooltip")
    text = tip.inner_text()
    check("layer %d, head %d" % strong in text and "r = " in text and "p (adjusted)" in text and "n = " in text,
          "tooltip text wrong: %r" % text)

    cells.nth(other[0] * H + other[1]).click()
    key = "%d,%d" % other
    page.wait_for_selector('body[data-detail-ready="%s"]' % key, timeout=10000)
    title = page.locator("#detail-title").inner_text()
    check(title.startswith("L%d H%d" % other), "detail title %r is not head L%d H%d" % ((title,) + other))
    n_points = page.locator("#scatter .points path").count()
    check(n_points >= 50, "scatter shows %d points" % n_points)
    n_docs = page.locator("#docbars .docpoints path").count()
    check(n_docs == docs, "per-document r shows %d points, expected %d" % (n_docs, docs))

    rows = page.locator("#heads-table tbody tr")
    check(rows.count() == L * H, "heads table has %d rows" % rows.count())
    first = rows.nth(0).get_attribute("data-key")
    check(first == "%d,%d" % strong, "table not sorted by |r| first: top row %s" % first)
    page.locator('#heads-table th[data-key="label"]').click()
    check(page.locator("#heads-table tbody tr").nth(0).get_attribute("data-key") == "0,0", "sorting by head fails")

    page.locator("#explore").scroll_into_view_if_needed()
    page.screenshot(path=shot, full_page=True)
    browser.close()

for p_ in problems:
    print("problem:", p_)
sys.exit(1 if problems else 0)
