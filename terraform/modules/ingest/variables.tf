variable "name_prefix" {
  description = "Prefix of every resource name, e.g. \"headwater-dev\"."
  type        = string

  validation {
    # Bucket names are the strictest consumer: lowercase, digits, hyphens, at most 63 characters
    # for "<prefix>-quarantine-<12-digit account>-<region>" (up to 39 characters after the prefix).
    condition     = can(regex("^[a-z][a-z0-9-]{1,22}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-24 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "bucket_name_suffix" {
  description = "Appended to the curated and quarantine bucket names (\"<name_prefix>-curated<suffix>\") to make them globally unique; null appends \"-<account id>-<region>\", \"\" appends nothing (the local emulator)."
  type        = string
  default     = null

  validation {
    condition     = var.bucket_name_suffix == null || can(regex("^(-[a-z0-9-]*[a-z0-9])?$", var.bucket_name_suffix))
    error_message = "bucket_name_suffix must be empty or start with a hyphen, using lowercase letters, digits and hyphens."
  }
}

variable "artifact_path" {
  description = "Path of the Lambda zip of the \"data\" function group (scripts/build_artifact.py)."
  type        = string

  validation {
    condition     = endswith(var.artifact_path, ".zip")
    error_message = "artifact_path must point at a .zip file."
  }
}

variable "raw_bucket_name" {
  description = "Bucket files land in (platform output raw_bucket_name); its EventBridge notifications must be on (the platform module turns them on)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.raw_bucket_name))
    error_message = "raw_bucket_name must be an S3 bucket name."
  }
}

variable "raw_bucket_arn" {
  description = "ARN of the raw bucket (platform output raw_bucket_arn)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9.-]+$", var.raw_bucket_arn))
    error_message = "raw_bucket_arn must be an S3 bucket ARN."
  }
}

variable "kms_key_arn" {
  description = "KMS key for the buckets, topic, queues and logs (platform output kms_key_arn); its policy must allow events, sns, cloudwatch and logs service principals."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "alarm_topic_arn" {
  description = "SNS topic the alarms notify (platform output alerts_topic_arn)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:sns:", var.alarm_topic_arn))
    error_message = "alarm_topic_arn must be an SNS topic ARN."
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

variable "key_prefix" {
  description = "Ingest root in the raw bucket: only objects created under it trigger the processor (other capabilities use other roots)."
  type        = string
  default     = "ingest/"

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*/$", var.key_prefix))
    error_message = "key_prefix must be a non-empty S3 key prefix of safe characters ending with \"/\", e.g. \"ingest/\"."
  }
}

variable "force_destroy" {
  description = "Let terraform destroy delete the non-empty curated and quarantine buckets (object versions included). Keep false where data matters."
  type        = bool
  default     = false
}

variable "noncurrent_version_expiration_days" {
  description = "Days a replaced or deleted object version is kept before it expires."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1
    error_message = "noncurrent_version_expiration_days must be at least 1."
  }
}

variable "abort_incomplete_multipart_days" {
  description = "Days after which unfinished multipart uploads are aborted (their parts cost storage)."
  type        = number
  default     = 7

  validation {
    condition     = var.abort_incomplete_multipart_days >= 1
    error_message = "abort_incomplete_multipart_days must be at least 1."
  }
}

variable "function_timeout" {
  description = "Processor timeout in seconds; the queue's visibility timeout is derived from it."
  type        = number
  default     = 120

  validation {
    # 6x timeout + batching window must stay within SQS's 12-hour visibility limit.
    condition     = var.function_timeout >= 1 && var.function_timeout <= 900
    error_message = "function_timeout must be between 1 and 900 seconds."
  }
}

variable "function_memory_size" {
  description = "Processor memory in MB. Conversion streams, so memory does not grow with file size."
  type        = number
  default     = 1024

  validation {
    condition     = var.function_memory_size >= 128 && var.function_memory_size <= 10240
    error_message = "function_memory_size must be between 128 and 10240."
  }
}

variable "log_level" {
  description = "Processor log level (POWERTOOLS_LOG_LEVEL)."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING, ERROR or CRITICAL."
  }
}

variable "metrics_namespace" {
  description = "CloudWatch metrics namespace of the processor (POWERTOOLS_METRICS_NAMESPACE)."
  type        = string
  default     = "headwater"

  validation {
    condition     = can(regex("^[A-Za-z0-9._/#:-]{1,255}$", var.metrics_namespace))
    error_message = "metrics_namespace must be 1-255 characters of letters, digits and . _ / # : -."
  }
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the processor's logs (one of CloudWatch's allowed values; validated by the function module)."
  type        = number
  default     = 365
}

variable "batch_size" {
  description = "Maximum SQS messages (files) per processor invocation."
  type        = number
  default     = 10

  validation {
    condition     = var.batch_size >= 1 && var.batch_size <= 10000
    error_message = "batch_size must be between 1 and 10000."
  }
}

variable "batching_window_seconds" {
  description = "Seconds the event source mapping may wait to fill a batch (0-300). Batches above 10 need at least 1."
  type        = number
  default     = 0

  validation {
    condition     = var.batching_window_seconds >= 0 && var.batching_window_seconds <= 300
    error_message = "batching_window_seconds must be between 0 and 300."
  }

  validation {
    condition     = var.batch_size <= 10 || var.batching_window_seconds >= 1
    error_message = "SQS requires batching_window_seconds >= 1 when batch_size is above 10."
  }
}

variable "maximum_concurrency" {
  description = "Most concurrent processor invocations the SQS event source mapping starts (2-1000)."
  type        = number
  default     = 5

  validation {
    condition     = var.maximum_concurrency >= 2 && var.maximum_concurrency <= 1000
    error_message = "maximum_concurrency must be between 2 and 1000 (AWS's limits for SQS event sources)."
  }
}

variable "max_receive_count" {
  description = "Receives of a message before SQS moves it to the dead-letter queue."
  type        = number
  default     = 5

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000
    error_message = "max_receive_count must be between 1 and 1000."
  }
}

variable "message_retention_seconds" {
  description = "How long the work queue keeps a message (60 s - 14 days)."
  type        = number
  default     = 345600

  validation {
    condition     = var.message_retention_seconds >= 60 && var.message_retention_seconds <= 1209600
    error_message = "message_retention_seconds must be between 60 and 1209600."
  }
}

variable "dlq_message_retention_seconds" {
  description = "How long the dead-letter queue keeps a message (60 s - 14 days); longer than the work queue so nothing expires before someone looks."
  type        = number
  default     = 1209600

  validation {
    condition     = var.dlq_message_retention_seconds >= 60 && var.dlq_message_retention_seconds <= 1209600
    error_message = "dlq_message_retention_seconds must be between 60 and 1209600."
  }

  validation {
    # A message keeps its original enqueue time when it moves to the DLQ: a DLQ that keeps
    # messages no longer than the work queue could expire them on arrival.
    condition     = var.dlq_message_retention_seconds > var.message_retention_seconds
    error_message = "dlq_message_retention_seconds must be longer than message_retention_seconds."
  }
}

variable "tags" {
  description = "Tags applied to every resource of the module."
  type        = map(string)
  default     = {}
}

variable "function_ephemeral_storage_mb" {
  description = "Processor /tmp size in MB: must hold the largest file's Parquet output plus 8 bytes per row."
  type        = number
  default     = 2048

  validation {
    condition     = var.function_ephemeral_storage_mb >= 512 && var.function_ephemeral_storage_mb <= 10240
    error_message = "function_ephemeral_storage_mb must be between 512 and 10240."
  }
}

variable "deferral_alarm_threshold" {
  description = "FilesDeferred alarm: deferred files per period above which a period breaches (deferrals under load are normal; sustained ones mean function_timeout is too small for the batches)."
  type        = number
  default     = 0
  nullable    = false # null (e.g. from ../stack): the default

  validation {
    condition     = var.deferral_alarm_threshold >= 0 && floor(var.deferral_alarm_threshold) == var.deferral_alarm_threshold
    error_message = "deferral_alarm_threshold must be a whole number of files, 0 or more."
  }
}

variable "deferral_alarm_period_seconds" {
  description = "FilesDeferred alarm: length of one evaluation period in seconds (60 or a multiple of 60)."
  type        = number
  default     = 300
  nullable    = false # null (e.g. from ../stack): the default

  validation {
    condition     = var.deferral_alarm_period_seconds >= 60 && var.deferral_alarm_period_seconds % 60 == 0
    error_message = "deferral_alarm_period_seconds must be 60 or a multiple of 60."
  }
}

variable "deferral_alarm_evaluation_periods" {
  description = "FilesDeferred alarm: consecutive breaching periods before it alarms (sustained deferrals, not one busy batch)."
  type        = number
  default     = 3
  nullable    = false # null (e.g. from ../stack): the default

  validation {
    # PutMetricAlarm: period x evaluation periods at most 7 days, and at most 1 day for periods
    # under an hour.
    condition     = var.deferral_alarm_evaluation_periods >= 1 && floor(var.deferral_alarm_evaluation_periods) == var.deferral_alarm_evaluation_periods && var.deferral_alarm_evaluation_periods * var.deferral_alarm_period_seconds <= (var.deferral_alarm_period_seconds < 3600 ? 86400 : 604800)
    error_message = "deferral_alarm_evaluation_periods must be a whole number of at least 1; evaluation periods x period may not exceed one day (86400 s) for periods under an hour, seven days (604800 s) otherwise."
  }
}
