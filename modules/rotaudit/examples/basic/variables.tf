# Nothing to set: see main.tf.
