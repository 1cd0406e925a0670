"""Spotify Web API source: real tracks over HTTP, written as JSON array files for ``tracks``.

Stdlib only (urllib), so the feeder needs no HTTP dependency. Authentication is the client
credentials flow; the client secret and the access token are never logged, written or put into
exception messages.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import random
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import Message
from typing import Any

from headwater.feed.contracts import Contract, load_contracts
from headwater.feed.encode import encode
from headwater.feed.model import Expected, FeedFile

log = logging.getLogger(__name__)

DEFAULT_ACCOUNTS_URL = "https://accounts.spotify.com"
DEFAULT_API_URL = "https://api.spotify.com"
TRACK_COLUMNS = (
    "track_id",
    "name",
    "artists",
    "album",
    "release_date",
    "duration_ms",
    "popularity",
    "explicit",
)


class SpotifyError(Exception):
    """The Spotify API refused or kept failing; the message is safe to show (no secrets)."""


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries: exponential backoff with jitter on 5xx and network errors, Retry-After
    on 429. A Retry-After longer than ``max_retry_after`` fails fast instead of hanging a run."""

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 20.0
    max_retry_after: float = 120.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        # "Equal jitter": always wait at least half the step so retries really spread out.
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


@dataclass
class _Response:
    status: int
    headers: Message
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError as exc:
            raise SpotifyError(
                f"Spotify answered {self.status} with a body that is not JSON"
            ) from exc


def _error_detail(response: _Response) -> str:
    """Spotify's error text: {"error": {"status", "message"}} or {"error", "error_description"}."""
    try:
        data = json.loads(response.body)
    except ValueError:
        return ""
    if not isinstance(data, dict):
        return ""
    error = data.get("error")
    if isinstance(error, dict):
        return str(error.get("message", ""))
    return str(data.get("error_description") or error or "")


def _http_request(url: str, **kwargs: Any) -> urllib.request.Request:
    # Only http(s) URLs reach here: the base URLs are checked in SpotifyClient.__init__ and every
    # API URL must start with the API base URL (see SpotifyClient.get).
    return urllib.request.Request(url, **kwargs)  # noqa: S310


LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def _check_credential_url(url: str) -> None:
    """Both URLs carry credentials (the client secret, then a bearer token): HTTPS only, except
    on this machine's loopback interface (a local fake of the API for tests)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return
    raise SpotifyError(
        f"refusing {url!r}: credentials are only sent over https (plain http only to localhost)"
    )


class SpotifyClient:
    def __init__(
        self,
        client_id: str,
        client_secret: str,
        accounts_url: str = DEFAULT_ACCOUNTS_URL,
        api_url: str = DEFAULT_API_URL,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if not client_id or not client_secret:
            raise SpotifyError("Spotify client id and client secret are both required")
        for url in (accounts_url, api_url):
            _check_credential_url(url)
        self._client_id = client_id
        self._client_secret = client_secret
        self.accounts_url = accounts_url.rstrip("/")
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not a secret
        self._token: str | None = None
        self._token_expires = 0.0

    def __repr__(self) -> str:  # keep credentials out of tracebacks and debuggers' reprs
        return f"SpotifyClient(api_url={self.api_url!r}, client_id=<redacted>)"

    # -- transport ---------------------------------------------------------------------------
    def _send(self, request: urllib.request.Request) -> _Response:
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as reply:  # noqa: S310 - scheme checked in __init__
                return _Response(reply.status, reply.headers, reply.read())
        except urllib.error.HTTPError as exc:
            with exc:
                return _Response(exc.code, exc.headers, exc.read())

    def _request(self, what: str, build: Callable[[], urllib.request.Request]) -> _Response:
        """Send with bounded retries; returns the first non-retryable response."""
        attempts = self.retry.max_attempts
        for attempt in range(1, attempts + 1):
            try:
                response = self._send(build())
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                reason = getattr(exc, "reason", exc)
                if attempt == attempts:
                    raise SpotifyError(
                        f"{what}: no answer after {attempts} attempts ({reason})"
                    ) from None
                delay = self.retry.backoff(attempt, self.rng)
                log.warning(
                    "%s: %s; retry %d/%d in %.2fs", what, reason, attempt, attempts - 1, delay
                )
                self.sleep(delay)
                continue
            if response.status != 429 and response.status < 500:
                return response
            if attempt == attempts:
                raise SpotifyError(
                    f"{what}: still HTTP {response.status} after {attempts} attempts"
                )
            delay = self._retry_delay(what, response, attempt)
            log.warning(
                "%s: HTTP %d; retry %d/%d in %.2fs",
                what,
                response.status,
                attempt,
                attempts - 1,
                delay,
            )
            self.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _retry_delay(self, what: str, response: _Response, attempt: int) -> float:
        retry_after = response.headers.get("Retry-After") if response.status == 429 else None
        if retry_after is None:
            return self.retry.backoff(attempt, self.rng)
        try:
            seconds = max(0.0, float(retry_after))
        except ValueError:
            return self.retry.backoff(attempt, self.rng)
        if seconds > self.retry.max_retry_after:
            raise SpotifyError(
                f"{what}: rate limited by Spotify for {seconds:.0f}s; try again later"
            )
        return seconds

    # -- authentication ----------------------------------------------------------------------
    def token(self) -> str:
        if self._token and time.monotonic() < self._token_expires:
            return self._token
        basic = base64.b64encode(f"{self._client_id}:{self._client_secret}".encode()).decode()
        body = urllib.parse.urlencode({"grant_type": "client_credentials"}).encode()

        def build() -> urllib.request.Request:
            return _http_request(
                f"{self.accounts_url}/api/token",
                data=body,
                method="POST",
                headers={
                    "Authorization": f"Basic {basic}",
                    "Content-Type": "application/x-www-form-urlencoded",
                },
            )

        response = self._request("Spotify token request", build)
        if response.status != 200:
            detail = _error_detail(response)
            hint = (
                " (check SPOTIFY_CLIENT_ID / SPOTIFY_CLIENT_SECRET)"
                if response.status in {400, 401}
                else ""
            )
            raise SpotifyError(
                f"Spotify token request failed: HTTP {response.status} {detail}".rstrip() + hint
            )
        data = response.json()
        token = data.get("access_token") if isinstance(data, dict) else None
        if not token:
            raise SpotifyError("Spotify token response has no access_token")
        # Renew a minute early so a long pagination does not run into an expired token.
        self._token = str(token)
        self._token_expires = time.monotonic() + max(0, int(data.get("expires_in", 3600)) - 60)
        return self._token

    # -- API calls ---------------------------------------------------------------------------
    def get(self, url: str) -> Any:
        """GET an API URL (absolute under ``api_url``, or a path) and return its JSON."""
        if url.startswith("/"):
            url = self.api_url + url
        # The bearer token goes only to the configured API host, whatever a `next` link says.
        if not url.startswith(self.api_url + "/"):
            raise SpotifyError(f"refusing to follow a link outside {self.api_url}: {url}")
        what = f"GET {urllib.parse.urlsplit(url).path}"
        refreshed = False
        while True:
            token = self.token()

            def build(token: str = token) -> urllib.request.Request:
                return _http_request(url, headers={"Authorization": f"Bearer {token}"})

            response = self._request(what, build)
            if response.status == 401 and not refreshed:
                # Tokens expire (or get revoked) mid-run: fetch a new one once, then give up.
                log.info("%s: HTTP 401, refreshing the access token", what)
                self._token = None
                refreshed = True
                continue
            if response.status != 200:
                detail = _error_detail(response)
                raise SpotifyError(f"{what} failed: HTTP {response.status} {detail}".rstrip())
            return response.json()

    def paginate(self, url: str, page_of: Callable[[Any], dict]) -> Iterator[dict]:
        """Items of every page, following ``next`` links; ``page_of`` finds the paging object."""
        next_url: str | None = url
        while next_url:
            page = page_of(self.get(next_url))
            yield from page.get("items") or []
            next_url = page.get("next")

    def playlist_tracks(self, playlist_id: str, market: str | None = None) -> Iterator[dict]:
        params = {"limit": "100", "additional_types": "track"}
        if market:
            params["market"] = market
        path = f"/v1/playlists/{urllib.parse.quote(playlist_id, safe='')}/tracks"
        for item in self.paginate(f"{path}?{urllib.parse.urlencode(params)}", lambda page: page):
            track = item.get("track") if isinstance(item, dict) else None
            # Playlists also hold podcast episodes and removed tracks (null); keep only tracks.
            if isinstance(track, dict) and track.get("type", "track") == "track":
                yield track

    def search_tracks(
        self, query: str, market: str | None = None, limit: int = 50
    ) -> Iterator[dict]:
        params = {"type": "track", "q": query, "limit": str(limit)}
        if market:
            params["market"] = market
        url = f"/v1/search?{urllib.parse.urlencode(params)}"
        yield from self.paginate(url, lambda data: data.get("tracks") or {})


def track_row(track: dict) -> dict | None:
    """Map a Spotify track object to the tracks contract; None for items that are not tracks
    (podcast episodes, local files without an id) or lack a required value."""
    if track.get("type", "track") != "track" or not track.get("id"):
        return None
    album = track.get("album") or {}
    row = {
        "track_id": track["id"],
        "name": track.get("name"),
        "artists": ", ".join(a.get("name", "") for a in track.get("artists") or []),
        "album": album.get("name"),
        "release_date": album.get("release_date") or None,
        "duration_ms": track.get("duration_ms"),
        "popularity": track.get("popularity"),
        "explicit": bool(track.get("explicit", False)),
    }
    required = ("track_id", "name", "album", "duration_ms")
    if any(row[c] is None for c in required) or not row["artists"]:
        return None
    return row


class SpotifySource:
    """Tracks of a playlist or of a search, as ``tracks/<day>/spotify-<what>-NNNN.json`` files."""

    name = "spotify"

    def __init__(
        self,
        client: SpotifyClient,
        playlist: str | None = None,
        query: str | None = None,
        per_file: int = 100,
        max_tracks: int | None = None,
        market: str | None = None,
        day: dt.date | None = None,
        contract: Contract | None = None,
    ) -> None:
        if bool(playlist) == bool(query):
            raise SpotifyError("give exactly one of a playlist id or a search query")
        if per_file < 1:
            raise SpotifyError("tracks per file must be >= 1")
        self.client = client
        self.playlist = playlist
        self.query = query
        self.per_file = per_file
        self.max_tracks = max_tracks
        self.market = market
        self.day = day or dt.datetime.now(dt.UTC).date()
        self.contract = contract or load_contracts()["tracks"]
        unknown = set(self.contract.names) - set(TRACK_COLUMNS)
        if unknown:
            raise SpotifyError(
                f"the tracks contract has columns Spotify cannot fill: {sorted(unknown)}"
            )

    @property
    def total(self) -> int | None:
        return None  # known only once every page has been read

    def rows(self) -> Iterator[dict]:
        tracks = (
            self.client.playlist_tracks(self.playlist, self.market)
            if self.playlist
            else self.client.search_tracks(self.query or "", self.market)
        )
        seen: set[str] = set()
        for track in tracks:
            row = track_row(track)
            # A playlist may hold the same track twice; the contract's primary key forbids that.
            if row is None or row["track_id"] in seen:
                continue
            seen.add(row["track_id"])
            yield row
            if self.max_tracks and len(seen) >= self.max_tracks:
                return

    def files(self) -> Iterator[FeedFile]:
        what = self.playlist or self.query or ""
        slug = re.sub(r"[^A-Za-z0-9]+", "-", what).strip("-").lower()[:40] or "tracks"
        chunk: list[dict] = []
        number = 0

        def emit() -> FeedFile:
            body = encode("json", self.contract.names, chunk).encode("utf-8")
            key = f"{self.contract.prefix}{self.day.isoformat()}/spotify-{slug}-{number:04d}.json"
            return FeedFile(key, body, Expected.curated(len(chunk)), dataset=self.contract.dataset)

        for row in self.rows():
            chunk.append(row)
            if len(chunk) == self.per_file:
                yield emit()
                number += 1
                chunk = []
        if chunk:
            yield emit()
