output "evidence_bucket" {
  description = "Where the workflows upload evidence packs."
  value       = module.evidence_store.bucket
}

output "backup_region" {
  description = "Region holding the replica."
  value       = module.backup.region
}

output "gatehouse_release" {
  description = "The chart's release."
  value       = module.gatehouse.release
}
