output "function_name" {
  description = "Name of the Lambda function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the Lambda function."
  value       = aws_lambda_function.this.arn
}

output "invoke_arn" {
  description = "ARN API Gateway uses to invoke the function."
  value       = aws_lambda_function.this.invoke_arn
}

output "role_name" {
  description = "Name of the execution role (attach extra policies to it if needed)."
  value       = aws_iam_role.this.name
}

output "role_arn" {
  description = "ARN of the execution role."
  value       = aws_iam_role.this.arn
}

output "log_group_name" {
  description = "CloudWatch log group of the function."
  value       = aws_cloudwatch_log_group.this.name
}

output "error_alarm_arn" {
  description = "ARN of the Errors alarm, or null when create_error_alarm is false."
  value       = try(aws_cloudwatch_metric_alarm.errors[0].arn, null)
}

output "throttle_alarm_arn" {
  description = "ARN of the Throttles alarm, or null when create_throttle_alarm is false."
  value       = try(aws_cloudwatch_metric_alarm.throttles[0].arn, null)
}

output "event_source_mapping_uuids" {
  description = "Event source mapping name -> UUID."
  value       = { for name, m in aws_lambda_event_source_mapping.this : name => m.uuid }
}
