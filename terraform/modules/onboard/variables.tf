variable "name_prefix" {
  description = "Prefix of every resource name, e.g. \"headwater-dev\" (the state table is \"<prefix>-onboard-state\")."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,38}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-40 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "artifact_path" {
  description = "Path of the dispatcher's and the worker's Lambda zip (the \"onboard\" function group, scripts/build_artifact.py: build/lambda-onboard-<arch>.zip)."
  type        = string

  validation {
    condition     = endswith(var.artifact_path, ".zip")
    error_message = "artifact_path must point at a .zip file."
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

variable "sources" {
  description = <<-EOT
    Databases to onboard, source name (the [source] name of src/headwater/datasets/onboard/<name>.toml)
    -> { secret_arn (Secrets Manager secret with the connection: host, port, dbname, username,
    password), secret_kms_key_arn = null (the secret's customer managed key, if any),
    schedule_expression = "cron(0 2 * * ? *)", schedule_time_zone = "UTC", enabled = true
    (false: the schedule exists, disabled; runs on demand only), target_prefix = "<name>/" (the
    declaration's target_prefix: the worker may write under it only) }.
  EOT
  type = map(object({
    secret_arn          = string
    secret_kms_key_arn  = optional(string)
    schedule_expression = optional(string, "cron(0 2 * * ? *)")
    schedule_time_zone  = optional(string, "UTC")
    enabled             = optional(bool, true)
    target_prefix       = optional(string)
  }))
  default  = {}
  nullable = false

  validation {
    condition     = alltrue([for name in keys(var.sources) : can(regex("^[a-z][a-z0-9_]{0,39}$", name))])
    error_message = "source names must match [a-z][a-z0-9_]{0,39} (the declarations' rule)."
  }

  validation {
    condition     = alltrue([for s in values(var.sources) : can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+$", s.secret_arn))])
    error_message = "each source's secret_arn must be a Secrets Manager secret ARN (the full ARN, with its random suffix)."
  }

  validation {
    condition     = alltrue([for s in values(var.sources) : s.secret_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", coalesce(s.secret_kms_key_arn, "-")))])
    error_message = "each source's secret_kms_key_arn must be null or a KMS key ARN."
  }

  validation {
    condition     = alltrue([for s in values(var.sources) : can(regex("^(cron\\(.+\\)|rate\\([0-9]+ (minute|minutes|hour|hours|day|days)\\)|at\\([0-9T:-]+\\))$", s.schedule_expression))])
    error_message = "each source's schedule_expression must be an EventBridge Scheduler cron(), rate() or at() expression."
  }

  validation {
    condition     = alltrue([for s in values(var.sources) : can(regex("^[A-Za-z0-9_+/-]{1,50}$", s.schedule_time_zone))])
    error_message = "each source's schedule_time_zone must be an IANA time zone name such as UTC or Europe/Paris."
  }

  validation {
    condition     = alltrue([for s in values(var.sources) : s.target_prefix == null || can(regex("^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*/$", coalesce(s.target_prefix, "-")))])
    error_message = "each source's target_prefix must be a non-empty S3 key prefix of safe characters ending with \"/\"."
  }

  validation {
    # Scheduler names are at most 64 characters: "<name_prefix>-onboard-<source>".
    condition     = alltrue([for name in keys(var.sources) : length("${var.name_prefix}-onboard-${name}") <= 64])
    error_message = "name_prefix and a source name together are too long for a schedule name (\"<name_prefix>-onboard-<source>\", 64 characters at most)."
  }
}

variable "kms_key_arn" {
  description = "KMS key of the state table, the queues, the landing bucket, the functions' logs and environment (platform output kms_key_arn)."
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
    condition     = var.alarm_topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:", coalesce(var.alarm_topic_arn, "-")))
    error_message = "alarm_topic_arn must be an SNS topic ARN."
  }
}

variable "schedule_group_name" {
  description = "EventBridge Scheduler group of the platform (platform output schedule_group_name): one schedule per source goes there."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-zA-Z._-]{1,64}$", var.schedule_group_name))
    error_message = "schedule_group_name must be 1-64 letters, digits, . _ -."
  }
}

variable "scheduler_role_name" {
  description = "The platform's Scheduler role (platform output scheduler_role_name): the module lets it invoke the dispatcher (an inline policy scoped to it)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.scheduler_role_name))
    error_message = "scheduler_role_name must be an IAM role name."
  }
}

variable "scheduler_role_arn" {
  description = "ARN of the platform's Scheduler role (platform output scheduler_role_arn): each schedule's target runs as it."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/", var.scheduler_role_arn))
    error_message = "scheduler_role_arn must be an IAM role ARN."
  }
}

variable "scheduler_dlq_arn" {
  description = "The platform's Scheduler dead-letter queue (platform output scheduler_dlq_arn): fires that fail their retries go there."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:sqs:", var.scheduler_dlq_arn))
    error_message = "scheduler_dlq_arn must be an SQS queue ARN."
  }
}

variable "schedule_retry_attempts" {
  description = "Times the Scheduler retries delivering a fire to the dispatcher before the platform's Scheduler DLQ (0-185)."
  type        = number
  default     = 3

  validation {
    condition     = var.schedule_retry_attempts >= 0 && var.schedule_retry_attempts <= 185 && floor(var.schedule_retry_attempts) == var.schedule_retry_attempts
    error_message = "schedule_retry_attempts must be a whole number between 0 and 185."
  }
}

variable "schedule_maximum_event_age_seconds" {
  description = "Oldest fire the Scheduler still retries delivering (60-86400 s)."
  type        = number
  default     = 86400

  validation {
    condition     = var.schedule_maximum_event_age_seconds >= 60 && var.schedule_maximum_event_age_seconds <= 86400 && floor(var.schedule_maximum_event_age_seconds) == var.schedule_maximum_event_age_seconds
    error_message = "schedule_maximum_event_age_seconds must be a whole number between 60 and 86400."
  }
}

variable "event_bus_name" {
  description = "Event bus receiving the worker's \"Onboard Run Completed\" events (ONBOARD_EVENT_BUS_NAME)."
  type        = string
  default     = "default"

  validation {
    condition     = can(regex("^[A-Za-z0-9._/-]{1,256}$", var.event_bus_name))
    error_message = "event_bus_name must be an event bus name (not an ARN)."
  }
}

variable "max_concurrency" {
  description = "Most concurrent worker invocations (the work queue's event source mapping maximum_concurrency, 2-1000): tables, or key ranges of one table, extracted at once. Bounds the load on each source database."
  type        = number
  default     = 2

  validation {
    condition     = var.max_concurrency >= 2 && var.max_concurrency <= 1000 && floor(var.max_concurrency) == var.max_concurrency
    error_message = "max_concurrency must be a whole number between 2 and 1000 (AWS's limits for SQS event sources)."
  }
}

variable "part_bytes" {
  description = "Size at which the worker closes a Parquet part and uploads it (ONBOARD_PART_BYTES, 1 MiB - 5 GiB); the part is written to /tmp first."
  type        = number
  default     = 134217728

  validation {
    condition     = var.part_bytes >= 1048576 && var.part_bytes <= 5368709120 && floor(var.part_bytes) == var.part_bytes
    error_message = "part_bytes must be a whole number between 1048576 (1 MiB) and 5368709120 (5 GiB, S3's single PUT limit)."
  }
}

variable "max_attempts" {
  description = "Attempts of one work message (ONBOARD_MAX_ATTEMPTS, 1-20): above it the worker marks the table failed and moves the message to the DLQ itself; the queue's maxReceiveCount is max_attempts + 2 as the backstop."
  type        = number
  default     = 3

  validation {
    condition     = var.max_attempts >= 1 && var.max_attempts <= 20 && floor(var.max_attempts) == var.max_attempts
    error_message = "max_attempts must be a whole number between 1 and 20."
  }
}

variable "run_retention_days" {
  description = "Days the state table keeps a run's items (ONBOARD_RUN_RETENTION_DAYS of both functions, TTL on expires_at); high-water marks never expire."
  type        = number
  default     = 90

  validation {
    condition     = var.run_retention_days >= 1 && var.run_retention_days <= 3650 && floor(var.run_retention_days) == var.run_retention_days
    error_message = "run_retention_days must be a whole number between 1 and 3650."
  }
}

variable "worker_timeout" {
  description = "Worker timeout in seconds (the work queue's visibility timeout is 6x this): a table or range longer than this continues in a new message."
  type        = number
  default     = 900

  validation {
    condition     = var.worker_timeout >= 60 && var.worker_timeout <= 900 && floor(var.worker_timeout) == var.worker_timeout
    error_message = "worker_timeout must be a whole number between 60 and 900 seconds."
  }
}

variable "worker_memory_size" {
  description = "Worker memory in MB (record batches in flight; CPU scales with it)."
  type        = number
  default     = 1024

  validation {
    condition     = var.worker_memory_size >= 256 && var.worker_memory_size <= 10240 && floor(var.worker_memory_size) == var.worker_memory_size
    error_message = "worker_memory_size must be a whole number between 256 and 10240."
  }
}

variable "worker_ephemeral_storage_mb" {
  description = "Worker /tmp in MB: holds the Parquet part being written, so at least part_bytes plus headroom."
  type        = number
  default     = 2048

  validation {
    condition     = var.worker_ephemeral_storage_mb >= 512 && var.worker_ephemeral_storage_mb <= 10240 && floor(var.worker_ephemeral_storage_mb) == var.worker_ephemeral_storage_mb
    error_message = "worker_ephemeral_storage_mb must be a whole number between 512 and 10240."
  }

  validation {
    condition     = var.worker_ephemeral_storage_mb * 1048576 >= var.part_bytes * 1.5
    error_message = "worker_ephemeral_storage_mb must hold a part and a half (part_bytes * 1.5)."
  }
}

variable "dispatcher_timeout" {
  description = "Dispatcher timeout in seconds (reads the catalog, writes the run and sends the work)."
  type        = number
  default     = 300

  validation {
    condition     = var.dispatcher_timeout >= 10 && var.dispatcher_timeout <= 900 && floor(var.dispatcher_timeout) == var.dispatcher_timeout
    error_message = "dispatcher_timeout must be a whole number between 10 and 900 seconds."
  }
}

variable "dispatcher_memory_size" {
  description = "Dispatcher memory in MB."
  type        = number
  default     = 512

  validation {
    condition     = var.dispatcher_memory_size >= 128 && var.dispatcher_memory_size <= 10240 && floor(var.dispatcher_memory_size) == var.dispatcher_memory_size
    error_message = "dispatcher_memory_size must be a whole number between 128 and 10240."
  }
}

variable "work_retention_seconds" {
  description = "Seconds the work queue keeps a message (60-1209600); the DLQ keeps its messages 14 days."
  type        = number
  default     = 345600

  validation {
    condition     = var.work_retention_seconds >= 60 && var.work_retention_seconds < 1209600
    error_message = "work_retention_seconds must be between 60 and 1209599 (below the DLQ's 14 days)."
  }
}

# ---------------------------------------------------------------------------------------------
# Network: databases in a VPC
# ---------------------------------------------------------------------------------------------
variable "subnet_ids" {
  description = "Subnets the two functions run in (to reach a database in a VPC); [] (default) runs them outside any VPC."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for s in var.subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", s))])
    error_message = "subnet_ids must be subnet-... ids."
  }
}

variable "security_group_ids" {
  description = "Security groups of the two functions (needed with subnet_ids): the database's group must admit them."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for g in var.security_group_ids : can(regex("^sg-[0-9a-f]{8,17}$", g))])
    error_message = "security_group_ids must be sg-... ids."
  }

  validation {
    condition     = (length(var.subnet_ids) == 0) == (length(var.security_group_ids) == 0)
    error_message = "subnet_ids and security_group_ids are given together (a VPC function needs both) or not at all."
  }
}

variable "create_vpc_endpoints" {
  description = "Create the VPC endpoints the functions need without a NAT gateway: S3 and DynamoDB (gateway, on route_table_ids), Secrets Manager, SQS and EventBridge (interface, in subnet_ids)."
  type        = bool
  default     = false
}

variable "vpc_id" {
  description = "VPC of subnet_ids (needed with create_vpc_endpoints)."
  type        = string
  default     = null

  validation {
    condition     = var.vpc_id == null || can(regex("^vpc-[0-9a-f]{8,17}$", coalesce(var.vpc_id, "-")))
    error_message = "vpc_id must be a vpc-... id."
  }

  validation {
    condition     = !var.create_vpc_endpoints || (var.vpc_id != null && length(var.subnet_ids) > 0)
    error_message = "create_vpc_endpoints needs vpc_id and subnet_ids."
  }
}

variable "route_table_ids" {
  description = "Route tables of subnet_ids: the S3 and DynamoDB gateway endpoints are added to them (needed with create_vpc_endpoints)."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for r in var.route_table_ids : can(regex("^rtb-[0-9a-f]{8,17}$", r))])
    error_message = "route_table_ids must be rtb-... ids."
  }

  validation {
    condition     = !var.create_vpc_endpoints || length(var.route_table_ids) > 0
    error_message = "create_vpc_endpoints needs the subnets' route_table_ids (for the S3 and DynamoDB gateway endpoints)."
  }
}

# ---------------------------------------------------------------------------------------------
# Common
# ---------------------------------------------------------------------------------------------
variable "bucket_name_suffix" {
  description = "Appended to the landing bucket's name (\"<name_prefix>-onboard<suffix>\") to make it globally unique; null appends \"-<account id>-<region>\", \"\" appends nothing (the local emulator)."
  type        = string
  default     = null

  validation {
    condition     = var.bucket_name_suffix == null || can(regex("^(-[a-z0-9-]*[a-z0-9])?$", var.bucket_name_suffix))
    error_message = "bucket_name_suffix must be empty or start with a hyphen, using lowercase letters, digits and hyphens."
  }
}

variable "force_destroy" {
  description = "Let terraform destroy delete the landing bucket with its objects (false in prod)."
  type        = bool
  default     = false
}

variable "noncurrent_version_expiration_days" {
  description = "Days a replaced landing object version is kept (a retried part rewrites its key)."
  type        = number
  default     = 30
}

variable "deletion_protection" {
  description = "Refuse to delete the state table (keep true in prod: it holds the high-water marks of incremental tables)."
  type        = bool
  default     = true
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the functions' logs (validated by the function module)."
  type        = number
  default     = 365
}

variable "log_level" {
  description = "Log level of the two functions (POWERTOOLS_LOG_LEVEL)."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING, ERROR or CRITICAL."
  }
}

variable "metrics_namespace" {
  description = "CloudWatch metrics namespace of the two functions (POWERTOOLS_METRICS_NAMESPACE); the failed-tables alarm watches TablesFailed there."
  type        = string
  default     = "headwater"

  validation {
    condition     = can(regex("^[A-Za-z0-9._/#:-]{1,255}$", var.metrics_namespace))
    error_message = "metrics_namespace must be 1-255 characters of letters, digits and . _ / # : -."
  }
}

variable "tags" {
  description = "Tags applied to every resource of the module."
  type        = map(string)
  default     = {}
}
