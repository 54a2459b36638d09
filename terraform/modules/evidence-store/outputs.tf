output "bucket" {
  description = "Name of the evidence store bucket (evidence-pack build -o s3://... in the workflows)."
  value       = aws_s3_bucket.evidence.id
}

output "bucket_arn" {
  description = "ARN of the evidence store bucket."
  value       = aws_s3_bucket.evidence.arn
}

output "kms_key_arn" {
  description = "The customer-managed key that encrypts the evidence."
  value       = aws_kms_key.evidence.arn
}

output "retention_days" {
  description = "Default COMPLIANCE retention of every object."
  value       = var.retention_days
}
