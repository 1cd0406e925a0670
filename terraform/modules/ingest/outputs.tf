output "curated_bucket_name" {
  description = "Bucket holding the Parquet output (<dataset>/ingest_date=YYYY-MM-DD/...)."
  value       = module.bucket["curated"].name
}

output "curated_bucket_arn" {
  description = "ARN of the curated bucket."
  value       = module.bucket["curated"].arn
}

output "quarantine_bucket_name" {
  description = "Bucket holding rejected files (files/) and their reports (reports/)."
  value       = module.bucket["quarantine"].name
}

output "quarantine_bucket_arn" {
  description = "ARN of the quarantine bucket."
  value       = module.bucket["quarantine"].arn
}

output "key_prefix" {
  description = "Ingest root in the raw bucket."
  value       = var.key_prefix
}

output "topic_arn" {
  description = "SNS topic carrying every ingest event: subscribe other consumers here (the queue policy pattern in this module shows how)."
  value       = aws_sns_topic.ingest.arn
}

output "event_rule_arn" {
  description = "ARN of the EventBridge rule feeding the topic."
  value       = aws_cloudwatch_event_rule.object_created.arn
}

output "queue_url" {
  description = "URL of the processor's work queue."
  value       = module.work_queue.queue_url
}

output "queue_arn" {
  description = "ARN of the processor's work queue."
  value       = module.work_queue.queue_arn
}

output "dlq_url" {
  description = "URL of the dead-letter queue (messages that failed max_receive_count times)."
  value       = module.work_queue.dlq_url
}

output "dlq_arn" {
  description = "ARN of the dead-letter queue."
  value       = module.work_queue.dlq_arn
}

output "function_name" {
  description = "Name of the processor Lambda function."
  value       = module.processor.function_name
}

output "function_arn" {
  description = "ARN of the processor Lambda function."
  value       = module.processor.function_arn
}

output "function_role_arn" {
  description = "ARN of the processor's execution role."
  value       = module.processor.role_arn
}

output "log_group_name" {
  description = "CloudWatch log group of the processor."
  value       = module.processor.log_group_name
}

output "delivery_dlq_url" {
  description = "Dead-letter queue of events that could not be delivered to the work queue."
  value       = aws_sqs_queue.delivery_dlq.url
}

output "delivery_dlq_arn" {
  description = "ARN of the delivery dead-letter queue."
  value       = aws_sqs_queue.delivery_dlq.arn
}
