"""Contract test for ``moto_patches.server``: moto's module listing, read once, is moto's own."""

from __future__ import annotations

import pytest

from headwater.local.moto_patches import server as patch

pytestmark = pytest.mark.integration


def test_the_module_listing_is_read_once_and_equals_motos_own(emulator):
    from moto import backends

    original = patch.original_list_of_moto_modules()
    assert backends.list_of_moto_modules is not original, "the patch is not installed"
    first = backends.list_of_moto_modules()
    assert first is backends.list_of_moto_modules(), "listed again instead of remembered"
    assert tuple(first) == tuple(original())
    assert "dynamodb" in first and "s3" in first  # what get_backend_for_host looks up
