"""`report --html`: a picture of the week, checked in a real headless browser (Chromium from
the Debian packages; `.ci/run` installs it)."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pygit2
import pytest
from helpers import PY, Project, git, grow
from test_week_plus import configure

from cli.report import COLOURS
from ledger.actions.inspect import events_since
from ledger.context import Context
from ledger.store import NOTES_REF


def browser() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: .ci/run installs it (apt-get install chromium)")
        pytest.skip("no Chromium here (CI installs it)")
    return found


def chromium(page: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([browser(), "--headless", "--no-sandbox", "--disable-gpu",
                           "--hide-scrollbars", "--enable-logging=stderr", "--v=0",
                           f"--user-data-dir={page.parent / 'profile'}", *args,
                           page.as_uri()], capture_output=True, text=True, timeout=120)


def pixels(png: bytes) -> list[tuple[int, int, int]]:
    """The RGB pixels of an 8-bit RGB or RGBA PNG (what Chromium writes)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, data, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(png):
        size, kind = struct.unpack(">I4s", png[pos:pos + 8])
        body = png[pos + 8:pos + 8 + size]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            data += body
        pos += 12 + size
    raw, stride, out = zlib.decompress(data), width * channels, []
    previous = bytearray(stride)
    for row in range(height):
        start = row * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, corner = previous[i], previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                best = min((abs(p - left), 0, left), (abs(p - up), 1, up),
                           (abs(p - corner), 2, corner))[2]
                line[i] = (line[i] + best) & 255
        out += [tuple(line[i:i + 3]) for i in range(0, stride, channels)]
        previous = line
    return out  # type: ignore[return-value]


def test_the_week_in_a_real_browser(project: Project, tmp_path: Path) -> None:
    configure(project, "", 'duration = "3h"\n')
    for now, event in (("2026-11-23T10:00", "push"), ("2026-11-24T05:00", "cron"),
                       ("2026-11-24T23:00", "cron")):
        build, travis = project.travis_clone(event)
        assert project.cli(build, "record", "--now", now, **travis).returncode == 0
        assert project.cli(build, "run", "--now", now, "--", PY, "-c", "pass",
                           **travis).returncode == 0
    project.change("shop/migrations/0003_y.py")
    build, travis = project.travis_clone("push")
    assert project.cli(build, "record", "--now", "2026-11-25T11:00", **travis).returncode == 0
    page = tmp_path / "week.html"
    done = project.cli(build, "report", "--html", str(page), "--now", "2026-11-25T12:00",
                       **travis)
    assert (done.returncode, done.stdout) == (0, f"wrote {page}\n")
    text = page.read_text()
    # Self-contained: no script, nothing fetched (the SVG namespace is a name, not a request).
    assert not re.search(r"<script|\bsrc=|\bhref=|url\(|@import|<link", text)
    assert "forecast: Wed 25 Nov 22:00 CET (in 10h00m), when migrate needs ~3h00m " \
           "(configured) fits" in text

    loaded = chromium(page, "--dump-dom")
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    assert not [line for line in loaded.stderr.splitlines()
                if "CONSOLE" in line or "Uncaught" in line]  # no console messages, no errors
    dom = loaded.stdout
    outcomes = re.findall(r'<circle class="build" data-outcome="([a-z-]+)"', dom)
    assert outcomes == ["wait", "wait", "deploy-expensive", "wait"]
    assert len(re.findall(r'<rect class="deploy"', dom)) == 1
    assert re.findall(r'<rect class="pending" data-kind="([a-z]+)"', dom) == ["migrate"] * 2
    assert len(re.findall(r'<rect class="lease"', dom)) == 1
    assert len(re.findall(r'<rect class="busy"', dom)) == 5  # the five workdays
    assert len(re.findall(r'<line class="forecast"', dom)) == 1

    shot = tmp_path / "week.png"
    taken = chromium(page, "--window-size=1200,560", f"--screenshot={shot}")
    assert taken.returncode == 0 and shot.exists(), taken.stderr[-2000:]
    seen = set(pixels(shot.read_bytes()))
    assert len(seen) > 20  # not blank
    for name in ("wait", "deploy-expensive", "busy", "pending"):
        colour = tuple(int(COLOURS[name][i:i + 2], 16) for i in (1, 3, 5))
        assert colour in seen, name


def test_a_kind_named_like_a_row_has_its_own_row() -> None:
    from datetime import datetime, timedelta, timezone
    from zoneinfo import ZoneInfo

    from cli.report import html
    from ledger.week import Span, Week

    start = datetime(2026, 11, 22, 23, 0, tzinfo=timezone.utc)
    hour = timedelta(hours=1)
    week = Week(start, start + timedelta(days=7), (), (),
                (Span("pending", start, start + hour, "lease"),
                 Span("lease", start, start + hour, "lease by travis build 1")), "", None)
    page = html(week, ZoneInfo("Europe/Amsterdam"), "t")
    pending = re.search(r'<rect class="pending" data-kind="lease" x="[\d.]+" y="([\d.]+)"', page)
    lease = re.search(r'<rect class="lease" x="[\d.]+" y="([\d.]+)"', page)
    assert pending and lease and pending.group(1) != lease.group(1)


def _dated(work: Path, start: datetime, step: timedelta = timedelta(days=1)) -> None:
    # Our writer stamps notes commits with the real time: date them ``step`` apart from ``start``.
    repo = pygit2.Repository(str(work))
    commits = git(work, "rev-list", "--topo-order", "--reverse", NOTES_REF).split()
    new: dict[str, pygit2.Oid] = {}
    for day, commit in enumerate(commits):
        old = repo[commit]
        when = pygit2.Signature("deploy-ledger", "deploy-ledger@invalid",
                                int((start + day * step).timestamp()), 0)
        new[commit] = repo.create_commit(None, when, when, old.message, old.tree_id,
                                         [new[str(p)] for p in old.parent_ids])
    repo.references[NOTES_REF].set_target(new[commits[-1]])


def test_the_week_shows_what_was_added_in_it_when_the_ledger_is_older(baselined: Project,
                                                                      ) -> None:
    # Lines after the last notes commit before the week were judged from clock 0, as if nothing
    # came before them: every one was "beyond" its bound, and the week (the report, GitHub's
    # step summary) showed none of them once the ledger was older than the week.
    work = baselined.work
    for day in range(4):
        assert baselined.cli(work, "record", "--now", f"2026-11-{23 + day}T12:00",
                             "--no-push").returncode == 0
    _dated(work, datetime(2026, 11, 20, 12, tzinfo=timezone.utc))  # 6 commits: 20 to 25 Nov
    ctx = Context(work, env=baselined.env(), now="2026-11-27T12:00")
    lately = ctx.reader.recent(ctx.clock(), datetime(2026, 11, 23, tzinfo=timezone.utc))
    assert [(s.event.type if s.event else "", s.check.ok) for s in lately] == [
        ("build", True)] * 3
    assert [e.type for e in events_since(ctx, datetime(2026, 11, 23, tzinfo=timezone.utc))] == [
        "build"] * 3


def test_the_week_in_a_shallow_clone_whose_history_before_it_is_cut(baselined: Project,
                                                                    tmp_path: Path) -> None:
    # A CI clone holds the newest notes commits only. With no checkpoint between its shallow
    # boundary and the week's start, the highest clock there could not be read, and the week
    # showed nothing; now lines after it are judged from the most that clock can be.
    work = baselined.work
    grow(baselined, baselined.keys, 40)
    start = datetime(2026, 11, 20, tzinfo=timezone.utc)
    _dated(work, start, timedelta(hours=1))  # 42 notes commits an hour apart: no checkpoint
    assert baselined.cli(work, "record", "--now", "2026-11-27T12:00", "--no-push").returncode == 0
    assert "deploy-ledger-checkpoint:" in git(work, "log", "-1", "--format=%B", NOTES_REF)
    git(work, "push", "-q", "--force", "origin", NOTES_REF)
    ci = tmp_path / "ci"
    git(tmp_path, "clone", "-q", baselined.url, str(ci))
    git(ci, "fetch", "-q", "--depth=15", "origin", f"{NOTES_REF}:{NOTES_REF}")
    ctx = Context(ci, env=baselined.env(), now="2026-11-28T12:00")
    since = start + timedelta(hours=35)  # after the boundary, with no checkpoint between
    shown = events_since(ctx, since)
    assert [e.type for e in shown] == ["build"] * 7  # 36 to 41 hours, and the last record
