# stage: production-shaped at a smaller size. Alternating users, backups, deletion
# protection; single-AZ database to keep the bill down.
environment = "stage"
region      = "eu-west-1"
# allowed_account_ids = ["222222222222"]

availability_zones   = ["eu-west-1a", "eu-west-1b"]
vpc_cidr             = "10.41.0.0/16"
public_load_balancer = false
enable_kms_endpoint  = false

database_mode            = "rds"
db_instance_class        = "db.t4g.small"
db_multi_az              = false
db_deletion_protection   = true
db_backup_retention_days = 7
db_skip_final_snapshot   = false

api_image_tag          = "0.1.0"
api_min_tasks          = 2
api_max_tasks          = 4
lb_deletion_protection = true

app_rotation_strategy       = "alternating-users"
rotation_days               = 30
secret_recovery_window_days = 7

log_retention_days     = 90
trail_object_lock_days = 0
trail_expiration_days  = 365

audit_table_deletion_protection = true
