variable "name_prefix" {
  description = "Prefix of every resource name, e.g. \"headwater-dev\" (the table is \"<prefix>-records\")."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,38}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-40 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "artifact_path" {
  description = "Path of the summary function's Lambda zip (the \"data\" function group, scripts/build_artifact.py)."
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
  description = "KMS key of the tables, the export bucket, the functions' logs and environment (platform output kms_key_arn)."
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

variable "record_datasets" {
  description = "Record datasets: name -> { description, schema }, schema being the dataset's request JSON Schema (draft 4) as text. Generated: `headwater records schemas` writes terraform/environments/record_datasets.auto.tfvars.json."
  type = map(object({
    description = string
    schema      = string
  }))

  validation {
    condition     = alltrue([for name in keys(var.record_datasets) : can(regex("^[a-z0-9][a-z0-9_-]{0,62}$", name))])
    error_message = "record_datasets names must be 1-63 lowercase letters, digits, _ and -, starting with a letter or digit (the declarations' rule)."
  }

  validation {
    condition     = alltrue([for d in values(var.record_datasets) : can(jsondecode(d.schema).type) || can(jsondecode(d.schema).oneOf)])
    error_message = "each record dataset's schema must be a JSON Schema document (headwater records schemas)."
  }

  validation {
    condition     = alltrue([for d in values(var.record_datasets) : length(d.description) > 0 && length(d.description) <= 400])
    error_message = "each record dataset needs a description of 1-400 characters."
  }
}

variable "body_and_params_validator_id" {
  description = "Request validator checking parameters and the body against the method's model (platform output body_and_params_validator_id): the POST routes use it."
  type        = string
}

variable "bucket_name_suffix" {
  description = "Appended to the export bucket's name (\"<name_prefix>-records<suffix>\") to make it globally unique; null appends \"-<account id>-<region>\", \"\" appends nothing (the local emulator)."
  type        = string
  default     = null

  validation {
    condition     = var.bucket_name_suffix == null || can(regex("^(-[a-z0-9-]*[a-z0-9])?$", var.bucket_name_suffix))
    error_message = "bucket_name_suffix must be empty or start with a hyphen, using lowercase letters, digits and hyphens."
  }
}

variable "export_prefix" {
  description = "Key prefix of the summaries in the export bucket (EXPORT_PREFIX): <prefix><dataset>/week=YYYY-Www/."
  type        = string
  default     = "summaries/"

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*/$", var.export_prefix))
    error_message = "export_prefix must be a non-empty S3 key prefix of safe characters ending with \"/\", e.g. \"summaries/\"."
  }
}

variable "force_destroy" {
  description = "Let terraform destroy delete the export bucket with its objects (false in prod)."
  type        = bool
  default     = false
}

variable "noncurrent_version_expiration_days" {
  description = "Days a replaced export object version is kept (a rerun of a week replaces its objects)."
  type        = number
  default     = 30
}

variable "deletion_protection" {
  description = "Refuse to delete the tables (keep true in prod; local and dev set false to tear down)."
  type        = bool
  default     = true
}

variable "log_level" {
  description = "Log level of both functions (POWERTOOLS_LOG_LEVEL)."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING, ERROR or CRITICAL."
  }
}

variable "schedule_group_name" {
  description = "EventBridge Scheduler group of the platform (platform output schedule_group_name)."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-zA-Z._-]{1,64}$", var.schedule_group_name))
    error_message = "schedule_group_name must be 1-64 letters, digits, . _ -."
  }
}

variable "scheduler_role_name" {
  description = "Name of the platform's Scheduler execution role (platform output scheduler_role_name): this module adds lambda:InvokeFunction on the summary function to it."
  type        = string

  validation {
    condition     = can(regex("^[\\w+=,.@-]{1,64}$", var.scheduler_role_name))
    error_message = "scheduler_role_name must be an IAM role name."
  }
}

variable "scheduler_role_arn" {
  description = "ARN of the platform's Scheduler execution role (platform output scheduler_role_arn)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/", var.scheduler_role_arn))
    error_message = "scheduler_role_arn must be an IAM role ARN."
  }
}

variable "scheduler_dlq_arn" {
  description = "The platform's Scheduler dead-letter queue (platform output scheduler_dlq_arn): invocations that fail after the retries land there."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:sqs:", var.scheduler_dlq_arn))
    error_message = "scheduler_dlq_arn must be an SQS queue ARN."
  }
}

variable "summary_schedule_expression" {
  description = "When the weekly summary runs: an EventBridge Scheduler cron() or rate() expression (default Monday 06:00 in summary_schedule_time_zone)."
  type        = string
  default     = "cron(0 6 ? * MON *)"

  validation {
    # cron(): six space-separated fields; rate(): a positive value and a unit. The domain's
    # headwater.schedule_expressions checks the fields themselves.
    condition = (
      can(regex("^cron\\(\\S+ \\S+ \\S+ \\S+ \\S+ \\S+\\)$", var.summary_schedule_expression)) ||
      can(regex("^rate\\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\\)$", var.summary_schedule_expression))
    )
    error_message = "summary_schedule_expression must be cron(<6 fields>) or rate(<n> <unit>), e.g. \"cron(0 6 ? * MON *)\"."
  }
}

variable "summary_schedule_time_zone" {
  description = "IANA time zone of the schedule and of the week boundaries (SUMMARY_TIME_ZONE), e.g. \"UTC\" or \"Europe/Paris\"."
  type        = string
  default     = "UTC"

  validation {
    condition     = can(regex("^(UTC|[A-Z][A-Za-z_]+(/[A-Za-z0-9_+-]+){1,2})$", var.summary_schedule_time_zone))
    error_message = "summary_schedule_time_zone must be an IANA zone name such as UTC or Europe/Paris."
  }
}

variable "summary_schedule_enabled" {
  description = "Whether the weekly schedule fires (disable to pause summaries; `headwater records summary` still runs them)."
  type        = bool
  default     = true
}

variable "summary_maximum_retry_attempts" {
  description = "Times Scheduler retries a failed summary invocation before the DLQ (0-185)."
  type        = number
  default     = 3

  validation {
    condition     = var.summary_maximum_retry_attempts >= 0 && var.summary_maximum_retry_attempts <= 185 && floor(var.summary_maximum_retry_attempts) == var.summary_maximum_retry_attempts
    error_message = "summary_maximum_retry_attempts must be a whole number between 0 and 185."
  }
}

variable "summary_maximum_event_age_seconds" {
  description = "Oldest scheduled invocation Scheduler still retries (60-86400 s); older ones go to the DLQ."
  type        = number
  default     = 86400

  validation {
    condition     = var.summary_maximum_event_age_seconds >= 60 && var.summary_maximum_event_age_seconds <= 86400
    error_message = "summary_maximum_event_age_seconds must be between 60 and 86400."
  }
}

variable "summary_memory_size" {
  description = "Summary function memory in MB: the export streams pages and writes row groups, so it does not grow with the week."
  type        = number
  default     = 1024

  validation {
    condition     = var.summary_memory_size >= 128 && var.summary_memory_size <= 10240
    error_message = "summary_memory_size must be between 128 and 10240."
  }
}

variable "summary_timeout" {
  description = "Summary function timeout in seconds (every dataset's week in one invocation)."
  type        = number
  default     = 900

  validation {
    condition     = var.summary_timeout >= 1 && var.summary_timeout <= 900
    error_message = "summary_timeout must be between 1 and 900 seconds."
  }
}

variable "metrics_namespace" {
  description = "CloudWatch metrics namespace of the summary function (POWERTOOLS_METRICS_NAMESPACE)."
  type        = string
  default     = "headwater"

  validation {
    condition     = can(regex("^[A-Za-z0-9._/#:-]{1,255}$", var.metrics_namespace))
    error_message = "metrics_namespace must be 1-255 characters of letters, digits and . _ / # : -."
  }
}
