"""The feeder: generate or fetch dataset files and upload them into the raw bucket.

Sources (synthetic, Spotify, ...) yield :class:`~headwater.feed.model.FeedFile` objects that carry
the outcome the processor is expected to reach, so a run can be checked end to end from its
manifest.
"""
