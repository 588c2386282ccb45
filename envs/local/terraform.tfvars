# Local emulator: `make up` first; tflocal-style endpoints are in providers.tf. The
# emulator's URL and PostgreSQL's port follow the stack's ports: scripts/tf-plan.sh local
# sets TF_VAR_endpoint and TF_VAR_db_port from AWS_PORT and PG_PORT (a value set here
# would override them).
region  = "us-east-1"
db_host = "127.0.0.1"
# No password anywhere: the master secret is the stack's rotaudit/local/admin.
admin_secret_name = "rotaudit/local/admin"
# The other two databases (issue 21): rates_b beside rates on the stack's cluster, under its
# master (rotated once, by rates), and rates on the stack's second cluster (PG2_PORT) with
# that cluster's own master secret. `make up` makes both databases and both masters.
extra_databases = {
  ratesb = { db_name = "rates_b", app_username = "rates_b_app", admin_secret_name = "rotaudit/local/admin", rotate_master = false,
  more_app_users = [{ username = "rates_b_report", strategy = "single-user" }] }
  pg2 = { cluster = "second", db_name = "rates", app_username = "rates_app", admin_secret_name = "rotaudit/local/pg2/admin" }
}
