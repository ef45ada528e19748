"""The API contract (docs/openapi.yaml) as the end-to-end suites use it.

Every answer a suite receives through harness.Server.request is checked
here: a JSON answer must validate against the schema the contract gives for
its route, method and status (or the route's `default`), and an answer the
contract does not describe at all is an error too.  Answers to paths the
contract does not know must be the one error shape.  The check needs
PyYAML and jsonschema (Debian: python3-yaml, python3-jsonschema)."""
import json
import os
import re

import yaml
from jsonschema import Draft202012Validator

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPEC_PATH = os.path.join(ROOT, "docs", "openapi.yaml")
METHODS = ("get", "put", "post", "delete", "patch")
# libyaml's safe loader (Debian's python3-yaml has it) reads the contract in
# a quarter of the pure-Python loader's time, once per test process.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Contract:
    def __init__(self, path=SPEC_PATH):
        with open(path, encoding="utf-8") as f:
            self.doc = yaml.load(f, Loader=SAFE_LOADER)
        self._routes = []
        for template, item in self.doc["paths"].items():
            pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
            if item.get("x-visura-rest-of-path"):
                pattern = pattern[:-len("[^/]+$")] + ".+$"
            # literal segments before parameters: /persons/{cf} must not
            # swallow /persons/x/household (the pattern has no slash in [^/]+)
            self._routes.append((template, re.compile(pattern), item))
        self._validators = {}

    def operation(self, method, path):
        """(template, operation or None) for a request, or (None, None)."""
        path = path.split("?", 1)[0]
        best = None
        for template, rx, item in self._routes:
            if rx.match(path):
                # prefer the template with more literal characters
                score = len(re.sub(r"\{[^}]+\}", "", template))
                if best is None or score > best[0]:
                    best = (score, template, item)
        if best is None:
            return None, None
        return best[1], best[2].get(method.lower())

    def _schema(self, ref_or_schema):
        key = json.dumps(ref_or_schema, sort_keys=True)
        v = self._validators.get(key)
        if v is None:
            schema = dict(ref_or_schema)
            schema["components"] = self.doc["components"]
            v = Draft202012Validator(schema)
            self._validators[key] = v
        return v

    def _resolve(self, obj):
        while isinstance(obj, dict) and "$ref" in obj and len(obj) == 1:
            ref = obj["$ref"]
            node = self.doc
            for part in ref.lstrip("#/").split("/"):
                node = node[part]
            obj = node
        return obj

    def problems(self, method, path, status, content_type, body_json, has_body):
        """A list of what is wrong with an answer ([] when it fits)."""
        if method == "HEAD" or not has_body:
            return []
        ctype = (content_type or "").split(";")[0].strip()
        template, op = self.operation(method, path)
        error_schema = {"$ref": "#/components/schemas/Error"}
        if op is None:
            # an unknown path, or a method the path does not have: only
            # the error shape may answer
            if status < 400:
                return [f"{method} {path}: {status} for a route the contract does not have"]
            if ctype == "application/json":
                return self._check(error_schema, body_json, f"{method} {path} {status}")
            return []
        responses = op.get("responses", {})
        resp = (responses.get(str(status)) or responses.get(f"{status // 100}XX")
                or responses.get("default"))
        if resp is None:
            if status >= 400 and ctype == "application/json":
                return [f"{method} {template}: status {status} is not in the contract"]
            return [f"{method} {template}: status {status} is not in the contract"]
        resp = self._resolve(resp)
        content = resp.get("content")
        if not content:
            return []
        if ctype not in content:
            return [f"{method} {template} {status}: content type {ctype!r} is not in the "
                    f"contract ({', '.join(content)})"]
        schema = content[ctype].get("schema")
        if schema is None or ctype != "application/json":
            return []
        if body_json is None:
            return [f"{method} {template} {status}: the body is not JSON"]
        return self._check(schema, body_json, f"{method} {template} {status}")

    def _check(self, schema, value, what):
        errs = sorted(self._schema(schema).iter_errors(value), key=lambda e: list(e.path))
        return [f"{what}: {'/'.join(str(p) for p in e.path) or '(body)'}: {e.message[:300]}"
                for e in errs[:5]]


ROUTES_C = os.path.join(ROOT, "src", "api", "routes.c")


def route_table():
    """(METHOD, pattern as routes.c writes it, set of ROUTE_* flags) of
    every route of the service, the table's own #define'd names (ADMIN,
    CITIZEN, ...) expanded."""
    text = open(ROUTES_C, encoding="utf-8").read()
    defines = {m.group(1): m.group(2) for m in
               re.finditer(r"^#define (\w+) (.+)$", text, re.M)}

    def expand(expr, depth=0):
        out = set()
        for name in re.findall(r"\w+", expr):
            if name in defines and depth < 8:
                out |= expand(defines[name], depth + 1)
            else:
                out.add(name)
        return out

    return [(m.group(1), m.group(2), expand(m.group(4))) for m in
            re.finditer(r'\{"([A-Z]+)", "([^"]+)", (\w+), ([^,}]+),', text)]


_contract = None


def contract():
    global _contract
    if _contract is None:
        _contract = Contract()
    return _contract
