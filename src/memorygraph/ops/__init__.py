"""The library's operations: plain async functions that the CLI, the MCP server and
scripts call.

`memories`: store, get, update, delete, relate, invalidate, search, recall, related,
recent activity and statistics, on an open `MemoryStore`.
`migrations`: migrate, dry run, resume, rollback and the list of migrations with
their state, plus export and import.

Results are pydantic models with bounded size (see `views`), ready to serialize.
"""
