"""instancemock: a stateful mock of process-instance APIs."""
