"""Collect: scheduled collectors pull ads facts from a source connector into DynamoDB."""
