output "onboard_bucket_name" {
  description = "Landing bucket (ONBOARD_BUCKET): <target_prefix><schema>.<table>/run=<run_id>/part-NNNNN.parquet, _manifest.json, and <target_prefix>_runs/run=<run_id>/summary.json."
  value       = module.bucket.name
}

output "onboard_state_table_name" {
  description = "State table of the runs, range checkpoints and high-water marks (ONBOARD_STATE_TABLE; pk/sk, TTL on expires_at)."
  value       = aws_dynamodb_table.state.name
}

output "onboard_work_queue_url" {
  description = "Work queue: one message per table or key range (ONBOARD_WORK_QUEUE_URL)."
  value       = module.work_queue.queue_url
}

output "onboard_work_dlq_url" {
  description = "Work given up on (ONBOARD_WORK_DLQ_URL; alarmed)."
  value       = module.work_queue.dlq_url
}

output "onboard_dispatcher_function_name" {
  description = "Dispatcher Lambda function: every source schedule's target (`headwater onboard run` invokes it)."
  value       = module.dispatcher_function.function_name
}

output "onboard_worker_function_name" {
  description = "Worker Lambda function (the work queue's consumer)."
  value       = module.worker_function.function_name
}

output "onboard_schedule_names" {
  description = "Source name -> its schedule's name in the platform's Scheduler group."
  value       = { for name, s in aws_scheduler_schedule.source : name => s.name }
}
