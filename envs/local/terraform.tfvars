# Local emulator: `make up` first; tflocal-style endpoints are in providers.tf.
endpoint = "http://localhost:4566"
region   = "us-east-1"
db_host  = "127.0.0.1"
db_port  = 15432
# admin_initial_password comes from TF_VAR_admin_initial_password (never commit it).
