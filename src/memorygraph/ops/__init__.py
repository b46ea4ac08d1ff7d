"""The library's operations: plain async functions that the CLI, the MCP server and
scripts call.

`memories`: store, get, update, delete, relate, invalidate, search, recall, related,
recent activity and statistics, on an open `MemoryStore`.
`migrations`: migrate, dry run, resume, rollback and the list of migrations with
their state.
`exchange`: export, import (and its dry run) and validation of an export file.

Results are pydantic models, ready to serialize (the memory tools' with bounded size,
see `views`), or the library's own reports (`MigrationResult`) where an adapter shows
them whole.
"""
