variable "name_prefix" {
  description = "Prefix of every resource name, e.g. \"headwater-dev\" (the table is \"<prefix>-lookups\")."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,38}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-40 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "artifact_path" {
  description = "Path of the loader's Lambda zip (the \"data\" function group, scripts/build_artifact.py)."
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

variable "raw_bucket_name" {
  description = "Bucket the lookup CSVs land in (platform output raw_bucket_name); its EventBridge notifications must be on (the platform module turns them on)."
  type        = string
}

variable "raw_bucket_arn" {
  description = "ARN of the raw bucket (platform output raw_bucket_arn)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9.-]+$", var.raw_bucket_arn))
    error_message = "raw_bucket_arn must be an S3 bucket ARN."
  }
}

variable "key_prefix" {
  description = "Lookup root in the raw bucket: files land under \"<key_prefix><dataset>/\" (LOOKUP_PREFIX)."
  type        = string
  default     = "lookup/"

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*/$", var.key_prefix))
    error_message = "key_prefix must be a non-empty S3 key prefix of safe characters ending with \"/\", e.g. \"lookup/\"."
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
  description = "KMS key for the table, the DLQ, the functions' logs and environment (platform output kms_key_arn); its policy must allow events, cloudwatch and logs service principals."
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

variable "event_bus_name" {
  description = "Event bus receiving the loader's \"Lookup Load Succeeded/Failed\" events (EVENT_BUS_NAME)."
  type        = string
  default     = "default"

  validation {
    condition     = can(regex("^[A-Za-z0-9._/-]{1,256}$", var.event_bus_name))
    error_message = "event_bus_name must be an event bus name (not an ARN)."
  }
}

variable "deletion_protection" {
  description = "Refuse to delete the table (keep true in prod; local and dev set false to tear down)."
  type        = bool
  default     = true
}

variable "metrics_namespace" {
  description = "CloudWatch metrics namespace of the loader (POWERTOOLS_METRICS_NAMESPACE)."
  type        = string
  default     = "headwater"

  validation {
    condition     = can(regex("^[A-Za-z0-9._/#:-]{1,255}$", var.metrics_namespace))
    error_message = "metrics_namespace must be 1-255 characters of letters, digits and . _ / # : -."
  }
}

variable "loader_timeout" {
  description = "Loader timeout in seconds: a whole file is read, written and switched in one invocation."
  type        = number
  default     = 600

  validation {
    condition     = var.loader_timeout >= 1 && var.loader_timeout <= 900
    error_message = "loader_timeout must be between 1 and 900 seconds."
  }
}

variable "loader_memory_size" {
  description = "Loader memory in MB (CPU, and so write throughput, scale with it)."
  type        = number
  default     = 1024

  validation {
    condition     = var.loader_memory_size >= 128 && var.loader_memory_size <= 10240
    error_message = "loader_memory_size must be between 128 and 10240."
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

variable "event_retry_attempts" {
  description = "Times EventBridge retries delivering an Object Created event to the loader before the DLQ (0-185)."
  type        = number
  default     = 185

  validation {
    condition     = var.event_retry_attempts >= 0 && var.event_retry_attempts <= 185
    error_message = "event_retry_attempts must be between 0 and 185."
  }
}

variable "event_maximum_age_seconds" {
  description = "Oldest event EventBridge still delivers to the loader (60-86400 s); older ones go to the DLQ."
  type        = number
  default     = 86400

  validation {
    condition     = var.event_maximum_age_seconds >= 60 && var.event_maximum_age_seconds <= 86400
    error_message = "event_maximum_age_seconds must be between 60 and 86400."
  }
}

variable "dlq_message_retention_seconds" {
  description = "How long the DLQ keeps an undelivered or failed load event (60 s - 14 days)."
  type        = number
  default     = 1209600

  validation {
    condition     = var.dlq_message_retention_seconds >= 60 && var.dlq_message_retention_seconds <= 1209600
    error_message = "dlq_message_retention_seconds must be between 60 and 1209600."
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
