variable "namespace" {
  description = "Namespace the chart is installed into (created if missing)."
  type        = string
  default     = "gatehouse"
}

variable "release_name" {
  description = "Helm release name."
  type        = string
  default     = "gatehouse"
}

variable "chart_path" {
  description = "Path of charts/gatehouse (or a chart repository URL's chart name)."
  type        = string
}

variable "image_repository" {
  description = "Image repository of Gatehouse."
  type        = string
  default     = "localhost/gatehouse"
}

variable "image_tag" {
  description = "Image tag (the release)."
  type        = string
}

variable "image_digest" {
  description = "Image digest (sha256:...) the release script pinned; the pods run repository@digest."
  type        = string
  validation {
    condition     = can(regex("^sha256:[0-9a-f]{64}$", var.image_digest))
    error_message = "image_digest must be sha256:<64 hex>: a release runs a pinned image."
  }
}

variable "database_url" {
  description = "PostgreSQL URL dr-drill checks, without a password."
  type        = string
  validation {
    condition     = !can(regex("^postgres(ql)?://[^/@]*:[^/@]*@", var.database_url))
    error_message = "database_url must not carry a password (it comes from database_secret_name)."
  }
}

variable "database_secret_name" {
  description = "Name of an existing Kubernetes Secret with the key `password` (the chart never creates Secrets)."
  type        = string
}

variable "golden_paths_file" {
  description = "Path of the golden paths file the probes run (verify-goldens format)."
  type        = string
}

variable "probe_env" {
  description = "Environment of the golden paths file the probes use (--env)."
  type        = string
}

variable "probe_extra_env" {
  description = "Plain environment of the probes (golden paths' $${env:NAME}, e.g. SERVICE_URL); secrets go in probe_secrets."
  type        = map(string)
  default     = {}
}

variable "probe_secrets" {
  description = "Existing Secrets whose keys the probes get as environment variables."
  type        = list(string)
  default     = []
}

variable "dr_drill_schedule" {
  description = "Cron schedule of the dr-drill freshness check."
  type        = string
  default     = "*/15 * * * *"
}

variable "probes_schedule" {
  description = "Cron schedule of the golden-path probes."
  type        = string
  default     = "*/5 * * * *"
}

variable "prometheus_rule" {
  description = "Install Gatehouse's own PrometheusRule (needs the Prometheus operator's CRD)."
  type        = bool
  default     = true
}
