"""The translator format: how a driver describes the JSON its service returns, as table rows.

A translator is a plain dict (the format of OpenStack Congress drivers, kept so that their
translators carry over; :mod:`congress.datasources.declare` writes them shorter). Four
translation types exist:

``HDICT``
    One row per object; one column per field translator, in declared order. Fields are read with
    ``obj[field]`` (``DICT_SELECTOR``) or ``obj.field`` (``DOT_SELECTOR``); a missing field reads as
    ``None``. ``in-list: True`` means the value is a list of such objects, one row each.
``VDICT``
    One row per key/value pair of a dict: ``key-col`` then ``val-col``.
``LIST``
    One row per element of a list: ``val-col``.
``VALUE``
    A scalar, optionally computed with ``extract-fn`` and typed with ``data-type``/``nullable``.

A non-VALUE translator nested in another one fills a *sub-table*. Its rows are tied to the
parent's row in one of two ways:

* ``parent-key: <col>``: each sub-table row starts with the value of the parent's column ``<col>``
  (its name is ``parent-col-name``, default ``parent_key``), and the parent has no column for the
  field;
* ``id-col``: each sub-table row starts with an id computed from the sub-object (a callable
  ``id-col(obj)``, or else the md5 hex digest of a canonical JSON of the sub-table's values), and
  the parent's column for the field holds that id.

Columns come in this order: the id or parent column first (when there is one), then HDICT fields
in declared order without the ``parent-key`` sub-translators; VDICT ``key-col`` then ``val-col``
(without ``val-col`` if the sub-translator has a ``parent-key``); LIST ``val-col``.

This module holds the names of the keys and types and which keys each type accepts.
"""

from __future__ import annotations

HDICT, VDICT, LIST, VALUE = "HDICT", "VDICT", "LIST", "VALUE"
DICT_SELECTOR, DOT_SELECTOR = "DICT_SELECTOR", "DOT_SELECTOR"

TRANSLATION_TYPE = "translation-type"
TABLE_NAME = "table-name"
PARENT_KEY = "parent-key"
ID_COL = "id-col"
SELECTOR_TYPE = "selector-type"
FIELD_TRANSLATORS = "field-translators"
FIELDNAME = "fieldname"
COL = "col"
DESCRIPTION = "desc"
TRANSLATOR = "translator"
IN_LIST = "in-list"
PARENT_COL_NAME = "parent-col-name"
OBJECTS_EXTRACT_FN = "objects-extract-fn"
PARENT_KEY_DESC = "parent-key-desc"
KEY_COL = "key-col"
VAL_COL = "val-col"
VAL_COL_DESC = "val-col-desc"
EXTRACT_FN = "extract-fn"
DATA_TYPE = "data-type"
NULLABLE = "nullable"

PARENT_KEY_COL_NAME = "parent_key"   # default name of the parent column
ID_COL_NAME = "id-col"               # name of the id column when id-col is a callable

HDICT_PARAMS = (TRANSLATION_TYPE, TABLE_NAME, PARENT_KEY, ID_COL, SELECTOR_TYPE,
                FIELD_TRANSLATORS, IN_LIST, PARENT_COL_NAME, OBJECTS_EXTRACT_FN, PARENT_KEY_DESC)
VDICT_PARAMS = (TRANSLATION_TYPE, TABLE_NAME, PARENT_KEY, ID_COL, KEY_COL, VAL_COL, TRANSLATOR,
                PARENT_COL_NAME, OBJECTS_EXTRACT_FN)
LIST_PARAMS = (TRANSLATION_TYPE, TABLE_NAME, PARENT_KEY, ID_COL, VAL_COL, TRANSLATOR,
               PARENT_COL_NAME, OBJECTS_EXTRACT_FN, PARENT_KEY_DESC, VAL_COL_DESC)
VALUE_PARAMS = (TRANSLATION_TYPE, EXTRACT_FN, DATA_TYPE, NULLABLE)
FIELD_TRANSLATOR_PARAMS = (FIELDNAME, COL, DESCRIPTION, TRANSLATOR)
VALID_TRANSLATION_TYPES = (HDICT, VDICT, LIST, VALUE)
PARAMS = {HDICT: HDICT_PARAMS, VDICT: VDICT_PARAMS, LIST: LIST_PARAMS, VALUE: VALUE_PARAMS}
SELECTORS = (DICT_SELECTOR, DOT_SELECTOR)
