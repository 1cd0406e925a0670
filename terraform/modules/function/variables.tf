variable "name" {
  description = "Function name; also names the role (\"<name>\") and the log group (\"/aws/lambda/<name>\")."
  type        = string

  validation {
    # Lambda allows 64 characters; IAM role names also cap at 64.
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.name))
    error_message = "name must be 1-64 characters of letters, digits, hyphens and underscores."
  }
}

variable "description" {
  description = "Human-readable description of the function."
  type        = string
  default     = ""
}

variable "artifact_path" {
  description = "Path of the deployment zip (built by scripts/build_artifact.py). Its hash drives updates."
  type        = string

  validation {
    condition     = endswith(var.artifact_path, ".zip")
    error_message = "artifact_path must point at a .zip file."
  }
}

variable "handler" {
  description = "Python entrypoint as \"module.path.function\", e.g. \"headwater.handlers.ingest_processor.handler\"."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)+$", var.handler))
    error_message = "handler must look like \"package.module.function\"."
  }
}

variable "runtime" {
  description = "Lambda runtime. The artifact is built for python3.12."
  type        = string
  default     = "python3.12"

  validation {
    condition     = contains(["python3.12", "python3.13"], var.runtime)
    error_message = "runtime must be python3.12 or python3.13."
  }
}

variable "architecture" {
  description = "Instruction set the artifact was built for: arm64 (cheaper per GB-second) or x86_64."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be arm64 or x86_64."
  }
}

variable "memory_size" {
  description = "Memory in MB (CPU scales with it)."
  type        = number
  default     = 512

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240 && floor(var.memory_size) == var.memory_size
    error_message = "memory_size must be a whole number between 128 and 10240."
  }
}

variable "timeout" {
  description = "Function timeout in seconds."
  type        = number
  default     = 60

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900 && floor(var.timeout) == var.timeout
    error_message = "timeout must be a whole number of seconds between 1 and 900."
  }
}

variable "environment_variables" {
  description = "Environment variables of the function: every name a handler needs arrives here."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.environment_variables) : can(regex("^[A-Za-z][A-Za-z0-9_]*$", k))])
    error_message = "environment variable names must start with a letter and contain only letters, digits and underscores."
  }

  validation {
    # AWS_* names are reserved by the Lambda runtime and rejected by the API.
    condition     = alltrue([for k in keys(var.environment_variables) : !startswith(k, "AWS_")])
    error_message = "environment variable names must not start with AWS_ (reserved by Lambda)."
  }
}

variable "policy_statements" {
  description = <<-EOT
    IAM statements of the function's inline policy, each scoped to the resources it needs:
    { sid, effect = "Allow"|"Deny" (default Allow), actions, resources,
      conditions = optional list of { test, variable, values } }.
    CloudWatch Logs write access to the function's own log group (and X-Ray when tracing is
    Active) is added by the module.
  EOT
  type = list(object({
    sid       = string
    effect    = optional(string, "Allow")
    actions   = list(string)
    resources = list(string)
    conditions = optional(list(object({
      test     = string
      variable = string
      values   = list(string)
    })), [])
  }))
  default = []

  validation {
    condition     = alltrue([for s in var.policy_statements : can(regex("^[A-Za-z0-9]+$", s.sid))])
    error_message = "each statement sid must be alphanumeric (IAM rejects other characters)."
  }

  validation {
    condition     = alltrue([for s in var.policy_statements : contains(["Allow", "Deny"], s.effect)])
    error_message = "each statement effect must be Allow or Deny."
  }

  validation {
    condition     = alltrue([for s in var.policy_statements : length(s.actions) > 0 && length(s.resources) > 0])
    error_message = "each statement needs at least one action and one resource."
  }

  validation {
    condition     = length(distinct([for s in var.policy_statements : s.sid])) == length(var.policy_statements)
    error_message = "statement sids must be unique."
  }
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the function's logs (one of CloudWatch's allowed values)."
  type        = number
  default     = 365

  validation {
    condition = contains(
      [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653],
      var.log_retention_days,
    )
    error_message = "log_retention_days must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for the log group and the environment variables; null uses AWS-owned keys. The key policy must allow logs.<region>.amazonaws.com."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "tracing_mode" {
  description = "X-Ray tracing: Active samples and traces requests, PassThrough only propagates headers."
  type        = string
  default     = "Active"

  validation {
    condition     = contains(["Active", "PassThrough"], var.tracing_mode)
    error_message = "tracing_mode must be Active or PassThrough."
  }
}

variable "reserved_concurrent_executions" {
  description = "Concurrency reserved for (and capping) the function; null leaves it unreserved."
  type        = number
  default     = null

  validation {
    condition     = var.reserved_concurrent_executions == null || try(var.reserved_concurrent_executions >= 0, false)
    error_message = "reserved_concurrent_executions must be null or a number >= 0."
  }
}

variable "alarm_topic_arn" {
  description = "SNS topic notified when the function reports errors; null creates the alarm without actions."
  type        = string
  default     = null
}

variable "create_error_alarm" {
  description = "Create a CloudWatch alarm on the function's Errors metric (> 0 in a minute)."
  type        = bool
  default     = true
}

variable "create_throttle_alarm" {
  description = "Create a CloudWatch alarm on the function's Throttles metric (> 0 in a minute)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags applied to every resource of the module."
  type        = map(string)
  default     = {}
}

variable "ephemeral_storage_mb" {
  description = "Size of the function's /tmp in MB."
  type        = number
  default     = 512

  validation {
    condition     = var.ephemeral_storage_mb >= 512 && var.ephemeral_storage_mb <= 10240 && floor(var.ephemeral_storage_mb) == var.ephemeral_storage_mb
    error_message = "ephemeral_storage_mb must be a whole number between 512 and 10240."
  }
}

variable "event_source_mappings" {
  description = <<-EOT
    Sources Lambda polls for this function, name -> mapping (SQS today; the stream attributes
    are ready for DynamoDB streams):
    { event_source_arn, enabled = true, batch_size, maximum_batching_window_in_seconds,
      function_response_types = [] (e.g. ["ReportBatchItemFailures"]),
      maximum_concurrency (SQS), starting_position ("LATEST"|"TRIM_HORIZON", streams),
      maximum_retry_attempts, maximum_record_age_in_seconds, bisect_batch_on_function_error,
      parallelization_factor, on_failure_destination_arn (streams), filter_patterns = [] }.
    The function's policy_statements must grant reading the source.
  EOT
  type = map(object({
    event_source_arn                   = string
    enabled                            = optional(bool, true)
    batch_size                         = optional(number)
    maximum_batching_window_in_seconds = optional(number)
    function_response_types            = optional(list(string), [])
    maximum_concurrency                = optional(number)
    starting_position                  = optional(string)
    maximum_retry_attempts             = optional(number)
    maximum_record_age_in_seconds      = optional(number)
    bisect_batch_on_function_error     = optional(bool)
    parallelization_factor             = optional(number)
    on_failure_destination_arn         = optional(string)
    filter_patterns                    = optional(list(string), [])
  }))
  default = {}

  validation {
    condition     = alltrue([for k in keys(var.event_source_mappings) : can(regex("^[a-z0-9_]{1,64}$", k))])
    error_message = "event_source_mappings keys must be 1-64 lowercase letters, digits and underscores."
  }

  validation {
    condition = alltrue([for m in values(var.event_source_mappings) :
    can(regex("^arn:aws[a-z-]*:(sqs|dynamodb|kinesis|kafka):", m.event_source_arn))])
    error_message = "event_source_arn must be an SQS queue, DynamoDB stream, Kinesis stream or Kafka ARN."
  }

  validation {
    condition = alltrue([for m in values(var.event_source_mappings) :
    m.batch_size == null || try(m.batch_size >= 1 && m.batch_size <= 10000, false)])
    error_message = "batch_size must be between 1 and 10000."
  }

  validation {
    condition = alltrue([for m in values(var.event_source_mappings) :
    m.maximum_batching_window_in_seconds == null || try(m.maximum_batching_window_in_seconds >= 0 && m.maximum_batching_window_in_seconds <= 300, false)])
    error_message = "maximum_batching_window_in_seconds must be between 0 and 300."
  }

  validation {
    condition = alltrue([for m in values(var.event_source_mappings) :
    alltrue([for t in m.function_response_types : t == "ReportBatchItemFailures"])])
    error_message = "function_response_types may only contain \"ReportBatchItemFailures\"."
  }

  validation {
    condition = alltrue([for m in values(var.event_source_mappings) :
    m.maximum_concurrency == null || try(m.maximum_concurrency >= 2 && m.maximum_concurrency <= 1000, false)])
    error_message = "maximum_concurrency must be between 2 and 1000 (AWS's limits for SQS event sources)."
  }

  validation {
    condition = alltrue([for m in values(var.event_source_mappings) :
    m.starting_position == null || contains(["LATEST", "TRIM_HORIZON", "AT_TIMESTAMP"], coalesce(m.starting_position, "-"))])
    error_message = "starting_position must be LATEST, TRIM_HORIZON or AT_TIMESTAMP."
  }
}

variable "allowed_triggers" {
  description = <<-EOT
    Services allowed to invoke the function, statement id -> { principal, source_arn,
    source_account = null }, e.g. { AllowLookupFileRule = { principal = "events.amazonaws.com",
    source_arn = <rule ARN> } }. Every permission is scoped to one source ARN.
  EOT
  type = map(object({
    principal      = string
    source_arn     = string
    source_account = optional(string)
  }))
  default = {}

  validation {
    condition     = alltrue([for k in keys(var.allowed_triggers) : can(regex("^[A-Za-z0-9_-]{1,100}$", k))])
    error_message = "allowed_triggers keys (statement ids) must be 1-100 letters, digits, hyphens and underscores."
  }

  validation {
    condition     = alltrue([for t in values(var.allowed_triggers) : can(regex("^[a-z0-9.-]+\\.amazonaws\\.com(\\.cn)?$", t.principal))])
    error_message = "each trigger's principal must be an AWS service principal such as \"events.amazonaws.com\"."
  }

  validation {
    condition     = alltrue([for t in values(var.allowed_triggers) : can(regex("^arn:aws[a-z-]*:", t.source_arn))])
    error_message = "each trigger needs a source_arn (no unscoped invoke permissions)."
  }
}

variable "vpc_config" {
  description = "Attach the function to a VPC: { subnet_ids, security_group_ids } (both non-empty); null (default) runs it outside any VPC. The module then grants the role the network interface actions of AWS's AWSLambdaVPCAccessExecutionRole."
  type = object({
    subnet_ids         = list(string)
    security_group_ids = list(string)
  })
  default = null

  validation {
    condition     = var.vpc_config == null || try(length(var.vpc_config.subnet_ids) > 0 && length(var.vpc_config.security_group_ids) > 0, false)
    error_message = "vpc_config needs at least one subnet id and one security group id."
  }

  validation {
    condition = var.vpc_config == null || try(alltrue(concat(
      [for s in var.vpc_config.subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", s))],
      [for g in var.vpc_config.security_group_ids : can(regex("^sg-[0-9a-f]{8,17}$", g))],
    )), false)
    error_message = "vpc_config.subnet_ids must be subnet-... ids and security_group_ids sg-... ids."
  }
}
