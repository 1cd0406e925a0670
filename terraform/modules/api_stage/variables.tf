variable "rest_api_id" {
  description = "Id of the REST API (output rest_api_id of ../api)."
  type        = string
}

variable "rest_api_name" {
  description = "Name of the REST API; names the access log group, usage plans and keys."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$", var.rest_api_name))
    error_message = "rest_api_name must be 1-128 characters of letters, digits, hyphens and underscores."
  }
}

variable "stage_name" {
  description = "Stage name: the last segment of the base URL (https://<id>.execute-api.<region>.amazonaws.com/<stage>)."
  type        = string
  default     = "v1"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,128}$", var.stage_name))
    error_message = "stage_name must be 1-128 characters of letters, digits, hyphens and underscores."
  }
}

variable "redeployment_triggers" {
  description = <<-EOT
    Fingerprints of every route of the API: the deployment output of ../api and of each
    capability module (e.g. module.lookup.deployment_triggers). Any change redeploys the stage.
    They also order the deployment after the routes it snapshots.
  EOT
  type        = list(string)

  validation {
    condition     = length(var.redeployment_triggers) > 0
    error_message = "redeployment_triggers must list at least the API module's own triggers."
  }
}

variable "kms_key_arn" {
  description = "KMS key encrypting the access log group; its policy must allow logs.<region>.amazonaws.com (the ingest module's key does)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the access logs (one of CloudWatch's allowed values)."
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

variable "alarm_topic_arn" {
  description = "SNS topic notified when the stage answers 5XX (the alarm on AWS/ApiGateway 5XXError); null creates the alarm without actions."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:", coalesce(var.alarm_topic_arn, "-")))
    error_message = "alarm_topic_arn must be an SNS topic ARN."
  }
}

variable "server_error_alarm_threshold" {
  description = "5XX responses of the stage in 5 minutes above which the alarm fires (0: any server error)."
  type        = number
  default     = 0

  validation {
    condition     = var.server_error_alarm_threshold >= 0 && floor(var.server_error_alarm_threshold) == var.server_error_alarm_threshold
    error_message = "server_error_alarm_threshold must be a whole number, 0 or more."
  }
}

variable "xray_tracing_enabled" {
  description = "Trace requests through API Gateway with X-Ray (the functions trace too)."
  type        = bool
  default     = true
}

variable "throttle_rate_limit" {
  description = "Stage-wide default steady-state requests per second per method (usage plans cap each key below this)."
  type        = number
  default     = 100

  validation {
    condition     = var.throttle_rate_limit > 0
    error_message = "throttle_rate_limit must be positive."
  }
}

variable "throttle_burst_limit" {
  description = "Stage-wide default burst (token bucket size) per method."
  type        = number
  default     = 200

  validation {
    condition     = var.throttle_burst_limit >= 1 && floor(var.throttle_burst_limit) == var.throttle_burst_limit
    error_message = "throttle_burst_limit must be a whole number >= 1."
  }
}

variable "subscribers" {
  description = <<-EOT
    External consumers: each gets an API key and its own usage plan with throttle and quota, and
    reads only the datasets it is granted (the API answers 403 for any other).
    { name = { throttle_rate_limit, throttle_burst_limit, quota_limit,
               quota_period = "DAY"|"WEEK"|"MONTH", datasets = ["employees", ...] } }
  EOT
  type = map(object({
    throttle_rate_limit  = number
    throttle_burst_limit = number
    quota_limit          = number
    quota_period         = string
    datasets             = list(string)
  }))
  default = {}

  validation {
    # The dataset name rule of headwater.lookup.contracts (DATASET_NAME).
    condition     = alltrue(flatten([for s in values(var.subscribers) : [for d in s.datasets : can(regex("^[a-z0-9][a-z0-9_-]{0,62}$", d))]]))
    error_message = "datasets must be dataset names: 1-63 lowercase letters, digits, hyphens and underscores, starting with a letter or digit."
  }

  validation {
    condition     = alltrue([for s in values(var.subscribers) : length(distinct(s.datasets)) == length(s.datasets)])
    error_message = "a subscriber's datasets must not repeat a name."
  }

  validation {
    condition     = alltrue([for name in keys(var.subscribers) : can(regex("^[a-z0-9][a-z0-9-]{0,62}$", name))])
    error_message = "subscriber names must be 1-63 lowercase letters, digits and hyphens."
  }

  validation {
    condition     = alltrue([for s in values(var.subscribers) : contains(["DAY", "WEEK", "MONTH"], s.quota_period)])
    error_message = "quota_period must be DAY, WEEK or MONTH."
  }

  validation {
    condition = alltrue([for s in values(var.subscribers) : (
      s.throttle_rate_limit > 0 && s.throttle_burst_limit >= 1 && s.quota_limit >= 1 &&
      floor(s.throttle_burst_limit) == s.throttle_burst_limit && floor(s.quota_limit) == s.quota_limit
    )])
    error_message = "each subscriber needs throttle_rate_limit > 0 and whole numbers throttle_burst_limit >= 1 and quota_limit >= 1."
  }
}

variable "internal_keys" {
  description = <<-EOT
    Keys of the platform's own tools and operators: throttled, no quota.
    { name = { throttle_rate_limit, throttle_burst_limit } }
  EOT
  type = map(object({
    throttle_rate_limit  = number
    throttle_burst_limit = number
  }))
  default = {}

  validation {
    condition     = alltrue([for name in keys(var.internal_keys) : can(regex("^[a-z0-9][a-z0-9-]{0,62}$", name))])
    error_message = "internal key names must be 1-63 lowercase letters, digits and hyphens."
  }

  validation {
    condition = alltrue([for k in values(var.internal_keys) : (
      k.throttle_rate_limit > 0 && k.throttle_burst_limit >= 1 && floor(k.throttle_burst_limit) == k.throttle_burst_limit
    )])
    error_message = "each internal key needs throttle_rate_limit > 0 and a whole throttle_burst_limit >= 1."
  }

  validation {
    # Keys of both kinds share one namespace (their API key names).
    condition     = length(setintersection(keys(var.internal_keys), keys(var.subscribers))) == 0
    error_message = "a name cannot be both a subscriber and an internal key."
  }
}

variable "tenancy_table_name" {
  description = "Tenancy directory table (output tenancy_table_name of ../platform): the module writes each key's subscriber and each subscriber's kind, grants and usage plan there."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.tenancy_table_name))
    error_message = "tenancy_table_name must be a DynamoDB table name (3-255 letters, digits, _ . -)."
  }
}

variable "tags" {
  description = "Tags applied to every resource of the module."
  type        = map(string)
  default     = {}
}
