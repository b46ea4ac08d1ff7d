"""Moving whole graphs in and out: the export format, validation, import and importers.

    export_graph(backend, path)        stream a backend to a memorygraph export file
    validate_export(path)              check a file line by line; never raises for damage
    import_graph(path, backend)        validate, then stream the file into a backend;
                                       with dry_run=True, the same path into a sink
                                       that writes nothing: what it would insert/skip/reject
    iter_records(path)                 the record lines of a validated file (.line, .record)
    detect_format(path)                which importer reads a file
    convert_to_export(path, out)       turn another tool's file into a memorygraph export
    import_file(path, backend)         convert if needed, then import_graph

The format is specified in docs/FORMAT.md.
"""

from memorygraph.exchange.export import ExportSummary, ExportWriter, export_graph
from memorygraph.exchange.format import FORMAT_NAME, FORMAT_VERSION
from memorygraph.exchange.load import ImportSummary, import_graph
from memorygraph.exchange.reader import RecordLine, iter_records
from memorygraph.exchange.validate import Problem, ValidationReport, validate_export
from memorygraph.kinds import KindCounts

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "ExportSummary",
    "ExportWriter",
    "ImportSummary",
    "KindCounts",
    "Problem",
    "RecordLine",
    "ValidationReport",
    "export_graph",
    "import_graph",
    "iter_records",
    "validate_export",
]
