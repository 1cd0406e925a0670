variable "name_prefix" {
  description = "Prefix of every resource name, e.g. \"headwater-dev\" (the facts table is \"<prefix>-collect-facts\")."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,38}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-40 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "artifact_path" {
  description = "Path of the collector's and the sink's Lambda zip (the \"data\" function group, scripts/build_artifact.py)."
  type        = string

  validation {
    condition     = endswith(var.artifact_path, ".zip")
    error_message = "artifact_path must point at a .zip file."
  }
}

variable "api_artifact_path" {
  description = "Path of the API function's Lambda zip (the \"api\" function group)."
  type        = string

  validation {
    condition     = endswith(var.api_artifact_path, ".zip")
    error_message = "api_artifact_path must point at a .zip file."
  }
}

variable "architecture" {
  description = "Instruction set of the artifact: arm64 or x86_64."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be arm64 or x86_64."
  }
}

variable "rest_api_id" {
  description = "REST API the routes are added to (platform output rest_api_id)."
  type        = string
}

variable "root_resource_id" {
  description = "Id of the API's \"/\" resource (platform output root_resource_id)."
  type        = string
}

variable "execution_arn" {
  description = "Execution ARN of the API (platform output execution_arn): scopes the API function's invoke permission."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:execute-api:", var.execution_arn))
    error_message = "execution_arn must be an execute-api ARN."
  }
}

variable "params_validator_id" {
  description = "Request validator checking parameters (platform output params_validator_id)."
  type        = string
}

variable "tenancy_table_name" {
  description = "Tenancy directory table (platform output tenancy_table_name): the API function reads each key's subscriber and grants there."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.tenancy_table_name))
    error_message = "tenancy_table_name must be a DynamoDB table name (3-255 letters, digits, _ . -)."
  }
}

variable "tenancy_table_arn" {
  description = "ARN of the tenancy directory table (platform output tenancy_table_arn): the API function may GetItem on it, nothing else."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:dynamodb:[^:]+:[0-9]{12}:table/[A-Za-z0-9_.-]{3,255}$", var.tenancy_table_arn))
    error_message = "tenancy_table_arn must be a DynamoDB table ARN."
  }
}

variable "kms_key_arn" {
  description = "KMS key of the tables, the changes bucket, the functions' logs and environment (platform output kms_key_arn)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "alarm_topic_arn" {
  description = "SNS topic the alarms notify (platform output alerts_topic_arn); null creates the alarms without actions."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:", var.alarm_topic_arn))
    error_message = "alarm_topic_arn must be an SNS topic ARN."
  }
}

variable "api_memory_size" {
  description = "API function memory in MB."
  type        = number
  default     = 512

  validation {
    condition     = var.api_memory_size >= 128 && var.api_memory_size <= 10240
    error_message = "api_memory_size must be between 128 and 10240."
  }
}

variable "api_timeout" {
  description = "API function timeout in seconds; API Gateway gives up after 29 s anyway."
  type        = number
  default     = 10

  validation {
    condition     = var.api_timeout >= 1 && var.api_timeout <= 29
    error_message = "api_timeout must be between 1 and 29 seconds (API Gateway's integration limit)."
  }
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the functions' logs (validated by the function module)."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Tags applied to every resource of the module."
  type        = map(string)
  default     = {}
}

variable "bucket_name_suffix" {
  description = "Appended to the changes bucket's name (\"<name_prefix>-collect<suffix>\") to make it globally unique; null appends \"-<account id>-<region>\", \"\" appends nothing (the local emulator)."
  type        = string
  default     = null

  validation {
    condition     = var.bucket_name_suffix == null || can(regex("^(-[a-z0-9-]*[a-z0-9])?$", var.bucket_name_suffix))
    error_message = "bucket_name_suffix must be empty or start with a hyphen, using lowercase letters, digits and hyphens."
  }
}

variable "force_destroy" {
  description = "Let terraform destroy delete the changes bucket with its objects (false in prod)."
  type        = bool
  default     = false
}

variable "noncurrent_version_expiration_days" {
  description = "Days a replaced change object version is kept (a retried batch rewrites its objects)."
  type        = number
  default     = 30
}

variable "deletion_protection" {
  description = "Refuse to delete the tables (keep true in prod; local and dev set false to tear down)."
  type        = bool
  default     = true
}

variable "log_level" {
  description = "Log level of the three functions (POWERTOOLS_LOG_LEVEL)."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING, ERROR or CRITICAL."
  }
}

variable "schedule_group_name" {
  description = "EventBridge Scheduler group of the platform (platform output schedule_group_name): the API creates the schedules there (COLLECT_SCHEDULE_GROUP)."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-zA-Z._-]{1,64}$", var.schedule_group_name))
    error_message = "schedule_group_name must be 1-64 letters, digits, . _ -."
  }
}

variable "scheduler_dlq_arn" {
  description = "The platform's Scheduler dead-letter queue (platform output scheduler_dlq_arn): every collect schedule dead-letters there (COLLECT_SCHEDULE_DLQ_ARN), and the schedule role may send to it."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:sqs:", var.scheduler_dlq_arn))
    error_message = "scheduler_dlq_arn must be an SQS queue ARN."
  }
}

variable "metrics_namespace" {
  description = "CloudWatch metrics namespace of the collector and the sink (POWERTOOLS_METRICS_NAMESPACE)."
  type        = string
  default     = "headwater"

  validation {
    condition     = can(regex("^[A-Za-z0-9._/#:-]{1,255}$", var.metrics_namespace))
    error_message = "metrics_namespace must be 1-255 characters of letters, digits and . _ / # : -."
  }
}

# ---------------------------------------------------------------------------------------------
# Schedules (the API function: COLLECT_*)
# ---------------------------------------------------------------------------------------------
variable "min_interval_minutes" {
  description = "Shortest interval between two fires a schedule may ask for (COLLECT_MIN_INTERVAL_MINUTES): rate() and cron() expressions firing more often are refused with 400."
  type        = number
  default     = 60

  validation {
    condition     = var.min_interval_minutes >= 1 && var.min_interval_minutes <= 10080 && floor(var.min_interval_minutes) == var.min_interval_minutes
    error_message = "min_interval_minutes must be a whole number between 1 and 10080 (a week)."
  }
}

variable "max_schedules_per_subscriber" {
  description = "Most schedules one subscriber may have (COLLECT_MAX_SCHEDULES); creating one more is refused."
  type        = number
  default     = 25

  validation {
    condition     = var.max_schedules_per_subscriber >= 1 && var.max_schedules_per_subscriber <= 1000 && floor(var.max_schedules_per_subscriber) == var.max_schedules_per_subscriber
    error_message = "max_schedules_per_subscriber must be a whole number between 1 and 1000."
  }
}

variable "schedule_retry_attempts" {
  description = "Times the Scheduler retries delivering a fire to the collector before the platform's Scheduler DLQ (each schedule's RetryPolicy, COLLECT_RETRY_ATTEMPTS; 0-185)."
  type        = number
  default     = 3

  validation {
    condition     = var.schedule_retry_attempts >= 0 && var.schedule_retry_attempts <= 185 && floor(var.schedule_retry_attempts) == var.schedule_retry_attempts
    error_message = "schedule_retry_attempts must be a whole number between 0 and 185."
  }
}

variable "schedule_retry_max_age_seconds" {
  description = "Oldest fire the Scheduler still retries delivering (COLLECT_RETRY_MAX_AGE_SECONDS, 60-86400 s)."
  type        = number
  default     = 86400

  validation {
    condition     = var.schedule_retry_max_age_seconds >= 60 && var.schedule_retry_max_age_seconds <= 86400 && floor(var.schedule_retry_max_age_seconds) == var.schedule_retry_max_age_seconds
    error_message = "schedule_retry_max_age_seconds must be a whole number between 60 and 86400."
  }
}

# ---------------------------------------------------------------------------------------------
# Collector
# ---------------------------------------------------------------------------------------------
variable "lag_days" {
  description = "Days a source needs to settle: the newest day collected is today minus lag_days (COLLECT_LAG_DAYS)."
  type        = number
  default     = 1

  validation {
    condition     = var.lag_days >= 0 && var.lag_days <= 30 && floor(var.lag_days) == var.lag_days
    error_message = "lag_days must be a whole number between 0 and 30."
  }
}

variable "max_backfill_days" {
  description = "Most days a run catches up after missed runs (COLLECT_MAX_BACKFILL_DAYS); older missed days are skipped and logged."
  type        = number
  default     = 30

  validation {
    condition     = var.max_backfill_days >= 1 && var.max_backfill_days <= 366 && floor(var.max_backfill_days) == var.max_backfill_days
    error_message = "max_backfill_days must be a whole number between 1 and 366."
  }
}

variable "initial_days" {
  description = "Days a schedule's first run collects (COLLECT_INITIAL_DAYS); at most max_backfill_days."
  type        = number
  default     = 7

  validation {
    condition     = var.initial_days >= 1 && var.initial_days <= var.max_backfill_days && floor(var.initial_days) == var.initial_days
    error_message = "initial_days must be a whole number between 1 and max_backfill_days."
  }
}

variable "fact_retention_days" {
  description = "Days a fact is kept after its day (COLLECT_FACT_RETENTION_DAYS): > 0 sets the TTL attribute expires_at, 0 keeps facts forever."
  type        = number
  default     = 0

  validation {
    condition     = var.fact_retention_days >= 0 && var.fact_retention_days <= 3650 && floor(var.fact_retention_days) == var.fact_retention_days
    error_message = "fact_retention_days must be a whole number between 0 (never expire) and 3650."
  }
}

variable "meta_base_url" {
  description = "Base URL of Meta's Graph API for the meta connector (COLLECT_META_BASE_URL); tests point it at the loopback fake."
  type        = string
  default     = "https://graph.facebook.com/v21.0"

  validation {
    # https only, except a loopback fake (the local environment and tests).
    condition     = can(regex("^(https://[A-Za-z0-9.-]+(:[0-9]+)?|http://(127\\.0\\.0\\.1|localhost)(:[0-9]+)?)(/[A-Za-z0-9._~/-]*)?$", var.meta_base_url))
    error_message = "meta_base_url must be an https:// URL (http:// only for 127.0.0.1 or localhost), without query or fragment."
  }
}

variable "collector_maximum_retry_attempts" {
  description = "Times Lambda retries a collector run that raised (asynchronous invocation, 0-2) before its event goes to the collector failures queue."
  type        = number
  default     = 2

  validation {
    condition     = contains([0, 1, 2], var.collector_maximum_retry_attempts)
    error_message = "collector_maximum_retry_attempts must be 0, 1 or 2 (Lambda's limits for asynchronous invocations)."
  }
}

variable "collector_maximum_event_age_seconds" {
  description = "Oldest event Lambda still runs or retries for the collector (60-21600 s); older ones go to the failures queue."
  type        = number
  default     = 21600

  validation {
    condition     = var.collector_maximum_event_age_seconds >= 60 && var.collector_maximum_event_age_seconds <= 21600 && floor(var.collector_maximum_event_age_seconds) == var.collector_maximum_event_age_seconds
    error_message = "collector_maximum_event_age_seconds must be a whole number between 60 and 21600 (Lambda's limits)."
  }
}

variable "collector_memory_size" {
  description = "Collector memory in MB."
  type        = number
  default     = 512

  validation {
    condition     = var.collector_memory_size >= 128 && var.collector_memory_size <= 10240
    error_message = "collector_memory_size must be between 128 and 10240."
  }
}

variable "collector_timeout" {
  description = "Collector timeout in seconds: one run pages through every window of its schedule, with backoff."
  type        = number
  default     = 600

  validation {
    condition     = var.collector_timeout >= 1 && var.collector_timeout <= 900
    error_message = "collector_timeout must be between 1 and 900 seconds."
  }
}

# ---------------------------------------------------------------------------------------------
# Sink (event source mapping on the facts stream)
# ---------------------------------------------------------------------------------------------
variable "changes_prefix" {
  description = "Key prefix of the change objects in the changes bucket (COLLECT_CHANGES_PREFIX)."
  type        = string
  default     = "changes/"

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*/$", var.changes_prefix))
    error_message = "changes_prefix must be a non-empty S3 key prefix of safe characters ending with \"/\", e.g. \"changes/\"."
  }
}

variable "sink_batch_size" {
  description = "Most stream records per sink invocation (1-10000)."
  type        = number
  default     = 100

  validation {
    condition     = var.sink_batch_size >= 1 && var.sink_batch_size <= 10000 && floor(var.sink_batch_size) == var.sink_batch_size
    error_message = "sink_batch_size must be a whole number between 1 and 10000."
  }
}

variable "sink_batching_window_seconds" {
  description = "Seconds Lambda gathers stream records before invoking the sink (0-300): fewer, larger objects."
  type        = number
  default     = 5

  validation {
    condition     = var.sink_batching_window_seconds >= 0 && var.sink_batching_window_seconds <= 300 && floor(var.sink_batching_window_seconds) == var.sink_batching_window_seconds
    error_message = "sink_batching_window_seconds must be a whole number between 0 and 300."
  }
}

variable "sink_maximum_retry_attempts" {
  description = "Times Lambda retries a failing stream batch (bisected on each error) before its record goes to the sink failures queue (0-10000)."
  type        = number
  default     = 10

  validation {
    condition     = var.sink_maximum_retry_attempts >= 0 && var.sink_maximum_retry_attempts <= 10000 && floor(var.sink_maximum_retry_attempts) == var.sink_maximum_retry_attempts
    error_message = "sink_maximum_retry_attempts must be a whole number between 0 and 10000."
  }
}

variable "sink_maximum_record_age_seconds" {
  description = "Oldest stream record the sink is still given (60-604800 s); older records go to the sink failures queue."
  type        = number
  default     = 86400

  validation {
    condition     = var.sink_maximum_record_age_seconds >= 60 && var.sink_maximum_record_age_seconds <= 604800 && floor(var.sink_maximum_record_age_seconds) == var.sink_maximum_record_age_seconds
    error_message = "sink_maximum_record_age_seconds must be a whole number between 60 and 604800 (Lambda's limits for DynamoDB streams)."
  }
}

variable "sink_iterator_age_alarm_seconds" {
  description = "Alarm when the sink is this many seconds behind the facts stream (IteratorAge); keep it below sink_maximum_record_age_seconds."
  type        = number
  default     = 3600

  validation {
    condition     = var.sink_iterator_age_alarm_seconds >= 60 && var.sink_iterator_age_alarm_seconds < var.sink_maximum_record_age_seconds
    error_message = "sink_iterator_age_alarm_seconds must be at least 60 and below sink_maximum_record_age_seconds (the alarm must come before records are given up on)."
  }
}

variable "sink_memory_size" {
  description = "Sink memory in MB (pyarrow writes each batch's Parquet objects in memory)."
  type        = number
  default     = 1024

  validation {
    condition     = var.sink_memory_size >= 128 && var.sink_memory_size <= 10240
    error_message = "sink_memory_size must be between 128 and 10240."
  }
}

variable "sink_timeout" {
  description = "Sink timeout in seconds."
  type        = number
  default     = 120

  validation {
    condition     = var.sink_timeout >= 1 && var.sink_timeout <= 900
    error_message = "sink_timeout must be between 1 and 900 seconds."
  }
}

variable "failures_retention_seconds" {
  description = "Seconds the collector and sink failures queues keep a record (60-1209600; default 14 days, SQS's maximum)."
  type        = number
  default     = 1209600

  validation {
    condition     = var.failures_retention_seconds >= 60 && var.failures_retention_seconds <= 1209600
    error_message = "failures_retention_seconds must be between 60 and 1209600."
  }
}
