"""Photos on the GraphQL surface: the Photo type and reading uploaded files."""
