output "queue_name" {
  description = "Name of the queue."
  value       = aws_sqs_queue.this.name
}

output "queue_url" {
  description = "URL of the queue."
  value       = aws_sqs_queue.this.url
}

output "queue_arn" {
  description = "ARN of the queue (an event source mapping's event_source_arn)."
  value       = aws_sqs_queue.this.arn
}

output "dlq_name" {
  description = "Name of the DLQ, or null when create_dlq is false."
  value       = try(aws_sqs_queue.dlq[0].name, null)
}

output "dlq_url" {
  description = "URL of the DLQ, or null when create_dlq is false."
  value       = try(aws_sqs_queue.dlq[0].url, null)
}

output "dlq_arn" {
  description = "ARN of the DLQ, or null when create_dlq is false."
  value       = try(aws_sqs_queue.dlq[0].arn, null)
}

output "dlq_alarm_arn" {
  description = "ARN of the depth alarm (on the DLQ, or on the queue when create_dlq is false)."
  value       = aws_cloudwatch_metric_alarm.dlq_depth.arn
}
