"""headwater: serverless data platform kit for AWS."""

__version__ = "0.1.0"
