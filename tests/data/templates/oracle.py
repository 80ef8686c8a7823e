#!/usr/bin/env python3
"""oracle.py — renders chat templates with Jinja2 the way Hugging Face's
apply_chat_template does (ImmutableSandboxedEnvironment, trim_blocks,
lstrip_blocks, loopcontrols, a json.dumps-based tojson that keeps non-ASCII,
raise_exception, strftime_now fixed at 2026-01-15). Test tooling only:
hearth never runs Python.

  python3 oracle.py check                 re-render cases.jsonl, report diffs
  python3 oracle.py extra > cases_extra.jsonl   build the extra cases
  python3 oracle.py render FILE.jinja CASE.json
"""
import json, sys, datetime
from jinja2 import nodes
from jinja2.exceptions import TemplateError
from jinja2.ext import Extension, loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

NOW = datetime.datetime(2026, 1, 15)

class AssistantTracker(Extension):
    tags = {"generation"}
    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.CallBlock(self.call_method("_gen", []), [], [], body).set_lineno(lineno)
    def _gen(self, caller):
        return caller()

def raise_exception(message):
    raise TemplateError(message)

def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

def strftime_now(fmt):
    return NOW.strftime(fmt)

def env():
    e = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                      extensions=[AssistantTracker, loopcontrols])
    e.filters["tojson"] = tojson
    e.globals["raise_exception"] = raise_exception
    e.globals["strftime_now"] = strftime_now
    return e

def render(src, ctx):
    t = env().from_string(src)
    try:
        return {"expected": t.render(**ctx)}
    except TemplateError as ex:
        if type(ex) is TemplateError:
            return {"error": ex.message}
        return {"error_other": type(ex).__name__ + ": " + str(ex)}
    except Exception as ex:
        return {"error_other": type(ex).__name__ + ": " + str(ex)}

CTX_KEYS = ("template", "case", "expected", "error")

def context(case):
    return {k: v for k, v in case.items() if k not in CTX_KEYS}

def check():
    bad = 0
    for n, line in enumerate(open("cases.jsonl"), 1):
        c = json.loads(line)
        got = render(open(c["template"]).read(), context(c))
        want = {k: c[k] for k in ("expected", "error") if k in c}
        if got != want:
            bad += 1
            print("line", n, c["template"], c["case"], "differs")
    print("checked; differences:", bad)

TOOLS = [
    {"type": "function", "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city, e.g. 'Paris' & <Rome>.",
        "parameters": {"type": "object", "properties": {
            "city": {"type": "string", "description": "The city name"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "description": "Temperature unit", "default": "celsius"},
            "days": {"type": "integer", "description": "Forecast days", "minimum": 1, "maximum": 7},
            "tags": {"type": "array", "items": {"type": "string"}, "description": "Free tags"},
            "opts": {"type": "object", "properties": {"verbose": {"type": "boolean"}}, "required": ["verbose"]},
            "ratio": {"type": ["number", "null"], "description": "A ratio", "examples": [0.5, 1.0, 1e-05]}},
            "required": ["city"]}}},
    {"type": "function", "function": {
        "name": "search",
        "description": "Search the web for café prices 日本",
        "parameters": {"type": "object", "properties": {
            "q": {"type": "string", "description": "Query"},
            "n": {"type": "number", "description": "How many results", "default": 2.5}},
            "required": ["q"]}}},
]

TOOLS_FLAT = [
    {"type": "function", "function": {
        "name": "get_weather",
        "description": "Get the weather, e.g. 'Paris' & <Rome>.",
        "parameters": {"type": "object", "properties": {
            "city": {"type": "string", "description": "The city name"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "description": "Unit", "default": "celsius"},
            "days": {"type": "integer", "description": "Forecast days", "minimum": 1, "maximum": 7},
            "tags": {"type": "array", "items": {"type": "string"}, "description": "Free tags"},
            "exact": {"type": "boolean", "description": "Exact match"}},
            "required": ["city", "days"]}}},
    {"type": "function", "function": {
        "name": "noargs", "description": "Takes nothing",
        "parameters": {"type": "object", "properties": {}, "required": []}}},
]

TOOL_CALL_MSGS = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What's the weather in Paris?"},
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call12345", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}}]},
    {"role": "tool", "tool_call_id": "call12345", "content": "{\"temp\": 21, \"sky\": \"sunny\"}"},
    {"role": "assistant", "content": "It is 21 °C and sunny in Paris."},
    {"role": "user", "content": "Thanks! And tomorrow?"},
]

TOOL_CALL_MSGS_STRARGS = [
    {"role": "user", "content": "What's the weather in Paris?"},
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call12345", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
    {"role": "tool", "tool_call_id": "call12345", "content": "sunny"},
    {"role": "tool", "tool_call_id": "call12345", "content": "21 C"},
    {"role": "assistant", "content": "<think>hmm</think>Sunny, 21 C."},
]

def extra():
    import glob
    msgs_sets = {
        "tools_one_user": ([{"role": "user", "content": "Hello!"}], TOOLS),
        "tools_call": (TOOL_CALL_MSGS, TOOLS),
        "tools_call_strargs": (TOOL_CALL_MSGS_STRARGS, TOOLS),
        "flat_tools_call": (TOOL_CALL_MSGS, TOOLS_FLAT),
        "flat_tools_strargs": (TOOL_CALL_MSGS_STRARGS, TOOLS_FLAT),
        "no_tools_call_strargs": (TOOL_CALL_MSGS_STRARGS, None),
        "empty_messages": ([], None),
        "bad_order": ([{"role": "assistant", "content": "x"}, {"role": "user", "content": "y"}], None),
        "weird_content": ([{"role": "user", "content": "\t tabs\u3000and\u00a0nbsp \n\n"},
                           {"role": "assistant", "content": "quote ' \" back\\slash <b>&amp;</b>"},
                           {"role": "user", "content": ""}], None),
    }
    for path in sorted(glob.glob("*.jinja")):
        src = open(path).read()
        for name, (msgs, tools) in msgs_sets.items():
            for agp in (True, False):
                ctx = {"add_generation_prompt": agp, "bos_token": "<s>", "eos_token": "</s>", "messages": msgs}
                if tools is not None:
                    ctx["tools"] = tools
                got = render(src, ctx)
                if "error_other" in got:
                    continue  # a Python-level failure, not a template message
                case = {"template": path, "case": name}
                case.update(ctx)
                case.update(got)
                print(json.dumps(case, ensure_ascii=False))

if __name__ == "__main__":
    if sys.argv[1] == "check":
        check()
    elif sys.argv[1] == "extra":
        extra()
    elif sys.argv[1] == "render":
        r = render(open(sys.argv[2]).read(), context(json.load(open(sys.argv[3]))))
        sys.stdout.write(r.get("expected", "")); sys.stderr.write(r.get("error", r.get("error_other", "")))
