"""The GraphQL surface of the organisation area (contract/organisation.graphql)."""
