variable "name" {
  description = "Bucket name of the evidence store (globally unique)."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.name))
    error_message = "name must be a valid S3 bucket name."
  }
}

variable "retention_days" {
  description = "Default object-lock retention in COMPLIANCE mode: evidence packs cannot be deleted or overwritten by anyone, root included, before it ends. The seed: artifacts retained >= 1 year."
  type        = number
  default     = 400
  validation {
    condition     = var.retention_days >= 365
    error_message = "retention_days must be at least 365 (evidence is retained for at least a year)."
  }
}

variable "transition_to_ia_days" {
  description = "Days after which objects move to STANDARD_IA."
  type        = number
  default     = 30
}

variable "transition_to_glacier_days" {
  description = "Days after which objects move to GLACIER_IR (colder storage; still readable in milliseconds for an audit)."
  type        = number
  default     = 90
  validation {
    condition     = var.transition_to_glacier_days >= 30
    error_message = "transition_to_glacier_days must be at least 30."
  }
}

variable "noncurrent_expiration_days" {
  description = "Days after which noncurrent versions expire (object lock still protects them until their retention ends)."
  type        = number
  default     = 730
}

variable "access_log_bucket" {
  description = "Existing bucket (same region) that receives the server access logs of the evidence store."
  type        = string
}

variable "writer_role_arns" {
  description = "IAM roles allowed to write evidence packs (the release workflows' OIDC role)."
  type        = list(string)
  default     = []
}

variable "backup" {
  description = "The replication target made by modules/backup-bucket: bucket ARN and its KMS key ARN, in another region."
  type = object({
    bucket_arn  = string
    kms_key_arn = string
  })
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}
