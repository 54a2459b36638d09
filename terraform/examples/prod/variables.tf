variable "region" {
  description = "Region of the evidence store."
  type        = string
  default     = "eu-central-1"
}

variable "replica_region" {
  description = "Region of the backup bucket (must differ from region)."
  type        = string
  default     = "eu-west-1"
}

variable "prefix" {
  description = "Prefix of the bucket names."
  type        = string
}

variable "retention_days" {
  description = "COMPLIANCE retention of evidence (>= 365)."
  type        = number
  default     = 400
}

variable "access_log_bucket" {
  description = "Existing access-log bucket in region."
  type        = string
}

variable "replica_access_log_bucket" {
  description = "Existing access-log bucket in replica_region."
  type        = string
}

variable "writer_role_arns" {
  description = "Roles the release workflows assume (GitHub OIDC) to upload evidence packs."
  type        = list(string)
  default     = []
}

variable "kubeconfig" {
  description = "Kubeconfig of the prod cluster."
  type        = string
  default     = "~/.kube/config"
}

variable "kube_context" {
  description = "Context of the prod cluster in the kubeconfig."
  type        = string
}

variable "image_tag" {
  description = "Gatehouse image tag."
  type        = string
}

variable "image_digest" {
  description = "Gatehouse image digest (sha256:...)."
  type        = string
}

variable "database_url" {
  description = "PostgreSQL URL dr-drill checks (no password)."
  type        = string
}

variable "tags" {
  description = "Tags on every AWS resource."
  type        = map(string)
  default     = { system = "gatehouse" }
}

variable "database_secret_name" {
  description = "Existing Kubernetes Secret (key `password`) with dr-drill's database password."
  type        = string
  default     = "shop-db-drill"
}

variable "probe_secret_names" {
  description = "Existing Kubernetes Secrets the probes read ($${env:NAME} in the golden paths)."
  type        = list(string)
  default     = ["checkout-probe-token"]
}

variable "service_url" {
  description = "In-cluster URL of the service the probes check."
  type        = string
  default     = "http://checkout-api.prod.svc:8080"
}
