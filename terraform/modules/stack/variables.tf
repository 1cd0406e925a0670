variable "name_prefix" {
  description = "Prefix of every resource name: \"headwater-<env>\"."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,22}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-24 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "bucket_name_suffix" {
  description = "Appended to bucket names for global uniqueness; null appends \"-<account id>-<region>\", \"\" nothing (the local emulator)."
  type        = string
  default     = null

  validation {
    condition     = var.bucket_name_suffix == null || can(regex("^(-[a-z0-9-]*[a-z0-9])?$", coalesce(var.bucket_name_suffix, "-x")))
    error_message = "bucket_name_suffix must be empty or start with a hyphen, using lowercase letters, digits and hyphens."
  }
}

variable "artifacts" {
  description = "Lambda zips per function group (scripts/build_artifact.py): { api = <zip of API functions>, data = <zip of data functions> }, relative to the calling environment's directory."
  type        = map(string)

  validation {
    condition     = length(setsubtract(["api", "data"], keys(var.artifacts))) == 0 && length(setsubtract(keys(var.artifacts), ["api", "data"])) == 0
    error_message = "artifacts must have exactly the keys \"api\" and \"data\"."
  }

  validation {
    condition     = alltrue([for path in values(var.artifacts) : endswith(path, ".zip")])
    error_message = "every artifact must be a .zip file."
  }
}

variable "architecture" {
  description = "Instruction set the artifacts were built for: arm64 or x86_64."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be arm64 or x86_64."
  }
}

variable "ingest_key_prefix" {
  description = "Ingest root in the raw bucket."
  type        = string
  default     = "ingest/"

  validation {
    condition     = endswith(var.ingest_key_prefix, "/") && length(var.ingest_key_prefix) > 1
    error_message = "ingest_key_prefix must be a non-empty prefix ending with \"/\"."
  }
}

variable "lookup_key_prefix" {
  description = "Lookup root in the raw bucket: CSVs land under <prefix><dataset>/."
  type        = string
  default     = "lookup/"

  validation {
    condition     = endswith(var.lookup_key_prefix, "/") && length(var.lookup_key_prefix) > 1
    error_message = "lookup_key_prefix must be a non-empty prefix ending with \"/\"."
  }

  validation {
    # Overlapping roots would hand one file to two capabilities.
    condition     = !startswith(var.lookup_key_prefix, var.ingest_key_prefix) && !startswith(var.ingest_key_prefix, var.lookup_key_prefix)
    error_message = "lookup_key_prefix and ingest_key_prefix must not overlap."
  }
}

variable "log_level" {
  description = "Log level of the ingest processor (POWERTOOLS_LOG_LEVEL)."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING, ERROR or CRITICAL."
  }
}

variable "force_destroy" {
  description = "Let terraform destroy delete non-empty buckets. Keep false where data matters."
  type        = bool
  default     = false
}

variable "deletion_protection" {
  description = "Refuse to delete the lookup table and the tenancy directory table (true in prod)."
  type        = bool
  default     = true
}

variable "kms_deletion_window_days" {
  description = "Waiting period before the platform key is deleted after a destroy (7-30 days)."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30
    error_message = "kms_deletion_window_days must be between 7 and 30."
  }
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps function and access logs (one of CloudWatch's allowed values)."
  type        = number
  default     = 365

  validation {
    condition = contains(
      [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653],
      var.log_retention_days,
    )
    error_message = "log_retention_days must be one of CloudWatch's allowed values (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, ...)."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days replaced or deleted object versions are kept in the buckets."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1
    error_message = "noncurrent_version_expiration_days must be at least 1."
  }
}

variable "ingest_function_timeout" {
  description = "Ingest processor timeout in seconds (its queue's visibility timeout derives from it)."
  type        = number
  default     = 120

  validation {
    condition     = var.ingest_function_timeout >= 1 && var.ingest_function_timeout <= 900
    error_message = "ingest_function_timeout must be between 1 and 900 seconds."
  }
}

variable "ingest_memory_size" {
  description = "Ingest processor memory in MB."
  type        = number
  default     = 1024

  validation {
    condition     = var.ingest_memory_size >= 128 && var.ingest_memory_size <= 10240
    error_message = "ingest_memory_size must be between 128 and 10240."
  }
}

variable "ingest_batching_window_seconds" {
  description = "Seconds the ingest event source mapping may wait to fill a batch (0-300)."
  type        = number
  default     = 0

  validation {
    condition     = var.ingest_batching_window_seconds >= 0 && var.ingest_batching_window_seconds <= 300
    error_message = "ingest_batching_window_seconds must be between 0 and 300."
  }
}

variable "ingest_maximum_concurrency" {
  description = "Most concurrent ingest processor invocations (2-1000)."
  type        = number
  default     = 5

  validation {
    condition     = var.ingest_maximum_concurrency >= 2 && var.ingest_maximum_concurrency <= 1000
    error_message = "ingest_maximum_concurrency must be between 2 and 1000."
  }
}

variable "ingest_deferral_alarm" {
  description = "The ingest FilesDeferred alarm: { threshold, period_seconds, evaluation_periods }, each optional (unset: ../ingest's default, which also validates them)."
  type = object({
    threshold          = optional(number)
    period_seconds     = optional(number)
    evaluation_periods = optional(number)
  })
  default  = {}
  nullable = false
}

variable "alerts_topic_arn" {
  description = "Existing SNS topic for alarms; null creates \"<name_prefix>-alerts\"."
  type        = string
  default     = null

  validation {
    condition     = var.alerts_topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:", coalesce(var.alerts_topic_arn, "-")))
    error_message = "alerts_topic_arn must be an SNS topic ARN."
  }
}

variable "alert_emails" {
  description = "Email addresses subscribed to the created alerts topic."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.alert_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "alert_emails must be email addresses."
  }
}

variable "manage_api_gateway_account" {
  description = "Create and set the account's API Gateway CloudWatch Logs role (see ../platform). Stage access logging needs it and a fresh account has none; one stack per account and region may own it."
  type        = bool
  default     = false
}

variable "subscribers" {
  description = "API subscribers: name -> { throttle_rate_limit, throttle_burst_limit, quota_limit, quota_period, datasets } (one key and usage plan each; datasets: the lookup datasets it may read, every other is a 403; validated by ../api_stage)."
  type = map(object({
    throttle_rate_limit  = number
    throttle_burst_limit = number
    quota_limit          = number
    quota_period         = string
    datasets             = list(string)
  }))
  default = {}
}

variable "internal_keys" {
  description = "Internal API keys (throttle, no quota, read every dataset): name -> { throttle_rate_limit, throttle_burst_limit } (validated by ../api_stage)."
  type = map(object({
    throttle_rate_limit  = number
    throttle_burst_limit = number
  }))
  default = {}
}

variable "tags" {
  description = "Tags applied to every resource (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}
}
