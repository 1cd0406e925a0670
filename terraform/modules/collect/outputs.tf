output "facts_table_name" {
  description = "Facts table (COLLECT_FACTS_TABLE): pk/sk from headwater.collect.facts, stream NEW_AND_OLD_IMAGES, TTL on expires_at."
  value       = aws_dynamodb_table.facts.name
}

output "facts_table_arn" {
  description = "ARN of the facts table."
  value       = aws_dynamodb_table.facts.arn
}

output "facts_stream_arn" {
  description = "ARN of the facts table's stream (the sink's event source)."
  value       = aws_dynamodb_table.facts.stream_arn
}

output "state_table_name" {
  description = "State table of the schedules' checkpoints (COLLECT_STATE_TABLE)."
  value       = aws_dynamodb_table.state.name
}

output "changes_bucket_name" {
  description = "Bucket the sink writes the changes to (COLLECT_CHANGES_BUCKET)."
  value       = module.bucket.name
}

output "changes_prefix" {
  description = "Key prefix of the change objects in the changes bucket (COLLECT_CHANGES_PREFIX)."
  value       = var.changes_prefix
}

output "secret_prefix" {
  description = "Name prefix of the connections' secrets: <secret_prefix><subscriber>/<connection> (COLLECT_SECRET_PREFIX)."
  value       = local.secret_prefix
}

output "api_function_name" {
  description = "Name of the collect API Lambda function."
  value       = module.api_function.function_name
}

output "collector_function_name" {
  description = "Name of the collector Lambda function."
  value       = module.collector_function.function_name
}

output "collector_function_arn" {
  description = "ARN of the collector Lambda function (every collect schedule's target)."
  value       = module.collector_function.function_arn
}

output "sink_function_name" {
  description = "Name of the stream sink Lambda function."
  value       = module.sink_function.function_name
}

output "schedule_role_arn" {
  description = "Role the Scheduler assumes for collect schedules (COLLECT_SCHEDULE_ROLE_ARN): invokes the collector only."
  value       = aws_iam_role.schedule.arn
}

output "collector_failures_queue_url" {
  description = "Queue of the collector runs that failed every attempt (Lambda's on-failure destination)."
  value       = module.collector_failures.queue_url
}

output "sink_failures_queue_url" {
  description = "Queue of the stream batches the sink gave up on (the event source mapping's on-failure destination)."
  value       = module.sink_failures.queue_url
}

output "route_paths" {
  description = "Resource paths of the collect routes: schedules, schedule, run, connections, connection."
  value = {
    schedules   = aws_api_gateway_resource.schedules.path
    schedule    = aws_api_gateway_resource.schedule.path
    run         = aws_api_gateway_resource.run.path
    connections = aws_api_gateway_resource.connections.path
    connection  = aws_api_gateway_resource.connection.path
  }
}

output "deployment_triggers" {
  description = "Fingerprint of the collect routes: pass it to ../api_stage (redeployment_triggers)."
  # Ids plus the values this module sets, never whole resources: a refresh fills unset
  # attributes with empty values, which would change the hash and redeploy on every plan.
  value = [
    sha1(jsonencode({
      resources = local.resource_ids
      methods = {
        for name, m in local.methods : name => [
          aws_api_gateway_method.this[name].id,
          m.verb,
          m.parameters,
          aws_api_gateway_method.this[name].api_key_required,
          aws_api_gateway_method.this[name].request_validator_id,
          aws_api_gateway_integration.this[name].id,
          aws_api_gateway_integration.this[name].type,
        ]
      }
      invoke_arn = module.api_function.invoke_arn
    })),
  ]
}
