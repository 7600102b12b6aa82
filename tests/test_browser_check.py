"""The headless-browser check itself, on hand-made pages with known faults."""

from __future__ import annotations

import base64
import struct
import zlib

import pytest

from .browser import (
    assert_renders_offline,
    check_offline_render,
    page_requests,
    require_chromium,
)

pytestmark = pytest.mark.browser

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def tiny_png(width: int = 24, height: int = 12) -> bytes:
    """A valid RGB PNG, built with the standard library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    rows = b"".join(b"\x00" + b"\x2f\x55\x97" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        PNG_MAGIC
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def page(body: str) -> str:
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>t</title>"
        "<style>body{font-family:sans-serif;margin:2em}</style></head>"
        f"<body><h1>Report</h1>{body}</body></html>"
    )


def data_uri(raw: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(raw).decode()


def test_self_contained_page_passes(tmp_path):
    chromium = require_chromium()  # skips, or fails when SOCFLOW_REQUIRE_BROWSER=1
    html = tmp_path / "good.html"
    html.write_text(page(f'<p>Figure:</p><img alt="fig" src="{data_uri(tiny_png())}">'))
    result = check_offline_render(html, tmp_path / "good.png", chromium=chromium)
    assert result["ok"], result
    assert result["external_requests"] == []
    assert [(i["loaded"], i["width"], i["height"]) for i in result["images"]] == [(True, 24, 12)]
    shot = (tmp_path / "good.png").read_bytes()
    assert shot.startswith(PNG_MAGIC) and result["screenshot_bytes"] == len(shot) > 0
    assert "<script" not in html.read_text()  # the report is never touched


def test_remote_image_is_caught_as_request_and_as_not_loaded(tmp_path):
    chromium = require_chromium()
    html = tmp_path / "remote.html"
    html.write_text(
        page(f'<img src="{data_uri(tiny_png())}"><img src="http://example.invalid/x.png">')
    )
    result = check_offline_render(html, tmp_path / "remote.png", chromium=chromium)
    assert not result["ok"]
    assert "http://example.invalid/x.png" in result["external_requests"]
    assert [i["src"] for i in result["images_not_loaded"]] == ["http://example.invalid/x.png"]
    assert result["images"][0]["loaded"] is True
    assert (tmp_path / "remote.png").stat().st_size > 0


def test_remote_stylesheet_is_caught(tmp_path):
    chromium = require_chromium()
    html = tmp_path / "css.html"
    html.write_text(
        page("<p>x</p>").replace(
            "</head>", '<link rel="stylesheet" href="https://example.invalid/a.css"></head>'
        )
    )
    result = check_offline_render(html, tmp_path / "css.png", chromium=chromium)
    assert result["external_requests"] == ["https://example.invalid/a.css"]
    assert not result["ok"]


def test_corrupt_data_image_is_caught_as_not_loaded(tmp_path):
    chromium = require_chromium()
    corrupt = tiny_png()[:40] + b"\x00" * 20  # header intact, image data broken
    html = tmp_path / "corrupt.html"
    html.write_text(page(f'<img alt="broken" src="{data_uri(corrupt)}">'))
    result = check_offline_render(html, tmp_path / "corrupt.png", chromium=chromium)
    assert not result["ok"]
    assert result["external_requests"] == []
    assert len(result["images_not_loaded"]) == 1
    assert result["images_not_loaded"][0]["src"].startswith("data:image/png;base64,")


def test_missing_relative_image_is_caught(tmp_path):
    chromium = require_chromium()
    (tmp_path / "here.png").write_bytes(tiny_png())
    html = tmp_path / "relative.html"
    html.write_text(page('<img src="here.png"><img src="figures/missing.png">'))
    result = check_offline_render(html, tmp_path / "relative.png", chromium=chromium)
    assert [i["loaded"] for i in result["images"]] == [True, False]
    assert result["external_requests"] == []


def test_assert_helper_reports_the_fault(tmp_path):
    require_chromium()
    good = tmp_path / "good.html"
    good.write_text(page(f'<img src="{data_uri(tiny_png())}">'))
    assert assert_renders_offline(good, tmp_path / "good.png")["ok"]
    bad = tmp_path / "bad.html"
    bad.write_text(page('<img src="http://example.invalid/x.png">'))
    with pytest.raises(AssertionError, match=r"example\.invalid"):
        assert_renders_offline(bad, tmp_path / "bad.png")


def test_page_requests_separates_chromium_own_traffic():
    log = {
        "constants": {
            "logSourceType": {"URL_REQUEST": 1},
            "logEventTypes": {"REQUEST_ALIVE": 3, "URL_REQUEST_START_JOB": 7},
        },
        "events": [],
    }
    for sid, url, initiator in [
        (1, "http://example.invalid/x.png", "null"),
        (2, "https://clients2.google.com/time", "not an origin"),
        (3, "chrome://version/", "null"),
        (4, "file:///tmp/a.png", "null"),
        (5, "https://unstarted.example/", None),
    ]:
        params = {"url": url}
        if initiator is not None:
            params["initiator"] = initiator
        log["events"].append(
            {"source": {"id": sid, "type": 1}, "type": 7 if initiator else 3, "params": params}
        )
    page_urls, own = page_requests(log)
    assert page_urls == ["http://example.invalid/x.png"]
    assert own == ["https://clients2.google.com/time", "https://unstarted.example/"]


def test_tall_page_is_shot_whole_at_reduced_scale(tmp_path):
    chromium = require_chromium()
    html = tmp_path / "tall.html"
    html.write_text(page('<div style="height:24000px">long</div><p>end</p>'))
    result = check_offline_render(html, tmp_path / "tall.png", chromium=chromium)
    assert result["ok"] and result["page_height"] > 24000
    assert result["screenshot_scale"] < 1
    height = struct.unpack(">I", (tmp_path / "tall.png").read_bytes()[20:24])[0]
    assert 15000 < height <= 16384


@pytest.mark.browser
def test_broken_anchors_and_wide_figures_are_caught(tmp_path):
    require_chromium()
    body = (
        '<h2 id="here">Here</h2><a href="#here">ok</a><a href="#nowhere">broken</a>'
        f'<figure><img alt="wide" style="width:3000px" src="{data_uri(tiny_png())}"></figure>'
    )
    html = tmp_path / "page.html"
    html.write_text(page(body))
    result = check_offline_render(html, tmp_path / "page.png")
    assert result["anchors"] == 2
    assert result["broken_anchors"] == ["nowhere"]
    assert any(w.startswith("img wide") for w in result["wider_than_page"])
