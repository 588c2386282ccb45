# dev: cheap. One small RDS instance without standby, one API task, short log retention,
# everything deletable. The VPC endpoints stay on: without a NAT gateway the tasks and the
# rotator need them; only the optional KMS endpoint is off.
environment = "dev"
region      = "eu-west-1"
# allowed_account_ids = ["111111111111"]

availability_zones   = ["eu-west-1a", "eu-west-1b"]
vpc_cidr             = "10.40.0.0/16"
public_load_balancer = false
enable_kms_endpoint  = false

database_mode            = "rds"
db_instance_class        = "db.t4g.micro"
db_multi_az              = false
db_deletion_protection   = false
db_backup_retention_days = 1
db_skip_final_snapshot   = true

api_image_tag          = "0.1.0"
api_min_tasks          = 1
api_max_tasks          = 2
lb_deletion_protection = false
ecr_force_delete       = true

app_rotation_strategy       = "alternating-users"
rotation_days               = 30
secret_recovery_window_days = 0

log_retention_days     = 30
trail_object_lock_days = 0
trail_expiration_days  = 90
trail_force_destroy    = true

audit_table_deletion_protection = false
