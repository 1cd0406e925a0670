"""Contract tests for headwater.local.moto_patches as a whole; one file per service beside it.

Each test in ``test_moto_patches_<service>.py`` pins one behaviour a patch provides, driving a real
moto server; when moto is upgraded, a failure names the seam that moved.
"""

from __future__ import annotations

import moto
import pytest

from headwater.local import moto_patches

pytestmark = pytest.mark.integration


def test_moto_is_the_version_the_patches_were_written_for():
    assert moto.__version__ == moto_patches.PINNED_MOTO_VERSION, (
        f"moto {moto.__version__} is installed, patches target {moto_patches.PINNED_MOTO_VERSION}: "
        "re-read moto's events/models.py (Rule.send_to_targets), s3/notifications.py "
        "(_send_event_bridge_message), sqs/models.py + dynamodb/models/table.py + kinesis "
        "(lambda_event_source_mappings), sns/models.py (Subscription.publish), "
        "events/notifications.py (_invoke_lambda), then run test_moto_patches*.py and bump the pin"
    )


def test_apply_is_idempotent():
    from moto.sns.models import Subscription
    from moto.sqs.models import Queue

    moto_patches.apply()  # may be the first call when this file runs alone
    wrapped = (Subscription.publish, Queue._set_attributes)
    moto_patches.apply()
    # These patches wrap the current method: a second application would wrap the wrapper.
    assert Subscription.publish is wrapped[0]
    assert Queue._set_attributes is wrapped[1]
