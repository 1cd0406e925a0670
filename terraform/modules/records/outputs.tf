output "table_name" {
  description = "Name of the records table (RECORDS_TABLE)."
  value       = aws_dynamodb_table.records.name
}

output "table_arn" {
  description = "ARN of the records table."
  value       = aws_dynamodb_table.records.arn
}

output "idempotency_table_name" {
  description = "Name of the idempotency table of POST /records (IDEMPOTENCY_TABLE)."
  value       = aws_dynamodb_table.idempotency.name
}

output "export_bucket_name" {
  description = "Bucket of the weekly summaries and exports (EXPORT_BUCKET)."
  value       = module.bucket.name
}

output "export_prefix" {
  description = "Key prefix of the summaries: <export_prefix><dataset>/week=YYYY-Www/."
  value       = var.export_prefix
}

output "api_function_name" {
  description = "Name of the records API Lambda function."
  value       = module.api_function.function_name
}

output "summary_function_name" {
  description = "Name of the weekly summary Lambda function."
  value       = module.summary_function.function_name
}

output "summary_function_arn" {
  description = "ARN of the weekly summary Lambda function."
  value       = module.summary_function.function_arn
}

output "summary_schedule_name" {
  description = "Name of the weekly summary schedule (in schedule_group_name)."
  value       = aws_scheduler_schedule.summary.name
}

output "summary_schedule_group_name" {
  description = "Scheduler group of the summary schedule."
  value       = aws_scheduler_schedule.summary.group_name
}

output "route_paths" {
  description = "Dataset -> { post, get } resource paths of the records routes."
  value = {
    for name in keys(var.record_datasets) : name => {
      post = aws_api_gateway_resource.dataset[name].path
      get  = aws_api_gateway_resource.record[name].path
    }
  }
}

output "deployment_triggers" {
  description = "Fingerprint of the records routes and models: pass it to ../api_stage (redeployment_triggers)."
  # Ids plus the values this module sets, never whole resources: a refresh fills unset
  # attributes with empty values, which would change the hash and redeploy on every plan.
  value = [
    sha1(jsonencode({
      for name, dataset in var.record_datasets : name => [
        aws_api_gateway_resource.dataset[name].id,
        aws_api_gateway_resource.record[name].id,
        aws_api_gateway_model.request[name].id,
        dataset.schema,
        aws_api_gateway_method.post[name].id,
        aws_api_gateway_method.post[name].request_validator_id,
        aws_api_gateway_method.post[name].request_models,
        aws_api_gateway_method.get[name].id,
        aws_api_gateway_method.get[name].request_validator_id,
        aws_api_gateway_integration.post[name].id,
        aws_api_gateway_integration.get[name].id,
        module.api_function.invoke_arn,
      ]
    })),
  ]
}
