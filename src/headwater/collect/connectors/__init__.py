"""Source connectors: each fetches one window of facts for one account (see ``base``)."""
