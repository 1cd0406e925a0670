"""Source plugins by name. A new source registers its CLI options and a factory here.

Each plugin adds its own options to ``headwater feed`` and builds its source from the parsed
arguments, so the command itself never changes when a source is added.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from dataclasses import dataclass

from headwater.feed.model import Source

DEFAULT_FILES = 30


class SourceError(Exception):
    """A source cannot be built from the given options; the message is for the user."""


@dataclass(frozen=True)
class SourcePlugin:
    name: str
    help: str
    add_arguments: Callable[[argparse._ArgumentGroup], None]
    build: Callable[[argparse.Namespace], Source]


_REGISTRY: dict[str, SourcePlugin] = {}


def register_source(plugin: SourcePlugin) -> None:
    if plugin.name in _REGISTRY:
        raise ValueError(f"a feed source named {plugin.name!r} is already registered")
    _REGISTRY[plugin.name] = plugin


def get_source(name: str) -> SourcePlugin:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise SourceError(f"unknown source {name!r} (known: {', '.join(source_names())})") from None


def source_names() -> list[str]:
    return sorted(_REGISTRY)


def plugins() -> list[SourcePlugin]:
    return [_REGISTRY[name] for name in source_names()]


# -- built-in sources -------------------------------------------------------------------------
def _synthetic_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--bad-share",
        type=float,
        default=0.2,
        metavar="F",
        help="share of deliberately bad files, 0..1 (default 0.2)",
    )
    group.add_argument("--seed", type=int, default=0, help="random seed (default 0)")


def _build_synthetic(args: argparse.Namespace) -> Source:
    from headwater.feed.synthetic import SyntheticSource

    try:
        return SyntheticSource(
            files=DEFAULT_FILES if args.files is None else args.files,
            rows=args.rows,
            bad_share=args.bad_share,
            seed=args.seed,
            day=args.date,
        )
    except ValueError as exc:
        raise SourceError(str(exc)) from exc


def _spotify_arguments(group: argparse._ArgumentGroup) -> None:
    from headwater.feed.spotify import DEFAULT_ACCOUNTS_URL, DEFAULT_API_URL

    what = group.add_mutually_exclusive_group()
    what.add_argument("--playlist", metavar="ID", help="Spotify playlist id to read tracks from")
    what.add_argument("--query", metavar="Q", help="Spotify track search query")
    group.add_argument("--market", metavar="CC", help="ISO country code for track relinking")
    group.add_argument(
        "--spotify-accounts-url",
        default=os.environ.get("SPOTIFY_ACCOUNTS_URL", DEFAULT_ACCOUNTS_URL),
        metavar="URL",
        help="accounts service base URL (env SPOTIFY_ACCOUNTS_URL)",
    )
    group.add_argument(
        "--spotify-api-url",
        default=os.environ.get("SPOTIFY_API_URL", DEFAULT_API_URL),
        metavar="URL",
        help="Web API base URL (env SPOTIFY_API_URL)",
    )


def _build_spotify(args: argparse.Namespace) -> Source:
    from headwater.feed.spotify import SpotifyClient, SpotifyError, SpotifySource

    client_id = os.environ.get("SPOTIFY_CLIENT_ID", "")
    client_secret = os.environ.get("SPOTIFY_CLIENT_SECRET", "")
    if not client_id or not client_secret:
        raise SourceError("the spotify source needs SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET")
    if not (args.playlist or args.query):
        raise SourceError("the spotify source needs --playlist ID or --query Q")
    try:
        client = SpotifyClient(
            client_id,
            client_secret,
            accounts_url=args.spotify_accounts_url,
            api_url=args.spotify_api_url,
        )
        return SpotifySource(
            client,
            playlist=args.playlist,
            query=args.query,
            per_file=args.rows,
            max_tracks=args.files * args.rows if args.files else None,
            market=args.market,
            day=args.date,
        )
    except SpotifyError as exc:
        raise SourceError(str(exc)) from exc


register_source(
    SourcePlugin(
        "synthetic",
        "deterministic offline files for every contract, some deliberately bad",
        _synthetic_arguments,
        _build_synthetic,
    )
)
register_source(
    SourcePlugin(
        "spotify",
        "tracks from the Spotify Web API (client credentials from the environment)",
        _spotify_arguments,
        _build_spotify,
    )
)
