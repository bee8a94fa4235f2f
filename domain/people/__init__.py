"""People who sign in: staff accounts with territories, members by phone code, sessions."""
