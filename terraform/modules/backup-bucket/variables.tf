variable "name" {
  description = "Bucket name of the backup copy (another region than the evidence store: this module's aws provider decides where)."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.name))
    error_message = "name must be a valid S3 bucket name."
  }
}

variable "retention_days" {
  description = "Default COMPLIANCE retention of the replicas (as the evidence store's, at least a year)."
  type        = number
  default     = 400
  validation {
    condition     = var.retention_days >= 365
    error_message = "retention_days must be at least 365."
  }
}

variable "transition_to_deep_archive_days" {
  description = "Days after which replicas move to DEEP_ARCHIVE (the copy is read only after losing a region)."
  type        = number
  default     = 30
}

variable "access_log_bucket" {
  description = "Existing bucket in the backup region that receives this bucket's server access logs."
  type        = string
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}
