"""The pages an analyst reads, opened in a real browser (headless Chromium, Debian's package; `.ci/run` installs it):
a profile page, the North-vs-South page and the report. Each is checked for its charts and for text that
overflows its box (a table cell narrower than its words, an SVG label past the chart's edge, a page wider than
the window), by a small script appended to a copy of the page whose verdict is read back from ``--dump-dom``.
Screenshots are written next to the copies (the path is printed) for a person to look at."""

import json
import re
import shutil
import subprocess

import duckdb
import pytest

from warehouse.outputs import north_south, profiles
from warehouse.outputs.report import write_report

pytestmark = pytest.mark.slow

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--hide-scrollbars", "--window-size=1280,1600"]

# Marks every element whose content is wider than its box, every SVG text past its SVG's edges, and a page
# wider than the window; counts the charts. Runs at the end of <body>, when layout is complete.
PROBE = """<script>
(function () {
  var bad = [];
  function name(el) { return el.tagName.toLowerCase() + ': ' + (el.textContent || '').trim().slice(0, 60); }
  document.querySelectorAll('body *').forEach(function (el) {
    if (el.closest('svg')) return;
    var style = getComputedStyle(el);
    if (style.display === 'inline' || el.clientWidth === 0) return;
    if (style.overflowX === 'auto' || style.overflowX === 'scroll') return;
    if (el.scrollWidth > el.clientWidth + 2) bad.push(name(el));
  });
  document.querySelectorAll('svg').forEach(function (svg) {
    var box = svg.viewBox && svg.viewBox.baseVal && svg.viewBox.baseVal.width ? svg.viewBox.baseVal : svg.getBBox();
    svg.querySelectorAll('text').forEach(function (t) {
      var b = t.getBBox();
      if (b.x < box.x - 1 || b.x + b.width > box.x + box.width + 1) bad.push('svg text: ' + t.textContent.slice(0, 60));
    });
  });
  if (document.documentElement.scrollWidth > window.innerWidth + 2) bad.push('page wider than the window');
  var charts = {};
  ['svg.spine', 'svg.spark', 'svg.pyramid', 'svg.diverging', 'img'].forEach(function (sel) {
    charts[sel] = Array.prototype.filter.call(document.querySelectorAll(sel), function (el) {
      var r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0;  // drawn, not just present
    }).length;
  });
  document.body.setAttribute('data-probe', JSON.stringify({overflow: bad, charts: charts}));
})();
</script>"""


def _chromium() -> str:
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    pytest.skip(f"no Chromium on PATH (tried {', '.join(CHROMIUM_CANDIDATES)}); .ci/run installs Debian's `chromium`")


def open_in_chromium(page, tmp_path) -> dict:
    """The probe's verdict for ``page`` (an HTML file), and a screenshot beside it."""
    chromium = _chromium()
    probed = tmp_path / f"probed_{page.name}"
    probed.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    profile = tmp_path / "chromium-profile"
    dom = subprocess.run([chromium, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", probed.as_uri()],
                         capture_output=True, text=True, timeout=180)
    found = re.search(r"data-probe=\"([^\"]*)\"", dom.stdout)
    assert found, f"the probe did not run: {dom.stderr[-2000:]}"
    screenshot = tmp_path / f"{page.stem}.png"
    subprocess.run([chromium, *FLAGS, f"--user-data-dir={profile}", f"--screenshot={screenshot}", page.as_uri()],
                   capture_output=True, text=True, timeout=180)
    print(f"\nscreenshot: {screenshot}")
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


@pytest.fixture()
def con(built_warehouse):
    connection = duckdb.connect(str(built_warehouse), read_only=True)
    yield connection
    connection.close()


def test_profile_page_in_chromium(con, tmp_path):
    page = profiles.write_profiles(con, ["E06000010"], tmp_path)["E06000010"]
    verdict = open_in_chromium(page.path, tmp_path)
    assert verdict["overflow"] == []
    charts = verdict["charts"]
    assert charts["svg.spine"] == page.rows and charts["svg.pyramid"] == 1 and charts["svg.spark"] > 0
    assert (tmp_path / "E06000010.png").stat().st_size > 20_000


def test_north_south_page_in_chromium(con, tmp_path):
    page = north_south.write_page(con, tmp_path / "north_south.html")
    verdict = open_in_chromium(page, tmp_path)
    assert verdict["overflow"] == []
    assert verdict["charts"]["svg.diverging"] == 1 and verdict["charts"]["svg.spark"] > 0


def test_report_in_chromium(built_warehouse, tmp_path):
    out = tmp_path / "report.html"
    sections = write_report(built_warehouse, out)
    verdict = open_in_chromium(out, tmp_path)
    assert verdict["overflow"] == []
    drawn = verdict["charts"]["img"] + verdict["charts"]["svg.diverging"]
    assert drawn == sum(1 for s in sections if s.figure is not None or s.svg is not None) > 0
