"""Photos of service requests: checked and re-encoded (images), described in the database
(models, photos), their bytes kept behind one small interface (store) with two back ends
(PostgreSQL, S3-compatible object storage), and who may see them (access)."""
