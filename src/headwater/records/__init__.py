"""Records: JSON records posted over the REST API, stored in DynamoDB, summarised weekly to S3."""
