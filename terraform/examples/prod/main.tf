# Production wiring: the evidence store in eu-central-1, its replica in eu-west-1, and the
# chart on the prod cluster. `terraform init && terraform plan` (not runnable here: no
# terraform or OpenTofu binary can be installed; tests/terraform.test.sh parses the HCL and
# runs checkov).
terraform {
  required_version = ">= 1.6.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.40.0, < 7.0.0"
    }
    helm = {
      source  = "hashicorp/helm"
      version = ">= 2.12.0, < 3.0.0"
    }
  }
}

provider "aws" {
  region = var.region
}

provider "aws" {
  alias  = "replica"
  region = var.replica_region
}

provider "helm" {
  kubernetes {
    config_path    = var.kubeconfig
    config_context = var.kube_context
  }
}

module "backup" {
  source            = "../../modules/backup-bucket"
  providers         = { aws = aws.replica }
  name              = "${var.prefix}-evidence-backup"
  retention_days    = var.retention_days
  access_log_bucket = var.replica_access_log_bucket
  tags              = var.tags
}

module "evidence_store" {
  source            = "../../modules/evidence-store"
  name              = "${var.prefix}-evidence"
  retention_days    = var.retention_days
  access_log_bucket = var.access_log_bucket
  writer_role_arns  = var.writer_role_arns
  backup = {
    bucket_arn  = module.backup.bucket_arn
    kms_key_arn = module.backup.kms_key_arn
  }
  tags = var.tags
}

module "gatehouse" {
  source               = "../../modules/gatehouse-release"
  chart_path           = "${path.root}/../../../charts/gatehouse"
  image_tag            = var.image_tag
  image_digest         = var.image_digest
  database_url         = var.database_url
  database_secret_name = var.database_secret_name
  golden_paths_file    = "${path.root}/../../../examples/release/golden_paths.yaml"
  probe_env            = "local" # the example file's one environment: base_url from SERVICE_URL
  probe_extra_env      = { SERVICE_URL = var.service_url }
  probe_secrets        = var.probe_secret_names
}
