"""Onboard: relational tables to Parquet on S3, one worker per table (or key range).

``declarations`` (which tables, as data), ``postgres`` (reading a table as Arrow record batches
through ADBC), ``parts`` (Parquet parts split by size), ``s3_store`` (the object store port on S3).
"""
