"""Statistical disclosure control (SDC) of outputs: pure functions on polars frames.

Frequency tables (`protect_frequency_table`), magnitude tables (`check_magnitude_table`),
models (`check_model`), survival curves (`aggregate_survival_steps`), run-level checks
across the outputs of a stage (`check_stage`), audit records in ACRO 1.0's format
(`build_record`, `write_results_json`, `write_checksums`, `acro_config`) and the output
request workbook (`write_output_request_pack`). Thresholds come from `SdcThresholds`,
which refuses any value looser than the rules.
"""

from .audit import (
    ACRO_CHECKS,
    ACRO_FORMAT_VERSION,
    OUTPUT_TYPES,
    acro_config,
    build_record,
    build_table_record,
    empty_sdc,
    model_outcome,
    run_timestamp,
    sha256_file,
    summarise,
    table_outcome,
    table_sdc,
    write_checksums,
    write_results_json,
)
from .frequency import (
    OUTCOMES,
    SUPPRESSED_OUTCOMES,
    TOTAL_LABEL,
    ProtectedTable,
    protect_frequency_table,
    suppression_intervals,
    suppression_is_safe,
)
from .linked import StageOutput, check_stage
from .magnitude import MagnitudeTable, check_magnitude_table, check_one_way_tables
from .model import (
    ALLOWED_STATISTICS,
    ModelCheck,
    check_model,
    disallowed_columns,
    strip_disallowed,
)
from .survival import SURVIVAL_STATUS, aggregate_survival_steps, survival_status
from .thresholds import (
    MAXIMUMS,
    MINIMUMS,
    TABLE_METHODS,
    SdcThresholds,
    config_json_schema,
    validate_thresholds,
)
from .workbook import MARKER, PackOutput, sheet_names, write_output_request_pack

__all__ = [
    "ACRO_CHECKS",
    "ACRO_FORMAT_VERSION",
    "ALLOWED_STATISTICS",
    "MARKER",
    "MAXIMUMS",
    "MINIMUMS",
    "OUTCOMES",
    "OUTPUT_TYPES",
    "SUPPRESSED_OUTCOMES",
    "SURVIVAL_STATUS",
    "TABLE_METHODS",
    "TOTAL_LABEL",
    "MagnitudeTable",
    "ModelCheck",
    "PackOutput",
    "ProtectedTable",
    "SdcThresholds",
    "StageOutput",
    "acro_config",
    "aggregate_survival_steps",
    "build_record",
    "build_table_record",
    "check_magnitude_table",
    "check_model",
    "check_one_way_tables",
    "check_stage",
    "config_json_schema",
    "disallowed_columns",
    "empty_sdc",
    "model_outcome",
    "protect_frequency_table",
    "run_timestamp",
    "sha256_file",
    "sheet_names",
    "strip_disallowed",
    "summarise",
    "suppression_intervals",
    "suppression_is_safe",
    "survival_status",
    "table_outcome",
    "table_sdc",
    "validate_thresholds",
    "write_checksums",
    "write_output_request_pack",
    "write_results_json",
]
