output "raw_bucket" {
  description = "Bucket where files land (under key_prefix)."
  value       = module.ingest.raw_bucket_name
}

output "curated_bucket" {
  description = "Bucket of the Parquet output."
  value       = module.ingest.curated_bucket_name
}

output "quarantine_bucket" {
  description = "Bucket of rejected files and their reports."
  value       = module.ingest.quarantine_bucket_name
}

output "key_prefix" {
  description = "Ingest root in the raw bucket."
  value       = module.ingest.key_prefix
}

output "topic_arn" {
  description = "Ingest fan-out topic: subscribe other consumers here."
  value       = module.ingest.topic_arn
}

output "queue_url" {
  description = "Processor work queue."
  value       = module.ingest.queue_url
}

output "dlq_url" {
  description = "Dead-letter queue."
  value       = module.ingest.dlq_url
}

output "delivery_dlq_url" {
  description = "Events that never reached the work queue."
  value       = module.ingest.delivery_dlq_url
}

output "function_name" {
  description = "Processor Lambda function."
  value       = module.ingest.function_name
}

output "alerts_topic_arn" {
  description = "Alerts topic: subscribe an email or chat integration to it."
  value       = module.ingest.alerts_topic_arn
}

output "kms_key_arn" {
  description = "KMS key of the ingest resources."
  value       = module.ingest.kms_key_arn
}
