variable "name" {
  description = "Name of the queue, e.g. \"headwater-dev-ingest\"; the DLQ is \"<name>-dlq\" unless dlq_name is set."
  type        = string

  validation {
    # SQS allows 80 characters; "-dlq" must still fit.
    condition     = can(regex("^[A-Za-z0-9_-]{1,76}$", var.name))
    error_message = "name must be 1-76 characters of letters, digits, hyphens and underscores (no .fifo queues)."
  }
}

variable "source_principal" {
  description = "The one service allowed to send to the queue, e.g. \"sns.amazonaws.com\" or \"events.amazonaws.com\"; null when only roles of this account send (their own policies grant sqs:SendMessage)."
  type        = string
  default     = null

  validation {
    condition     = var.source_principal == null || can(regex("^[a-z0-9.-]+\\.amazonaws\\.com(\\.cn)?$", coalesce(var.source_principal, "-")))
    error_message = "source_principal must be an AWS service principal such as \"sns.amazonaws.com\"."
  }
}

variable "source_arn" {
  description = "ARN of the one resource that sends through source_principal (aws:SourceArn), e.g. an SNS topic or an EventBridge rule; null exactly when source_principal is null."
  type        = string
  default     = null

  validation {
    condition     = var.source_arn == null || can(regex("^arn:aws[a-z-]*:[a-z0-9-]+:", coalesce(var.source_arn, "-")))
    error_message = "source_arn must be an ARN."
  }

  validation {
    condition     = (var.source_arn == null) == (var.source_principal == null)
    error_message = "source_arn and source_principal are given together (a service sender scoped to one source) or not at all."
  }
}

variable "kms_key_arn" {
  description = "Customer managed KMS key encrypting both queues; its policy must let source_principal use it (the kms_key module's service_principals)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "create_dlq" {
  description = "Create a dead-letter queue behind the queue. false when the queue is itself a dead-letter target (of a rule, a subscription, a function): the alarm then watches the queue."
  type        = bool
  default     = true
}

variable "dlq_name" {
  description = "Name of the DLQ; null names it \"<name>-dlq\"."
  type        = string
  default     = null

  validation {
    condition     = var.dlq_name == null || can(regex("^[A-Za-z0-9_-]{1,80}$", coalesce(var.dlq_name, "-")))
    error_message = "dlq_name must be 1-80 characters of letters, digits, hyphens and underscores."
  }
}

variable "visibility_timeout_seconds" {
  description = "Visibility timeout of the queue (0-43200 s). For a Lambda consumer: at least 6x its timeout plus its batching window."
  type        = number
  default     = 30

  validation {
    condition     = var.visibility_timeout_seconds >= 0 && var.visibility_timeout_seconds <= 43200 && floor(var.visibility_timeout_seconds) == var.visibility_timeout_seconds
    error_message = "visibility_timeout_seconds must be a whole number between 0 and 43200."
  }
}

variable "message_retention_seconds" {
  description = "How long the queue keeps a message (60 s - 14 days)."
  type        = number
  default     = 345600

  validation {
    condition     = var.message_retention_seconds >= 60 && var.message_retention_seconds <= 1209600
    error_message = "message_retention_seconds must be between 60 and 1209600."
  }
}

variable "dlq_message_retention_seconds" {
  description = "How long the DLQ keeps a message (60 s - 14 days); longer than the queue, since a message keeps its original enqueue time when it moves."
  type        = number
  default     = 1209600

  validation {
    condition     = var.dlq_message_retention_seconds >= 60 && var.dlq_message_retention_seconds <= 1209600
    error_message = "dlq_message_retention_seconds must be between 60 and 1209600."
  }

  validation {
    condition     = !var.create_dlq || var.dlq_message_retention_seconds > var.message_retention_seconds
    error_message = "dlq_message_retention_seconds must be longer than message_retention_seconds (messages would expire on arrival)."
  }
}

variable "max_receive_count" {
  description = "Receives of a message before SQS moves it to the DLQ (1-1000)."
  type        = number
  default     = 5

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000
    error_message = "max_receive_count must be between 1 and 1000."
  }
}

variable "alarm_topic_arn" {
  description = "SNS topic the DLQ depth alarm notifies; null creates the alarm without actions."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:", coalesce(var.alarm_topic_arn, "-")))
    error_message = "alarm_topic_arn must be an SNS topic ARN."
  }
}

variable "dlq_alarm_description" {
  description = "Description of the DLQ depth alarm: say what waiting messages mean and where to look; null uses a generic one."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags applied to every resource of the module."
  type        = map(string)
  default     = {}
}
