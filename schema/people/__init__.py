"""The GraphQL surface of people: signing in, sessions, staff accounts, the viewer."""
