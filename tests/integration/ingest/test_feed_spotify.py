"""The Spotify source against a loopback fake of the Web API (real HTTP on 127.0.0.1)."""

from __future__ import annotations

import base64
import collections
import io
import json
import logging
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import headwater.cli
from headwater.cli import feed
from headwater.feed.spotify import RetryPolicy, SpotifyClient, SpotifyError, SpotifySource

pytestmark = pytest.mark.integration

CLIENT_ID = "feed-test-client"
CLIENT_SECRET = "s3cr3t-never-log-me"
PLAYLIST = "37i9dQZF1DXcBWIGoYBM5M"
PAGE_SIZE = 3


def fake_track(n: int) -> dict:
    return {
        "type": "track",
        "id": f"{n:022d}",
        "name": f"Song {n} (ünïcode) 東京",
        "artists": [{"name": "Mira Sol"}, {"name": f"Guest {n}"}],
        "album": {"name": f"Album {n // 3}", "release_date": "2019-05-03" if n % 2 else "1999"},
        "duration_ms": 180_000 + n,
        "popularity": n % 100,
        "explicit": n % 4 == 0,
    }


TRACKS = [fake_track(n) for n in range(1, 3 * PAGE_SIZE + 1)]


class FakeSpotify:
    """Token endpoint + playlist tracks in 3 pages; page 2 answers 429 once, page 3 503 once."""

    def __init__(self, revoke_first_token: bool = False, forbid: bool = False) -> None:
        self.counters: collections.Counter[str] = collections.Counter()
        self.issued: list[str] = []
        self.revoke_first_token = revoke_first_token
        self.forbid = forbid
        self.failures = {PAGE_SIZE: [(429, {"Retry-After": "0"})], 2 * PAGE_SIZE: [(503, {})]}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                fake.token(self)

            def do_GET(self):
                fake.api(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeSpotify:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    @staticmethod
    def reply(handler, status: int, body: object, headers: dict | None = None) -> None:
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)

    def token(self, handler) -> None:
        self.counters["token"] += 1
        length = int(handler.headers.get("Content-Length", 0))
        form = urllib.parse.parse_qs(handler.rfile.read(length).decode())
        basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if handler.path != "/api/token" or form != {"grant_type": ["client_credentials"]}:
            return self.reply(handler, 400, {"error": "invalid_request"})
        if handler.headers.get("Authorization") != f"Basic {basic}":
            self.counters["bad_credentials"] += 1
            return self.reply(
                handler, 400, {"error": "invalid_client", "error_description": "Invalid client"}
            )
        token = f"token-{len(self.issued) + 1}"
        self.issued.append(token)
        self.reply(
            handler, 200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600}
        )

    def api(self, handler) -> None:
        self.counters["api"] += 1
        url = urllib.parse.urlsplit(handler.path)
        valid = self.issued[1:] if self.revoke_first_token else self.issued
        if handler.headers.get("Authorization") not in {f"Bearer {t}" for t in valid}:
            self.counters["401"] += 1
            return self.reply(
                handler, 401, {"error": {"status": 401, "message": "The access token expired"}}
            )
        if self.forbid:
            return self.reply(handler, 403, {"error": {"status": 403, "message": "Forbidden."}})
        if url.path != f"/v1/playlists/{PLAYLIST}/tracks":
            return self.reply(handler, 404, {"error": {"status": 404, "message": "Not found."}})
        offset = int(urllib.parse.parse_qs(url.query).get("offset", ["0"])[0])
        pending = self.failures.get(offset)
        if pending:
            status, headers = pending.pop(0)
            self.counters[str(status)] += 1
            return self.reply(handler, status, {"error": {"status": status}}, headers)
        page = TRACKS[offset : offset + PAGE_SIZE]
        items = [{"added_at": "2026-01-01T00:00:00Z", "track": t} for t in page]
        if offset == 0:  # playlists hold podcast episodes and removed tracks too
            items.insert(1, {"track": None})
            items.insert(2, {"track": {"type": "episode", "id": "ep1", "name": "Pod"}})
        following = offset + PAGE_SIZE
        self.reply(
            handler,
            200,
            {
                "items": items,
                "limit": PAGE_SIZE,
                "offset": offset,
                "total": len(TRACKS),
                "next": (
                    f"{self.url}/v1/playlists/{PLAYLIST}/tracks?offset={following}&limit={PAGE_SIZE}"
                    if following < len(TRACKS)
                    else None
                ),
            },
        )


@pytest.fixture
def fake() -> Iterator[FakeSpotify]:
    with FakeSpotify() as server:
        yield server


@pytest.fixture
def log_text() -> Iterator[io.StringIO]:
    """Everything the feed logs, at every level (a handler of our own: robust to propagate)."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    logger = logging.getLogger("headwater.feed")
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield buffer
    logger.removeHandler(handler)
    logger.setLevel(previous)


def make_client(server: FakeSpotify, sleeps: list[float], secret: str = CLIENT_SECRET):
    return SpotifyClient(
        CLIENT_ID,
        secret,
        accounts_url=server.url,
        api_url=server.url,
        timeout=5,
        retry=RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05),
        sleep=sleeps.append,
    )


def test_all_tracks_arrive_in_order_through_429_and_503(fake, log_text):
    sleeps: list[float] = []
    client = make_client(fake, sleeps)
    tracks = list(client.playlist_tracks(PLAYLIST))
    assert [t["id"] for t in tracks] == [t["id"] for t in TRACKS]
    assert fake.counters["429"] == 1 and fake.counters["503"] == 1
    assert fake.counters["api"] == 3 + 2  # three pages plus two retried requests
    assert fake.counters["token"] == 1  # the token is reused across pages
    assert sleeps[0] == 0.0  # Retry-After: 0 honoured
    assert 0.005 <= sleeps[1] <= 0.01  # backoff with jitter within the first step
    logged = log_text.getvalue()
    assert "HTTP 429" in logged and "HTTP 503" in logged
    assert CLIENT_SECRET not in logged and "token-1" not in logged
    assert CLIENT_SECRET not in repr(client)


def test_source_writes_contract_shaped_json_array_files(fake):
    source = SpotifySource(make_client(fake, []), playlist=PLAYLIST, per_file=4)
    files = list(source.files())
    assert [f.expected.rows for f in files] == [4, 4, 1]
    assert all(f.key.startswith("tracks/") and f.key.endswith(".json") for f in files)
    rows = [row for f in files for row in json.loads(f.body)]
    assert [r["track_id"] for r in rows] == [t["id"] for t in TRACKS]
    first = rows[0]
    assert first == {
        "track_id": TRACKS[0]["id"],
        "name": "Song 1 (ünïcode) 東京",
        "artists": "Mira Sol, Guest 1",
        "album": "Album 0",
        "release_date": "2019-05-03",
        "duration_ms": 180_001,
        "popularity": 1,
        "explicit": False,
    }
    assert list(first) == source.contract.names


def test_max_tracks_bounds_the_pull(fake):
    source = SpotifySource(make_client(fake, []), playlist=PLAYLIST, per_file=10, max_tracks=2)
    [only] = list(source.files())
    assert only.expected.rows == 2
    assert fake.counters["api"] == 1  # stopped before fetching page 2


def test_expired_token_is_refreshed_once():
    with FakeSpotify(revoke_first_token=True) as server:
        tracks = list(make_client(server, []).playlist_tracks(PLAYLIST))
        assert len(tracks) == len(TRACKS)
        assert server.counters["token"] == 2 and server.counters["401"] == 1


def test_forbidden_is_a_clear_error_without_retries():
    with FakeSpotify(forbid=True) as server:
        with pytest.raises(SpotifyError, match=r"HTTP 403 Forbidden\.") as info:
            list(make_client(server, []).playlist_tracks(PLAYLIST))
        assert server.counters["api"] == 1
        assert CLIENT_SECRET not in str(info.value)


def test_wrong_credentials_fail_with_a_hint(fake, log_text):
    with pytest.raises(SpotifyError, match="SPOTIFY_CLIENT_SECRET") as info:
        list(make_client(fake, [], secret="wrong-secret").playlist_tracks(PLAYLIST))
    assert fake.counters["bad_credentials"] == 1
    assert "wrong-secret" not in str(info.value) + log_text.getvalue()


def test_persistent_5xx_gives_up_after_the_bounded_attempts(fake):
    fake.failures[0] = [(500, {})] * 10
    sleeps: list[float] = []
    with pytest.raises(SpotifyError, match="still HTTP 500 after 4 attempts"):
        list(make_client(fake, sleeps).playlist_tracks(PLAYLIST))
    assert fake.counters["500"] == 4 and len(sleeps) == 3


def test_long_retry_after_fails_fast(fake):
    fake.failures[0] = [(429, {"Retry-After": "3600"})]
    with pytest.raises(SpotifyError, match="rate limited by Spotify for 3600s"):
        list(make_client(fake, []).playlist_tracks(PLAYLIST))


def test_next_links_to_other_hosts_are_refused(fake):
    client = make_client(fake, [])
    with pytest.raises(SpotifyError, match="refusing to follow"):
        client.get("http://evil.example/v1/steal")
    assert fake.counters["api"] == 0


def test_cli_feeds_spotify_tracks_without_leaking_the_secret(fake, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("SPOTIFY_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("SPOTIFY_CLIENT_SECRET", CLIENT_SECRET)
    out = tmp_path / "out"
    code = headwater.cli.main(
        commands=(feed,),
        argv=[
            "feed",
            "--source",
            "spotify",
            "--playlist",
            PLAYLIST,
            "--rows",
            "5",
            "--dry-run",
            "--out",
            str(out),
            "--spotify-accounts-url",
            fake.url,
            "--spotify-api-url",
            fake.url,
        ],
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    manifest = (out / "manifest.json").read_text(encoding="utf-8")
    assert [f["rows"] for f in json.loads(manifest)["files"]] == [5, 4]
    assert "HTTP 429" in captured.err  # retries are visible to the user...
    for text in (captured.out, captured.err, manifest):
        assert CLIENT_SECRET not in text and "token-1" not in text  # ...credentials are not


def test_cli_api_refusal_is_a_one_line_error(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("SPOTIFY_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("SPOTIFY_CLIENT_SECRET", CLIENT_SECRET)
    with FakeSpotify(forbid=True) as server:
        code = headwater.cli.main(
            commands=(feed,),
            argv=[
                "feed",
                "--source",
                "spotify",
                "--query",
                "year:2024",
                "--dry-run",
                "--quiet",
                "--out",
                str(tmp_path),
                "--spotify-accounts-url",
                server.url,
                "--spotify-api-url",
                server.url,
            ],
        )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert err == [
        "headwater: error: source 'spotify' failed: GET /v1/search failed: HTTP 403 Forbidden."
    ]


@pytest.mark.parametrize(
    "url",
    ["http://accounts.example.com", "http://10.0.0.5:8080", "ftp://127.0.0.1", "file:///etc"],
)
def test_credentials_never_go_over_plain_http_off_this_machine(url):
    # The client secret (accounts) and the bearer token (API) would cross the network in clear.
    for urls in ({"accounts_url": url}, {"api_url": url}):
        with pytest.raises(SpotifyError, match="only sent over https"):
            SpotifyClient("id", "secret", **urls)


@pytest.mark.parametrize(
    "url", ["https://accounts.example.com", "http://127.0.0.1:9", "http://localhost:9"]
)
def test_https_and_loopback_urls_are_accepted(url):
    SpotifyClient("id", "secret", accounts_url=url, api_url=url)
