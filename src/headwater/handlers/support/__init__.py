"""What every Lambda entrypoint needs besides its domain code: observability, settings from the
environment, a time budget for batches. Handlers stay thin by keeping this out of them."""
