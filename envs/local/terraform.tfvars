# Local emulator: `make up` first; tflocal-style endpoints are in providers.tf. The
# emulator's URL and PostgreSQL's port follow the stack's ports: scripts/tf-plan.sh local
# sets TF_VAR_endpoint and TF_VAR_db_port from AWS_PORT and PG_PORT (a value set here
# would override them).
region  = "us-east-1"
db_host = "127.0.0.1"
# No password anywhere: the master secret is the stack's rotaudit/local/admin.
admin_secret_name = "rotaudit/local/admin"
