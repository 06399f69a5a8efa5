"""The report: charts, summary.md and a self-contained HTML page, checked in
a real headless Chromium."""

from __future__ import annotations

import base64
import re
import shutil
import struct
import zlib
from pathlib import Path

import pytest

pl = pytest.importorskip("polars", reason="the counting side needs the stats extra")

import cdp  # noqa: E402

from anaconda_anon_usage.stats.cli import main  # noqa: E402
from anaconda_anon_usage.stats.report import CHARTS  # noqa: E402


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("report")
    logs = base / "logs"
    assert main(["sample", str(logs), "--weeks", "4", "--clients", "200"]) == 0
    (logs / "access-2026-10-21.log").unlink()  # week 2026-10-19 has a hole
    files = sorted(str(p) for p in logs.glob("*.log"))
    assert main(["ingest", "--raw", str(base / "raw"), *files]) == 0
    out = base / "out"
    assert main(["totals", "--raw", str(base / "raw"), "--out", str(out)]) == 0
    assert main(["report", "--totals", str(out)]) == 0
    return out


def test_report_files(report: Path):
    for name in (*CHARTS, "summary.md", "report.html"):
        assert (report / name).stat().st_size > 0, name
    summary = (report / "summary.md").read_text()
    assert "| week | clients | one session | several sessions |" in summary
    assert "![Clients seen in one session only" in summary
    assert "- 2026-10-19: no log lines from 2026-10-21 00:00 to 2026-10-22 00:00" in (
        summary
    )


def test_the_page_needs_nothing_from_outside(report: Path):
    page = (report / "report.html").read_text()
    references = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)""", page)
    assert len(references) == len(CHARTS)
    assert all(ref.startswith("data:image/png;base64,") for ref in references)
    assert "<link" not in page and "<script" not in page and "@import" not in page
    assert "default-src 'none'" in page


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def png_variety(data: bytes) -> int:
    """Distinct byte values in the image data: a blank page has very few."""
    position, idat = 8, b""
    while position < len(data):
        size, kind = struct.unpack(">I4s", data[position : position + 8])
        if kind == b"IDAT":
            idat += data[position + 8 : position + 8 + size]
        position += 12 + size
    return len(set(zlib.decompress(idat)))


CHECK = """(async () => {
  const images = [...document.images];
  const decoded = await Promise.allSettled(images.map(i => i.decode()));
  // ink (pixels neither transparent nor near white) in each half of an image:
  // a cut-off image decodes too, but leaves its lower part empty
  const ink = (image) => {
    const canvas = document.createElement('canvas');
    canvas.width = image.naturalWidth; canvas.height = image.naturalHeight;
    if (!canvas.width || !canvas.height) return [0, 0];
    const context = canvas.getContext('2d');
    context.drawImage(image, 0, 0);
    const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
    const half = canvas.height / 2, counts = [0, 0];
    for (let p = 0; p < pixels.length; p += 4) {
      const dark = pixels[p + 3] > 0 &&
        (pixels[p] < 200 || pixels[p + 1] < 200 || pixels[p + 2] < 200);
      if (dark) counts[Math.floor(p / 4 / canvas.width) < half ? 0 : 1] += 1;
    }
    return counts;
  };
  return {
    images: images.map((i, n) => ({alt: i.alt, complete: i.complete,
      decoded: decoded[n].status, ink: ink(i),
      natural: [i.naturalWidth, i.naturalHeight],
      shown: [i.getBoundingClientRect().width, i.getBoundingClientRect().height]})),
    svgs: [...document.querySelectorAll('svg')].map(
      s => [s.getBoundingClientRect().width, s.getBoundingClientRect().height]),
    rows: document.querySelectorAll('#weekly tbody tr').length,
    headers: [...document.querySelectorAll('#weekly th')].map(t => t.textContent),
    height: document.documentElement.scrollHeight,
    title: document.title,
  };
})()"""


def test_the_page_in_headless_chromium(report: Path, tmp_path: Path):
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.skip(
            "chromium is not installed (apt-get install chromium; .ci/run does)"
        )
    url = (report / "report.html").resolve().as_uri()
    with cdp.chromium(executable) as page:
        for domain in ("Page", "Runtime", "Log", "Network"):
            page.call(f"{domain}.enable")
        page.call(
            "Emulation.setDeviceMetricsOverride",
            width=1100,
            height=900,
            deviceScaleFactor=1,
            mobile=False,
        )
        page.call("Page.navigate", url=url)
        page.wait_for("Page.loadEventFired")
        found = page.evaluate(CHECK)
        height = int(found["height"])
        shot = page.call(
            "Page.captureScreenshot",
            format="png",
            captureBeyondViewport=True,
            clip={"x": 0, "y": 0, "width": 1100, "height": height, "scale": 1},
        )
        events = list(page.events)
    problems = [
        e
        for e in events
        if e["method"] in ("Runtime.exceptionThrown", "Network.loadingFailed")
        or (
            e["method"] == "Runtime.consoleAPICalled"
            and e["params"]["type"] in ("error", "warning", "assert")
        )
        or (
            e["method"] == "Log.entryAdded"
            and e["params"]["entry"]["level"] in ("error", "warning")
        )
    ]
    assert problems == []
    requested = [
        e["params"]["request"]["url"]
        for e in events
        if e["method"] == "Network.requestWillBeSent"
    ]
    assert all(u == url or u.startswith("data:") for u in requested), requested
    assert found["title"] == "Anonymous conda usage: weekly totals"
    assert found["rows"] == 3  # weeks 2026-10-05, -12 and -26; -19 has a hole
    assert "one session" in found["headers"] and "several sessions" in found["headers"]
    assert [i["alt"] for i in found["images"]] == list(CHARTS.values())
    for image in found["images"]:
        assert image["decoded"] == "fulfilled" and image["complete"], image
        assert min(image["natural"]) > 0, image
        assert min(image["ink"]) > 1000, image  # drawn top to bottom
        assert min(image["shown"]) > 100, image
    assert all(min(size) > 0 for size in found["svgs"])
    screenshot = base64.b64decode(shot["data"])
    (tmp_path / "report.png").write_bytes(screenshot)
    assert png_size(screenshot) == (1100, height)
    assert height > 900 * 2  # the table and five charts, one under the other
    assert png_variety(screenshot) > 100


def test_report_of_no_complete_week(tmp_path: Path):
    from anaconda_anon_usage.stats import totals

    totals.write(totals.empty_table(), str(tmp_path), {"k": "5", "left_out": "x: y"})
    assert main(["report", "--totals", str(tmp_path)]) == 0
    assert "No complete week" in (tmp_path / "summary.md").read_text()
    page = (tmp_path / "report.html").read_text()
    assert "No complete week" in page and "<li>x: y</li>" in page
    assert not list(tmp_path.glob("*.png"))


def test_report_of_totals_without_session_classes(tmp_path: Path):
    """totals.db written before the two columns existed still makes a report."""
    import sqlite3

    connection = sqlite3.connect(tmp_path / "totals.db")
    with connection:
        connection.execute(
            "CREATE TABLE weekly (week TEXT, dimension TEXT, value TEXT, "
            "clients INTEGER, environments INTEGER, sessions INTEGER, hits INTEGER, "
            "untokenized_hits INTEGER, downloads INTEGER)"
        )
        connection.execute(
            "INSERT INTO weekly VALUES ('2026-10-05', 'all', '', 9, 9, 9, 9, 0, 9)"
        )
    connection.close()
    assert main(["report", "--totals", str(tmp_path)]) == 0
    assert "| 2026-10-05 | 9 |  |  | 9 |" in (tmp_path / "summary.md").read_text()


def test_report_errors_are_one_line(tmp_path: Path, capsys):
    (tmp_path / "totals.db").write_text("not a database")
    assert main(["report", "--totals", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("aau-stats: ") and "\n" not in err
    assert "is not a totals database" in err
    from anaconda_anon_usage.stats import totals

    totals.write(totals.empty_table(), str(tmp_path / "t"), {"k": "5"})
    out = tmp_path / "a" / "b"
    assert main(["report", "--totals", str(tmp_path / "t"), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("aau-stats: ") and "\n" not in err
    assert "does not exist" in err and not out.parent.exists()
