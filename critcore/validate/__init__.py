"""Validation of crit's JSON form: a JSON Schema generated from the descriptors, the checks it
cannot express, and the full error report encode prints when its own checks fail."""
from .jsonschema_gen import all_image_schemas, image_schema
from .validator import Validator, format_path, validate

__all__ = ["Validator", "validate", "image_schema", "all_image_schemas", "format_path"]
