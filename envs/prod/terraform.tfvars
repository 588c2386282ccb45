# prod: strict. Multi-AZ RDS with deletion protection and 30 days of backups, three zones,
# HTTPS only, CloudTrail files under COMPLIANCE object lock for a year, logs kept a year.
environment = "prod"
region      = "eu-west-1"
# allowed_account_ids = ["333333333333"]

availability_zones   = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
vpc_cidr             = "10.42.0.0/16"
public_load_balancer = true
enable_kms_endpoint  = true
# Set the ACM certificate of the API's domain before the first apply:
# certificate_arn = "arn:aws:acm:eu-west-1:333333333333:certificate/..."

database_mode            = "rds"
db_instance_class        = "db.m7g.large"
db_allocated_storage_gb  = 100
db_multi_az              = true
db_deletion_protection   = true
db_backup_retention_days = 30
db_skip_final_snapshot   = false

api_image_tag          = "0.1.0"
api_cpu                = 512
api_memory_mb          = 1024
api_min_tasks          = 3
api_max_tasks          = 12
lb_deletion_protection = true
# Every request to the public API is kept for a year (SSE-S3: ELB writes no other way).
lb_access_logs      = true
lb_access_logs_days = 365

app_rotation_strategy       = "alternating-users"
rotation_days               = 30
rotation_window             = "4h"
secret_recovery_window_days = 30

log_retention_days     = 365
trail_object_lock_days = 365
trail_expiration_days  = 2555

audit_table_deletion_protection = true
