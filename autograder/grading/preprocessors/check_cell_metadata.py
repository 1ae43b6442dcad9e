"""CheckCellMetadataOnce: nbgrader's CheckCellMetadata with the metadata schema checked once per process,
not once per cell."""
import traceback

from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from nbgrader.nbgraderformat import MetadataValidator, SchemaTooNewError, SchemaTooOldError, ValidationError
from nbgrader.nbgraderformat.common import BaseMetadataValidator
from nbgrader.preprocessors import CheckCellMetadata

_SCHEMA = MetadataValidator().schema  # nbgrader's metadata schema (nbgraderformat/v3.json)
validator_for(_SCHEMA).check_schema(_SCHEMA)  # what jsonschema.validate does on every call
_SCHEMA_VALIDATOR = validator_for(_SCHEMA)(_SCHEMA)


class _ValidateWithOneValidator(BaseMetadataValidator):
    """BaseMetadataValidator.validate_cell (nbgrader 0.9.6) with ``jsonschema.validate(metadata, schema)``
    replaced by what it does after checking the schema itself, on the validator built above: the same
    errors (SchemaTooOldError, SchemaTooNewError, jsonschema's best_match ValidationError)."""

    def validate_cell(self, cell):
        if "nbgrader" not in cell.metadata:
            return
        schema = cell.metadata["nbgrader"].get("schema_version", 0)
        if schema < self.schema_version:
            raise SchemaTooOldError(f"Outdated schema version: {schema} (expected {self.schema_version})",
                                    schema, self.schema_version)
        elif schema > self.schema_version:
            raise SchemaTooNewError(f"Schema version is too new: {schema} (expected {self.schema_version})",
                                    schema, self.schema_version)
        error = best_match(_SCHEMA_VALIDATOR.iter_errors(cell.metadata["nbgrader"]))
        if error is not None:
            raise error


class _MetadataValidator(MetadataValidator, _ValidateWithOneValidator):
    """nbgrader's MetadataValidator (v3: grade ids, points, cell kinds, duplicates), whose call to its base's
    validate_cell reaches _ValidateWithOneValidator's (it comes between them in the method order)."""


class CheckCellMetadataOnce(CheckCellMetadata):
    """nbgrader's CheckCellMetadata, the same checks, log and error (nbgrader's preprocess with this
    module's validator): jsonschema.validate checked nbgrader's schema against jsonschema's meta-schema for
    every cell with nbgrader metadata (74 in hw2), twice per grading; it is checked once, when this module
    is imported."""

    def preprocess(self, nb, resources):
        try:
            _MetadataValidator().validate_nb(nb)
        except ValidationError:
            self.log.error(traceback.format_exc())
            msg = "Notebook failed to validate; the nbgrader metadata may be corrupted."
            self.log.error(msg)
            raise ValidationError(msg)
        return nb, resources
