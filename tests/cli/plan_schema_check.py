#!/usr/bin/python3
"""Every plan in migrations/ validates against migrations/plan.schema.json, and the schema refuses
a plan with an unknown key: the schema editors use and `banyan plan validate` must agree."""
import glob
import json
import os
import sys

import jsonschema
import yaml

root = sys.argv[1]
schema = json.load(open(os.path.join(root, "migrations", "plan.schema.json")))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
plans = sorted(glob.glob(os.path.join(root, "migrations", "*.yaml")))
failed = 0
for path in plans:
    errors = list(validator.iter_errors(yaml.safe_load(open(path))))
    for e in errors:
        print(f"{path}: {'/'.join(map(str, e.path))}: {e.message}")
    failed += bool(errors)
bad = yaml.safe_load(open(plans[0]))
bad["stagse"] = []
if validator.is_valid(bad):
    print("the schema accepted an unknown key")
    failed += 1
print(f"{len(plans) + 1 - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
