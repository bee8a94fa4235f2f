"""Satisfaction surveys (群众评议) in batches, and member assessment (优者上、庸者下、劣者汰)."""
