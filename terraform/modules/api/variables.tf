variable "name" {
  description = "Name of the REST API, one per environment, e.g. \"headwater-dev\"."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$", var.name))
    error_message = "name must be 1-128 characters of letters, digits, hyphens and underscores."
  }
}

variable "description" {
  description = "Human-readable description of the API."
  type        = string
  default     = "headwater data platform API"
}

variable "tags" {
  description = "Tags applied to every resource of the module."
  type        = map(string)
  default     = {}
}
