# Linked into every environment (local, dev, prod): the stack's outputs under the names the CLI
# and the tests read. One file, so the environments cannot drift apart.

output "raw_bucket" {
  description = "Bucket where files land, each capability under its own key prefix."
  value       = module.stack.raw_bucket
}

output "curated_bucket" {
  description = "Bucket of the Parquet output."
  value       = module.stack.curated_bucket
}

output "quarantine_bucket" {
  description = "Bucket of rejected files and their reports."
  value       = module.stack.quarantine_bucket
}

output "key_prefix" {
  description = "Ingest root in the raw bucket."
  value       = module.stack.key_prefix
}

output "topic_arn" {
  description = "Ingest fan-out topic: subscribe other consumers here."
  value       = module.stack.topic_arn
}

output "queue_url" {
  description = "Ingest processor work queue."
  value       = module.stack.queue_url
}

output "dlq_url" {
  description = "Ingest dead-letter queue."
  value       = module.stack.dlq_url
}

output "delivery_dlq_url" {
  description = "Ingest events that never reached the work queue."
  value       = module.stack.delivery_dlq_url
}

output "function_name" {
  description = "Ingest processor Lambda function."
  value       = module.stack.function_name
}

output "alerts_topic_arn" {
  description = "Alerts topic: subscribe an email or chat integration to it."
  value       = module.stack.alerts_topic_arn
}

output "kms_key_arn" {
  description = "KMS key of the environment."
  value       = module.stack.kms_key_arn
}

output "api_url" {
  description = "Base URL of the API, stage included: <api_url>/health, <api_url>/lookups/<dataset>/<key>. On AWS the stage's invoke URL; locally the embedded API front's URL (local.api_url of each environment)."
  value       = local.api_url
}

output "api_name" {
  description = "Name of the REST API (the local front serves it under this name, see apis.json)."
  value       = module.stack.api_name
}

output "api_key_ids" {
  description = "Key name -> API key id (never the value: `headwater keys list` or `aws apigateway get-api-key --include-value`)."
  value       = module.stack.api_key_ids
}

output "usage_plan_ids" {
  description = "Key name -> usage plan id."
  value       = module.stack.usage_plan_ids
}

output "tenancy_table" {
  description = "DynamoDB table of the tenancy directory (API key id -> subscriber -> grants); `headwater keys` reads and writes it."
  value       = module.stack.tenancy_table
}

output "lookup_table" {
  description = "DynamoDB table of the lookup datasets."
  value       = module.stack.lookup_table
}

output "lookup_key_prefix" {
  description = "Lookup root in the raw bucket."
  value       = module.stack.lookup_key_prefix
}

output "lookup_loader_function_name" {
  description = "Lookup loader Lambda function."
  value       = module.stack.lookup_loader_function_name
}

output "lookup_api_function_name" {
  description = "Lookup API Lambda function."
  value       = module.stack.lookup_api_function_name
}

output "lookup_dlq_url" {
  description = "Lookup loads that were not delivered or failed."
  value       = module.stack.lookup_dlq_url
}

output "schedule_group_name" {
  description = "EventBridge Scheduler group of the environment."
  value       = module.stack.schedule_group_name
}

output "scheduler_role_arn" {
  description = "Execution role of the environment's schedules."
  value       = module.stack.scheduler_role_arn
}

output "scheduler_dlq_url" {
  description = "Scheduled invocations that failed after their retries."
  value       = module.stack.scheduler_dlq_url
}

output "records_table" {
  description = "DynamoDB table of the records (pk = <dataset>#<day>#<shard>, id = UUIDv7)."
  value       = module.stack.records_table
}

output "records_export_bucket" {
  description = "Bucket of the weekly records summaries: <records_export_prefix><dataset>/week=YYYY-Www/."
  value       = module.stack.records_export_bucket
}

output "records_export_prefix" {
  description = "Key prefix of the records summaries in the export bucket."
  value       = module.stack.records_export_prefix
}

output "records_summary_function_name" {
  description = "Weekly records summary Lambda function (`headwater records summary` invokes it)."
  value       = module.stack.records_summary_function_name
}

output "records_summary_schedule_name" {
  description = "Schedule of the weekly records summary (`headwater schedules fire` takes it)."
  value       = module.stack.records_summary_schedule_name
}

output "records_summary_schedule_group" {
  description = "Scheduler group of the records summary schedule."
  value       = module.stack.records_summary_schedule_group
}

output "collect_facts_table" {
  description = "DynamoDB table of the collected facts (pk/sk; its stream feeds the collect sink)."
  value       = module.stack.collect_facts_table
}

output "collect_state_table" {
  description = "DynamoDB table of the collect schedules' checkpoints (pk = checkpoint#<schedule_id>)."
  value       = module.stack.collect_state_table
}

output "collect_changes_bucket" {
  description = "Bucket of the facts' changes as Parquet: <collect_changes_prefix>..."
  value       = module.stack.collect_changes_bucket
}

output "collect_changes_prefix" {
  description = "Key prefix of the change objects in the collect changes bucket."
  value       = module.stack.collect_changes_prefix
}

output "collect_collector_function_name" {
  description = "Collector Lambda function (every collect schedule's target; run-now invokes it)."
  value       = module.stack.collect_collector_function_name
}

output "collect_sink_function_name" {
  description = "Collect stream sink Lambda function."
  value       = module.stack.collect_sink_function_name
}

output "collect_api_function_name" {
  description = "Collect API Lambda function (/schedules, /connections)."
  value       = module.stack.collect_api_function_name
}

output "collect_sink_failures_queue_url" {
  description = "Queue of the facts-stream batches the collect sink gave up on (alarmed)."
  value       = module.stack.collect_sink_failures_queue_url
}

output "collect_collector_failures_queue_url" {
  description = "Queue of the collector runs that failed every attempt (alarmed)."
  value       = module.stack.collect_collector_failures_queue_url
}

output "collect_secret_prefix" {
  description = "Secrets Manager name prefix of the collect connections: <prefix><subscriber>/<connection>."
  value       = module.stack.collect_secret_prefix
}

output "onboard_bucket_name" {
  description = "Onboard landing bucket: <target_prefix><schema>.<table>/run=<run_id>/ Parquet parts and _manifest.json, <target_prefix>_runs/run=<run_id>/summary.json."
  value       = module.stack.onboard_bucket_name
}

output "onboard_state_table_name" {
  description = "DynamoDB table of the onboard runs, range checkpoints and high-water marks (`headwater onboard status` reads it)."
  value       = module.stack.onboard_state_table_name
}

output "onboard_work_queue_url" {
  description = "Onboard work queue: one message per table or key range."
  value       = module.stack.onboard_work_queue_url
}

output "onboard_work_dlq_url" {
  description = "Onboard work given up on (alarmed)."
  value       = module.stack.onboard_work_dlq_url
}

output "onboard_dispatcher_function_name" {
  description = "Onboard dispatcher Lambda function (`headwater onboard run` invokes it)."
  value       = module.stack.onboard_dispatcher_function_name
}

output "onboard_worker_function_name" {
  description = "Onboard worker Lambda function."
  value       = module.stack.onboard_worker_function_name
}

output "onboard_schedule_names" {
  description = "Onboard source name -> its schedule's name (`headwater schedules fire` takes it)."
  value       = module.stack.onboard_schedule_names
}

output "onboard_demo_secret_arn" {
  description = "Secret of the local demo source's connection (the demo writes its value); null, hence absent, outside the local environment (local.onboard_demo_secret_arn of each environment)."
  value       = local.onboard_demo_secret_arn
}
