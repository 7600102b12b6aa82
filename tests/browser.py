"""Headless-Chromium check that a self-contained HTML report renders offline.

`check_offline_render(html, screenshot)` loads the page in Debian's Chromium (no Playwright or
Selenium) and reports (a) a screenshot, (b) every request the page made whose scheme is not
file: or data: (from Chromium's net log), (c) whether every <img> loaded. For (c) it loads a
temporary copy of the page with a small test-only script appended that writes each image's
`complete && naturalWidth > 0` into the DOM, read back with --dump-dom; the report itself is
never changed and carries no script.

In tests, call `require_chromium()` first (or use `assert_renders_offline`): it skips when
Chromium is missing, and fails instead when SOCFLOW_REQUIRE_BROWSER=1 (as `make test` sets).
"""

from __future__ import annotations

import html as html_lib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

REQUIRE_ENV = "SOCFLOW_REQUIRE_BROWSER"
CHROMIUM_ENV = "SOCFLOW_CHROMIUM"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
WIDTH = 1280
MAX_HEIGHT = 16000  # Chromium's largest software-compositing surface is 16384 px
PROBE_HEIGHT = 2000
LOCAL_SCHEMES = {"file", "data", "blob", "about"}
INTERNAL_SCHEMES = {"chrome", "chrome-extension", "chrome-untrusted", "devtools", "chrome-search"}
CHECK_ID = "socflow-image-check"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--mute-audio",
    # Nothing may leave the machine: every proxied request goes to a closed local port. The
    # net log still records each request's URL, which is what the check reads.
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
]

# Appended to the temporary copy only. Runs after the load event, when every image has either
# loaded or failed, and writes the result (and the page height) into a <pre> for --dump-dom.
IMAGE_CHECK_SCRIPT = f"""
<script>
(function () {{
  function check() {{
    var out = [];
    var imgs = document.images;
    for (var i = 0; i < imgs.length; i++) {{
      var im = imgs[i];
      out.push({{index: i, src: im.getAttribute("src") || "",
                 loaded: !!(im.complete && im.naturalWidth > 0),
                 width: im.naturalWidth, height: im.naturalHeight}});
    }}
    var broken = [];
    var links = document.querySelectorAll('a[href^="#"]');
    for (var j = 0; j < links.length; j++) {{
      var id = decodeURIComponent(links[j].getAttribute("href").slice(1));
      if (!document.getElementById(id)) {{ broken.push(id); }}
    }}
    var vw = document.documentElement.clientWidth;
    var wide = [];
    var boxes = document.querySelectorAll("img, figure, nav, table.headline");
    for (var k = 0; k < boxes.length; k++) {{
      var r = boxes[k].getBoundingClientRect();
      if (r.right > vw + 1) {{
        var what = boxes[k].getAttribute("alt") || (boxes[k].textContent || "").slice(0, 60);
        wide.push(boxes[k].tagName.toLowerCase() + " " + what + " (" +
          Math.round(r.right) + " > " + vw + ")");
      }}
    }}
    var pre = document.createElement("pre");
    pre.id = "{CHECK_ID}";
    pre.textContent = JSON.stringify({{images: out, viewport: window.innerHeight,
      height: Math.max(document.documentElement.scrollHeight, document.body.scrollHeight),
      anchors: links.length, broken_anchors: broken, wide: wide,
      page_width: document.documentElement.scrollWidth, viewport_width: vw}});
    document.body.appendChild(pre);
  }}
  if (document.readyState === "complete") {{ check(); }}
  else {{ window.addEventListener("load", check); }}
}})();
</script>
"""


class BrowserError(RuntimeError):
    """Chromium could not be run, or did not produce what was asked."""


def find_chromium() -> str | None:
    """Chromium's path: $SOCFLOW_CHROMIUM, /usr/bin/chromium, or one on PATH."""
    given = os.environ.get(CHROMIUM_ENV)
    if given:
        return given if os.access(given, os.X_OK) else None
    if os.access(DEFAULT_CHROMIUM, os.X_OK):
        return DEFAULT_CHROMIUM
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    return None


def browser_required() -> bool:
    return os.environ.get(REQUIRE_ENV, "").strip().lower() in {"1", "true", "yes"}


def require_chromium() -> str:
    """Chromium's path; otherwise skip the test, or fail it when SOCFLOW_REQUIRE_BROWSER=1."""
    chromium = find_chromium()
    if chromium is None:
        reason = (
            f"headless Chromium not found ({DEFAULT_CHROMIUM} or ${CHROMIUM_ENV}); "
            "install it with `apt-get install -y chromium` or run `make test`"
        )
        if browser_required():
            pytest.fail(f"{REQUIRE_ENV}=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    return chromium


def _run(cmd: list[str], timeout: float) -> subprocess.CompletedProcess:
    """Run Chromium in its own process group, and end that group on timeout or afterwards."""
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        _kill_group(proc.pid)
        proc.communicate()
        raise BrowserError(f"Chromium timed out after {timeout}s: {' '.join(cmd)}") from exc
    finally:
        _kill_group(proc.pid)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _load_net_log(path: Path) -> dict[str, Any]:
    """The net log, also when Chromium stopped before closing its JSON."""
    if not path.exists():
        raise BrowserError(f"Chromium wrote no net log at {path}")
    text = path.read_text(errors="replace")
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return json.loads(text.rstrip().rstrip(",") + "]}")


def page_requests(net_log: dict[str, Any]) -> tuple[list[str], list[str]]:
    """URLs of URL requests in a net log: (made by the page, made by Chromium itself).

    A request the page makes carries the page's initiator (a file: page has the opaque origin
    "null"); Chromium's own background requests (time sync, sign-in, etc.) have none ("not an
    origin"). Requests never started (no initiator logged) count as Chromium's own.
    """
    constants = net_log.get("constants", {})
    url_request = constants.get("logSourceType", {}).get("URL_REQUEST")
    start_job = constants.get("logEventTypes", {}).get("URL_REQUEST_START_JOB")
    urls: dict[int, str] = {}
    initiator: dict[int, str] = {}
    for event in net_log.get("events", []):
        source = event.get("source", {})
        if source.get("type") != url_request:
            continue
        params = event.get("params") or {}
        sid = source.get("id")
        if "url" in params:
            urls.setdefault(sid, params["url"])
        if event.get("type") == start_job and "initiator" in params:
            initiator.setdefault(sid, params["initiator"])
    page, browser = set(), set()
    for sid, url in urls.items():
        scheme = urlsplit(url).scheme.lower()
        if scheme in LOCAL_SCHEMES or scheme in INTERNAL_SCHEMES:
            continue
        by_page = initiator.get(sid, "not an origin") != "not an origin"
        (page if by_page else browser).add(url)
    return sorted(page), sorted(browser)


def _with_image_check(html_text: str, base_dir: Path) -> str:
    """The page with a <base> (so relative paths resolve as in the original) and the script."""
    base = f'<base href="{html_lib.escape(base_dir.resolve().as_uri())}/">'
    head = re.search(r"<head\b[^>]*>", html_text, flags=re.IGNORECASE)
    if head and not re.search(r"<base\b", html_text, flags=re.IGNORECASE):
        html_text = html_text[: head.end()] + base + html_text[head.end() :]
    body_end = html_text.lower().rfind("</body>")
    if body_end == -1:
        return html_text + IMAGE_CHECK_SCRIPT
    return html_text[:body_end] + IMAGE_CHECK_SCRIPT + html_text[body_end:]


def _short(src: str, limit: int = 80) -> str:
    return src if len(src) <= limit else src[:limit] + f"... ({len(src)} chars)"


def check_offline_render(
    html_path: str | Path,
    screenshot_path: str | Path,
    chromium: str | None = None,
    width: int = WIDTH,
    timeout: float = 120,
) -> dict[str, Any]:
    """Render the page headless and say whether it is self-contained.

    Returns a dict: `ok` (no external request, every image loaded, screenshot written),
    `external_requests` (URLs the page asked for over the network), `images` (index, src,
    loaded, natural size), `images_not_loaded`, `screenshot` and `screenshot_bytes`,
    `page_height`, `screenshot_scale` (below 1 when the page was too tall to shoot at full
    size), and `browser_requests` (Chromium's own background requests, ignored).
    """
    chromium = chromium or find_chromium()
    if chromium is None:
        raise BrowserError(f"headless Chromium not found ({DEFAULT_CHROMIUM})")
    html_path = Path(html_path).resolve()
    screenshot_path = Path(screenshot_path).resolve()
    screenshot_path.parent.mkdir(parents=True, exist_ok=True)
    external: set[str] = set()
    background: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="socflow_browser_") as tmp:
        tmp_dir = Path(tmp)

        def chromium_cmd(name: str, height: int, *args: str) -> list[str]:
            return [
                chromium, *FLAGS,
                f"--user-data-dir={tmp_dir / ('profile_' + name)}",
                f"--log-net-log={tmp_dir / (name + '.netlog.json')}",
                f"--window-size={width},{height}",
                *args,
            ]  # fmt: skip

        def collect(name: str) -> None:
            page, own = page_requests(_load_net_log(tmp_dir / f"{name}.netlog.json"))
            external.update(page)
            background.update(own)

        # (c) images, and the page's height, from a copy carrying the check script
        copy = tmp_dir / "page_with_image_check.html"
        copy.write_text(_with_image_check(html_path.read_text(errors="replace"), html_path.parent))
        proc = _run(chromium_cmd("images", PROBE_HEIGHT, "--dump-dom", copy.as_uri()), timeout)
        found = re.search(rf'<pre id="{CHECK_ID}">(.*?)</pre>', proc.stdout, flags=re.DOTALL)
        if found is None:
            raise BrowserError(
                f"the image check did not run (Chromium exit {proc.returncode}): "
                f"{proc.stderr[-1500:]}"
            )
        checked = json.loads(html_lib.unescape(found.group(1)))
        collect("images")

        # (a) the screenshot and (b) the requests, from the report itself. The window is the
        # page's height plus the window's own frame; a page taller than Chromium can capture is
        # shot whole at a reduced device scale.
        frame = max(0, PROBE_HEIGHT - int(checked.get("viewport") or PROBE_HEIGHT))
        height = max(600, int(checked.get("height") or 0) + frame + 40)
        scale = 1.0
        if height > MAX_HEIGHT:
            height = int(height * 1.03)  # layout grows a little when scaled down
            scale = MAX_HEIGHT / height
        if screenshot_path.exists():
            screenshot_path.unlink()
        proc = _run(
            chromium_cmd(
                "shot",
                height,
                f"--force-device-scale-factor={scale:.4f}",
                f"--screenshot={screenshot_path}",
                html_path.as_uri(),
            ),
            timeout,
        )
        if not screenshot_path.exists() or screenshot_path.stat().st_size == 0:
            raise BrowserError(
                f"Chromium wrote no screenshot (exit {proc.returncode}): {proc.stderr[-1500:]}"
            )
        collect("shot")

    images = [
        {**img, "src": _short(img["src"])} for img in checked.get("images", [])
    ]  # data: URIs are long; keep the start only
    not_loaded = [img for img in images if not img["loaded"]]
    shot_bytes = screenshot_path.stat().st_size
    wide = list(checked.get("wide", []))
    if (checked.get("page_width") or 0) > (checked.get("viewport_width") or 0) + 1:
        wide.append(f"the page scrolls sideways ({checked['page_width']} px wide)")
    return {
        "ok": not external and not not_loaded and shot_bytes > 0,
        "anchors": checked.get("anchors", 0),
        "broken_anchors": checked.get("broken_anchors", []),
        "wider_than_page": wide,
        "external_requests": sorted(external),
        "images": images,
        "images_not_loaded": not_loaded,
        "screenshot": str(screenshot_path),
        "screenshot_bytes": shot_bytes,
        "page_height": checked.get("height"),
        "screenshot_scale": round(scale, 4),
        "browser_requests": sorted(background),
    }


def assert_renders_offline(html_path: str | Path, screenshot_path: str | Path) -> dict[str, Any]:
    """For tests: skip/fail as `require_chromium`, then assert the page renders offline."""
    chromium = require_chromium()
    result = check_offline_render(html_path, screenshot_path, chromium=chromium)
    problems = []
    if result["external_requests"]:
        problems.append(f"requests over the network: {result['external_requests']}")
    if result["images_not_loaded"]:
        problems.append(f"images not loaded: {result['images_not_loaded']}")
    assert result["ok"], f"{html_path} does not render offline: " + "; ".join(problems)
    return result
