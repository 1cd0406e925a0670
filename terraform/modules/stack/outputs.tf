# The environments' outputs: setup.sh, the CLI and the tests read them by these names.

output "raw_bucket" {
  description = "Bucket where files land, each capability under its own key prefix."
  value       = module.platform.raw_bucket_name
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
  description = "Ingest processor work queue."
  value       = module.ingest.queue_url
}

output "dlq_url" {
  description = "Ingest dead-letter queue."
  value       = module.ingest.dlq_url
}

output "delivery_dlq_url" {
  description = "Ingest events that never reached the work queue."
  value       = module.ingest.delivery_dlq_url
}

output "function_name" {
  description = "Ingest processor Lambda function."
  value       = module.ingest.function_name
}

output "alerts_topic_arn" {
  description = "Alerts topic: subscribe an email or chat integration to it."
  value       = module.platform.alerts_topic_arn
}

output "kms_key_arn" {
  description = "KMS key of the environment."
  value       = module.platform.kms_key_arn
}

output "api_url" {
  description = "Base URL of the API (stage invoke URL): <api_url>/health, <api_url>/lookups/<dataset>/<key>."
  value       = module.api_stage.invoke_url
}

output "api_stage_name" {
  description = "Stage of the REST API: the last part of api_url (the local front serves <front URL>/<stage>)."
  value       = module.api_stage.stage_name
}

output "api_name" {
  description = "Name of the REST API (the local front serves it under this name, see apis.json)."
  value       = module.platform.rest_api_name
}

output "api_key_ids" {
  description = "Key name -> API key id (never the value: `headwater keys list` or `aws apigateway get-api-key --include-value`)."
  value       = module.api_stage.api_key_ids
}

output "usage_plan_ids" {
  description = "Key name -> usage plan id."
  value       = module.api_stage.usage_plan_ids
}

output "tenancy_table" {
  description = "DynamoDB table of the tenancy directory (API key id -> subscriber -> grants); `headwater keys` reads and writes it."
  value       = module.platform.tenancy_table_name
}

output "lookup_table" {
  description = "DynamoDB table of the lookup datasets."
  value       = module.lookup.table_name
}

output "lookup_key_prefix" {
  description = "Lookup root in the raw bucket."
  value       = module.lookup.key_prefix
}

output "lookup_loader_function_name" {
  description = "Lookup loader Lambda function."
  value       = module.lookup.loader_function_name
}

output "lookup_api_function_name" {
  description = "Lookup API Lambda function."
  value       = module.lookup.api_function_name
}

output "lookup_dlq_url" {
  description = "Lookup loads that were not delivered or failed."
  value       = module.lookup.dlq_url
}

output "schedule_group_name" {
  description = "EventBridge Scheduler group of the environment."
  value       = module.platform.schedule_group_name
}

output "scheduler_role_arn" {
  description = "Execution role of the environment's schedules."
  value       = module.platform.scheduler_role_arn
}

output "scheduler_dlq_url" {
  description = "Scheduled invocations that failed after their retries."
  value       = module.platform.scheduler_dlq_url
}

output "records_table" {
  description = "DynamoDB table of the records."
  value       = module.records.table_name
}

output "records_export_bucket" {
  description = "Bucket of the weekly records summaries and exports."
  value       = module.records.export_bucket_name
}

output "records_export_prefix" {
  description = "Key prefix of the records summaries in the export bucket."
  value       = module.records.export_prefix
}

output "records_api_function_name" {
  description = "Records API Lambda function."
  value       = module.records.api_function_name
}

output "records_summary_function_name" {
  description = "Weekly records summary Lambda function."
  value       = module.records.summary_function_name
}

output "records_summary_schedule_name" {
  description = "Schedule of the weekly records summary."
  value       = module.records.summary_schedule_name
}

output "records_summary_schedule_group" {
  description = "Scheduler group of the records summary schedule."
  value       = module.records.summary_schedule_group_name
}

output "collect_facts_table" {
  description = "DynamoDB table of the collected facts (stream NEW_AND_OLD_IMAGES -> the collect sink)."
  value       = module.collect.facts_table_name
}

output "collect_state_table" {
  description = "DynamoDB table of the collect schedules' checkpoints."
  value       = module.collect.state_table_name
}

output "collect_changes_bucket" {
  description = "Bucket the collect sink writes the facts' changes to."
  value       = module.collect.changes_bucket_name
}

output "collect_changes_prefix" {
  description = "Key prefix of the change objects in the collect changes bucket."
  value       = module.collect.changes_prefix
}

output "collect_collector_function_name" {
  description = "Collector Lambda function (every collect schedule's target)."
  value       = module.collect.collector_function_name
}

output "collect_sink_function_name" {
  description = "Collect stream sink Lambda function."
  value       = module.collect.sink_function_name
}

output "collect_api_function_name" {
  description = "Collect API Lambda function (schedules and connections)."
  value       = module.collect.api_function_name
}

output "collect_sink_failures_queue_url" {
  description = "Queue of the facts-stream batches the collect sink gave up on."
  value       = module.collect.sink_failures_queue_url
}

output "collect_collector_failures_queue_url" {
  description = "Queue of the collector runs that failed every attempt."
  value       = module.collect.collector_failures_queue_url
}

output "collect_secret_prefix" {
  description = "Secrets Manager name prefix of the collect connections: <prefix><subscriber>/<connection>."
  value       = module.collect.secret_prefix
}

output "onboard_bucket_name" {
  description = "Onboard landing bucket: <target_prefix><schema>.<table>/run=<run_id>/ Parquet parts and manifests."
  value       = module.onboard.onboard_bucket_name
}

output "onboard_state_table_name" {
  description = "DynamoDB table of the onboard runs, range checkpoints and high-water marks."
  value       = module.onboard.onboard_state_table_name
}

output "onboard_work_queue_url" {
  description = "Onboard work queue: one message per table or key range."
  value       = module.onboard.onboard_work_queue_url
}

output "onboard_work_dlq_url" {
  description = "Onboard work given up on (alarmed)."
  value       = module.onboard.onboard_work_dlq_url
}

output "onboard_dispatcher_function_name" {
  description = "Onboard dispatcher Lambda function (each source schedule's target; `headwater onboard run` invokes it)."
  value       = module.onboard.onboard_dispatcher_function_name
}

output "onboard_worker_function_name" {
  description = "Onboard worker Lambda function."
  value       = module.onboard.onboard_worker_function_name
}

output "onboard_schedule_names" {
  description = "Onboard source name -> its schedule's name."
  value       = module.onboard.onboard_schedule_names
}
