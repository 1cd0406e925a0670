"""Helpers shared by the test tiers and bench/ (``from tests.support.<module> import ...``).

- ``paths``: the repository's root, fixtures and bench directories;
- ``terraform``: the Terraform binary and an offline provider setup;
- ``emulator``: the patched emulator in this process, clients for it;
- ``lambda_context``: a Lambda context for handlers called directly;
- ``lookup``: the lookup capability's test environment, sample events and data generator;
- ``e2e``: the settings of the one shared ``./setup.sh run`` and helpers to reach it.
"""
