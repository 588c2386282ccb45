# dev: cheap. One small RDS instance without standby, one API task in a public subnet with
# no load balancer, short log retention, everything deletable. Fixed cost before the
# database about $24 a month instead of about $96 (envs/README.md, "What it costs", says
# what each saving gives up; make cost ENV=dev prints it).
environment = "dev"
region      = "eu-west-1"
# allowed_account_ids = ["111111111111"]

availability_zones   = ["eu-west-1a", "eu-west-1b"]
vpc_cidr             = "10.40.0.0/16"
public_load_balancer = false
enable_kms_endpoint  = false

# Tasks reach ECR, CloudWatch Logs and Secrets Manager over their public addresses: no NAT
# gateway, no ECR or Logs endpoints. The rotator (a Lambda in the VPC, which gets no public
# address) keeps the Secrets Manager endpoint, in one zone.
egress                   = "public"
enable_logs_endpoint     = false
enable_ecr_endpoints     = false
interface_endpoint_zones = 1

# One task, reached at its own address from inside the VPC; no Container Insights; flow
# logs of rejected traffic only.
api_load_balancer       = false
api_ingress_cidr_blocks = ["10.40.0.0/16"]
container_insights      = false
flow_log_traffic_type   = "REJECT"

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

log_retention_days     = 7
trail_object_lock_days = 0
trail_expiration_days  = 90
# Deleted at 90 days, so never moved to Glacier (whose 90-day minimum charge would
# cost more than it saves, and S3 refuses an expiration that is not after the transition).
trail_transition_to_glacier_days = null
trail_force_destroy              = true

audit_table_deletion_protection = false
