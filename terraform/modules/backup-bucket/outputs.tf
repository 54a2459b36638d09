output "bucket_arn" {
  description = "ARN of the backup bucket (modules/evidence-store's replication target)."
  value       = aws_s3_bucket.backup.arn
}

output "kms_key_arn" {
  description = "The backup region's customer-managed key the replicas are encrypted with."
  value       = aws_kms_key.backup.arn
}

output "region" {
  description = "Region of the backup bucket."
  value       = data.aws_region.current.name
}
