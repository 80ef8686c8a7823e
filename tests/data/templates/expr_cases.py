#!/usr/bin/env python3
"""expr_cases.py — small templates exercising one feature each; `python3
expr_cases.py > expr_cases.jsonl` renders them with the oracle (oracle.py:
Jinja2 configured as Hugging Face's apply_chat_template) so the C test checks
the interpreter against Jinja2 itself. Test tooling only."""
import json
import oracle

C = {"messages": [{"role": "system", "content": "sys"}, {"role": "user", "content": "Hi"},
                  {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "Bye"}],
     "d": {"b": 2, "a": 1, "c": [1, 2.5, "x", None, True]},
     "s": "  Hello, Wörld!  ", "n": 7, "f": 2.5, "u": "日本語テキスト", "e": [], "t": True,
     "nested": {"x": {"y": {"z": "deep"}}}, "nums": [3, 1, 2, 10, -4],
     "words": ["banana", "Apple", "cherry", "apple"],
     "people": [{"name": "Ann", "age": 31, "tags": ["a"]}, {"name": "bob", "age": 25},
                {"name": "Cy", "age": 31, "tags": []}]}

T = [
    # whitespace control
    ("ws_trim_lstrip", "a\n  {% if true %}\n    b\n  {% endif %}\nc"),
    ("ws_minus", "a   {{- 'b' -}}   c\n{%- if true -%}  d  {%- endif -%}\n e"),
    ("ws_plus", "a\n  {%+ if true +%}\nb\n  {%- endif %}\nc"),
    ("ws_comment", "a\n  {# note #}\nb {#- x -#} c\n{# multi\nline #}d"),
    ("ws_raw", "x{% raw %}{{ not }} {% evaluated %}{% endraw %}y\n  {%- raw -%}  z  {%- endraw -%}  w"),
    ("ws_var_no_trim", "{{ 'a' }}\n{{ 'b' }}\n"),
    ("ws_trailing_newline", "x\n\n"),
    ("ws_crlf", "a\r\n{% if true %}\r\nb\r\n{% endif %}\r\nc"),
    ("ws_lstrip_mid_line", "x {% if true %}y{% endif %}  {% if true %}z{% endif %}"),
    ("ws_unicode_space", "a\u3000 {{- 'b' -}} \u00a0c"),
    # literals and operators
    ("lit_strings", "{{ 'a\\'b' }}|{{ \"c\\\"d\" }}|{{ 'tab\\there' }}|{{ '\\u00e9\\x41\\n' }}|{{ 'x' 'y' }}|{{ '\\d' }}"),
    ("lit_numbers", "{{ 1 + 2 * 3 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }} {{ 2 ** -1 }} {{ 1_000 }} {{ 0x1F }} {{ 1e3 }} {{ 1.5e-7 }} {{ 3.0 }} {{ 0.1 + 0.2 }}"),
    ("lit_float_repr", "{{ 1e16 }} {{ 1e15 }} {{ 123456789.0 }} {{ 0.0001 }} {{ 0.00001 }} {{ -0.0 }} {{ 2.5 // 1 }} {{ 7.5 % 2 }} {{ 10 / 4 }} {{ 1/3 }}"),
    ("lit_collections", "{{ [1, 'a', none, true, 1.5, {'k': 'v'}] }} {{ (1,) }} {{ (1, 2) }} {{ () }} {{ {'a': [1, {'b': None}]} }} {{ [\"it's\"] }} {{ ['a\"b'] }} {{ ['x\\ny'] }}"),
    ("lit_bool_names", "{{ True }} {{ false }} {{ None }} {{ none is none }} {{ True == 1 }} {{ 1 == 1.0 }}"),
    ("op_concat", "{{ 'a' ~ 1 ~ none ~ [1] ~ 2.0 }} {{ 'x' + 'y' }} {{ [1] + [2, 3] }} {{ 'ab' * 3 }} {{ 2 * [0] }}"),
    ("op_compare", "{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }} {{ 1 != 2 }} {{ 2 >= 2.0 }} {{ 'abc' <= 'abd' }}"),
    ("op_in", "{{ 'ell' in 'hello' }} {{ 2 in [1, 2] }} {{ 'a' in {'a': 1} }} {{ 'z' not in 'abc' }} {{ not 'a' in 'abc' }} {{ 'x' in undefined_thing }}"),
    ("op_logic", "{{ 0 or 'x' }} {{ 'a' and 'b' }} {{ [] and 1 }} {{ none or [] }} {{ not 0 }} {{ not not 'a' }}"),
    ("op_condexpr", "{{ 'y' if n > 5 else 'n' }} {{ 'y' if e else 'n' }} [{{ 'only' if false }}] {{ 1 if false else 2 if true else 3 }}"),
    ("op_neg", "{{ -n }} {{ - f }} {{ -(1 + 2) }} {{ +3 }} {{ -2 ** 2 }} {{ -n|abs }} {{ -d.a }}"),
    ("op_neg_binds_before_filter", "{{ -nums|length }}"),
    ("op_safe_markup", "{{ '<b>'|safe + '<i>' }} {{ '<i>' + 'x'|safe }} {{ ('a'|safe) ~ '<' }} {{ 'x &'|escape }}"),
    # access
    ("acc_attr_item", "{{ d.a }} {{ d['b'] }} {{ d.c[1] }} {{ d.c[-1] }} {{ nested.x.y.z }} {{ nested['x']['y'].z }} {{ d.c.0 }} [{{ d.missing }}] [{{ d['missing'] }}]"),
    ("acc_slices", "{{ nums[1:] }} {{ nums[:2] }} {{ nums[::-1] }} {{ nums[::2] }} {{ nums[-2:] }} {{ nums[1:-1] }} {{ u[1:3] }} {{ u[::-1] }} {{ s[2:7] }} {{ nums[10:] }} {{ u[-1] }} {{ u[0] }}"),
    ("acc_missing_index", "[{{ e[0] }}] [{{ nums[99] }}] {{ e[0] is defined }}"),
    ("acc_dict_method_attr", "{{ d.items()|list }} {{ d.keys()|list }} {{ d.values()|list }} {{ d.get('a') }} {{ d.get('zz', 'dflt') }} {{ d.get('zz') }}"),
    ("acc_str_attr_undefined", "{{ s.nothing is defined }}"),
    # statements
    ("st_for_loop_vars", "{% for m in messages %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/{{ loop.revindex0 }}/{{ loop.first }}/{{ loop.last }}/{{ loop.length }};{% endfor %}"),
    ("st_for_prev_next", "{% for x in nums %}[{{ loop.previtem }}<{{ x }}>{{ loop.nextitem }}]{% endfor %}{% for x in nums %}{{ loop.previtem is defined }}{% endfor %}"),
    ("st_for_else", "{% for x in e %}{{ x }}{% else %}empty{% endfor %}|{% for x in nums if x > 100 %}{{ x }}{% else %}none{% endfor %}"),
    ("st_for_filter", "{% for x in nums if x > 1 %}{{ loop.index }}:{{ x }}{{ ',' if not loop.last }}{% endfor %}"),
    ("st_for_unpack", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{% for a, b in [(1, 2), [3, 4]] %}{{ a + b }}{% endfor %}{% for k in d %}{{ k }}{% endfor %}"),
    ("st_for_string", "{% for ch in 'héllo' %}{{ ch }}.{% endfor %}"),
    ("st_for_break_continue", "{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x > 5 %}{% break %}{% endif %}{{ x }}{% endfor %}"),
    ("st_for_nested_loop", "{% for a in [1, 2] %}{% for b in 'xy' %}{{ loop.depth }}{{ a }}{{ b }}{{ loop.index }} {% endfor %}{{ loop.index }}|{% endfor %}"),
    ("st_for_cycle", "{% for x in range(5) %}{{ loop.cycle('a', 'b', 'c') }}{% endfor %}"),
    ("st_scoping", "{% set x = 1 %}{% for i in range(3) %}{% set x = x + i %}{{ x }}{% endfor %}|{{ x }}{% if true %}{% set x = 9 %}{% endif %}|{{ x }}"),
    ("st_scoping_iter", "{% for i in range(3) %}{% if i == 0 %}{% set y = 'first' %}{% endif %}[{{ y }}]{% endfor %}[{{ y }}]"),
    ("st_namespace", "{% set ns = namespace(c=0, found=false) %}{% for m in messages %}{% if m.role == 'user' %}{% set ns.c = ns.c + 1 %}{% set ns.found = true %}{% endif %}{% endfor %}{{ ns.c }} {{ ns.found }} {{ ns.missing is defined }} {{ ns['c'] }}"),
    ("st_namespace_empty", "{% set ns = namespace() %}{% set ns.index = 0 %}{% for i in range(3) %}{% set ns.index = ns.index + 1 %}{% endfor %}{{ ns.index }}"),
    ("st_set_tuple", "{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set c = 1, 2 %}{{ c }}"),
    ("st_set_block", "{% set x %}Hello {{ n }}{% endset %}[{{ x }}]{% set y | upper %}abc{% endset %}{{ y }}"),
    ("st_if_elif", "{% for v in [1, 2, 3, 4] %}{% if v == 1 %}one{% elif v == 2 %}two{% elif v == 3 %}three{% else %}many{% endif %} {% endfor %}"),
    ("st_macro", "{% macro greet(name, greeting='Hello', punct='!') %}{{ greeting }}, {{ name }}{{ punct }}{% endmacro %}{{ greet('A') }}|{{ greet('B', 'Hi') }}|{{ greet('C', punct='?') }}|{{ greet(name='D') }}"),
    ("st_macro_recursive", "{% macro fact(k) %}{% if k <= 1 %}1{% else %}{{ k * fact(k - 1)|int }}{% endif %}{% endmacro %}{{ fact(6) }}"),
    ("st_macro_sees_globals", "{% set g = 'top' %}{% macro m() %}{{ g }}-{{ n }}{% endmacro %}{% set g = 'later' %}{{ m() }}"),
    ("st_macro_varargs", "{% macro m(a) %}{{ a }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 2, 3, k=4) }}"),
    ("st_macro_result_is_str", "{% macro m() %}  x  {% endmacro %}[{{ m()|trim }}]{{ m() is string }}{{ (m() ~ 'y')|length }}"),
    ("st_call_block", "{% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% call wrap('b') %}inner {{ n }}{% endcall %}"),
    ("st_call_block_args", "{% macro each(xs) %}{% for x in xs %}{{ caller(x) }}{% endfor %}{% endmacro %}{% call(item) each([1, 2]) %}[{{ item }}]{% endcall %}"),
    ("st_filter_block", "{% filter upper %}hello {{ 'world' }}{% endfilter %}|{% filter trim|replace('a', 'o') %}  banana  {% endfilter %}"),
    ("st_with", "{% with a = 1, b = 'x' %}{{ a }}{{ b }}{% endwith %}[{{ a }}]"),
    ("st_generation", "{% for m in messages %}{% generation %}{{ m.role[0] }}{% endgeneration %}{% endfor %}"),
    ("st_print", "{% print 'p' ~ n %}"),
    # filters
    ("f_trim", "[{{ s|trim }}] [{{ 'xxhixx'|trim('x') }}] [{{ '\\t\\n a \\u3000'|trim }}] [{{ undefined_x|trim }}]"),
    ("f_length", "{{ s|length }} {{ u|length }} {{ nums|count }} {{ d|length }} {{ e|length }} {{ nope|length }}"),
    ("f_string", "{{ 1|string }} {{ [1, 'a']|string }} {{ none|string }} {{ 1.0|string }} {{ {'a': true}|string }} {{ d.c|string }}"),
    ("f_case", "{{ 'hELLo wORLD'|lower }} {{ 'abc'|upper }} {{ 'hELLO wORLD'|capitalize }} {{ 'hello big-world (x) o\\'neil'|title }} {{ 'éa'|upper }}"),
    ("f_replace", "{{ 'aaa'|replace('a', 'b') }} {{ 'aaa'|replace('a', 'b', 2) }} {{ 'abc'|replace('', '-') }} {{ s|replace(' ', '') }}"),
    ("f_join", "{{ nums|join(',') }} {{ words|join }} {{ people|join(', ', attribute='name') }} {{ [1, none, 'x']|join('|') }}"),
    ("f_first_last", "{{ nums|first }} {{ nums|last }} {{ 'abc'|first }} {{ 'abc'|last }} [{{ e|first }}] {{ d|first }}"),
    ("f_default", "{{ missing|default('dflt') }} {{ missing|d('d2') }} {{ ''|default('empty', true) }} {{ ''|default('x') }} [{{ none|default('nn') }}] {{ 0|default('z', boolean=true) }}"),
    ("f_items_list", "{{ d|items|list }} {{ 'ab'|list }} {{ d|list }} {{ nums|list }}"),
    ("f_map", "{{ people|map(attribute='name')|list }} {{ people|map(attribute='tags', default='none')|list }} {{ words|map('upper')|list }} {{ nums|map('string')|join('-') }}"),
    ("f_map_path_error", "{{ people|map(attribute='tags.0')|list }}"),
    ("f_map_path", "{{ people|map(attribute='tags')|map('length')|list if false else [{'a': {'b': [5]}}]|map(attribute='a.b.0')|list }}"),
    ("f_select", "{{ nums|select('odd')|list }} {{ nums|reject('odd')|list }} {{ [0, 1, '', 'a', none]|select|list }} {{ nums|select('gt', 2)|list }} {{ nums|select('divisibleby', 2)|list }}"),
    ("f_selectattr", "{{ people|selectattr('age', 'equalto', 31)|map(attribute='name')|list }} {{ people|rejectattr('tags')|map(attribute='name')|list }} {{ people|selectattr('tags', 'defined')|list|length }} {{ messages|selectattr('role', 'eq', 'user')|list|length }}"),
    ("f_numbers", "{{ '42'|int }} {{ '3.9'|int }} {{ 'x'|int }} {{ 'x'|int(7) }} {{ 3.99|int }} {{ '0x1A'|int(0, 16) }} {{ '2.5'|float }} {{ 'q'|float }} {{ 3|float }} {{ true|int }}"),
    ("f_round_abs", "{{ 2.5|round }} {{ 3.5|round }} {{ 2.675|round(2) }} {{ 2.1|round(0, 'ceil') }} {{ 2.9|round(method='floor') }} {{ 5|round }} {{ -3|abs }} {{ -2.5|abs }} {{ 1234.5678|round(-2) }}"),
    ("f_unique_sort", "{{ words|unique|list }} {{ words|unique(true)|list }} {{ nums|sort }} {{ nums|sort(reverse=true) }} {{ words|sort }} {{ words|sort(case_sensitive=true) }} {{ people|sort(attribute='age')|map(attribute='name')|list }}"),
    ("f_dictsort", "{{ d|dictsort }} {{ {'b': 1, 'A': 2, 'c': 0}|dictsort }} {{ {'b': 1, 'a': 2}|dictsort(by='value') }} {{ {'b': 1, 'a': 2}|dictsort(reverse=true) }}"),
    ("f_minmax_sum", "{{ nums|min }} {{ nums|max }} {{ words|min }} {{ words|max }} {{ nums|sum }} {{ people|sum(attribute='age') }} {{ [1.5, 2]|sum }} {{ people|max(attribute='age')|attr('name') }}"),
    ("f_reverse", "{{ nums|reverse|list }} {{ 'héllo'|reverse }}"),
    ("f_indent", "[{{ 'a\\nb\\n\\nc'|indent }}] [{{ 'a\\nb'|indent(2, true) }}] [{{ 'a\\n\\nb'|indent(2, blank=true) }}] [{{ 'x\\n'|indent('>>') }}] [{{ ''|indent(first=true) }}]"),
    ("f_misc", "{{ 'a b  c'|wordcount }} [{{ 'ab'|center(6) }}] [{{ 'abc'|center(6) }}] {{ 'hello world foo bar'|truncate(11) }} {{ 'hello world foo bar'|truncate(11, true) }} {{ 'short'|truncate(3, leeway=0, end='') }} {{ '%s-%d'|format('x', 3) }} {{ nums|batch(2)|list }}"),
    ("f_tojson", "{{ d|tojson }} {{ d|tojson(indent=2) }} {{ u|tojson }} {{ 'a\"b\\\\c\\n\\t\\u0001</x>&\\''|tojson }} {{ [1.0, 1e-05, 1e16, 100, -0.5, true, none]|tojson }} {{ {}|tojson(indent=4) }} {{ []|tojson }}"),
    ("f_tojson_opts", "{{ d|tojson(sort_keys=true) }} {{ {'b': {'y': 1, 'x': [1, {}]}}|tojson(indent=3) }} {{ u|tojson(ensure_ascii=true) }} {{ {1: 'int', none: 'n', true: 't', 1.5: 'f'}|tojson }} {{ d|tojson(separators=(',', ':')) }} {{ [1, [2]]|tojson(indent='\\t') }}"),
    # tests
    ("t_tests", "{{ n is number }} {{ n is integer }} {{ f is float }} {{ n is odd }} {{ n is even }} {{ 9 is divisibleby 3 }} {{ 9 is divisibleby(4) }} {{ s is string }} {{ d is mapping }} {{ nums is iterable }} {{ s is iterable }} {{ n is iterable }} {{ d is sequence }} {{ t is boolean }} {{ t is true }} {{ t is false }} {{ none is none }} {{ missing is undefined }} {{ n is not none }} {{ 1 is sameas 1 }} {{ none is sameas none }} {{ 'abc' is lower }} {{ 'ABC' is upper }} {{ 3 is gt 2 }} {{ 3 is le 2 }} {{ 'a' is in 'abc' }} {{ 2 is in [1, 2] }} {{ 'x' is eq 'x' }} {{ 'x' is ne 'x' }} {{ 'upper' is filter }} {{ 'odd' is test }} {{ range is callable }} {{ true is number }}"),
    # str methods
    ("m_strip", "[{{ s.strip() }}] [{{ s.lstrip() }}] [{{ s.rstrip() }}] [{{ 'xxaxx'.strip('x') }}] [{{ '..a,'.lstrip('.,') }}] [{{ 'a..'.rstrip('.') }}]"),
    ("m_split", "{{ 'a,b,,c'.split(',') }} {{ '  a  b c '.split() }} {{ 'a,b,c'.split(',', 1) }} {{ 'a,b,c'.rsplit(',', 1) }} {{ ' a b c '.split(none, 1) }} {{ ' a b c '.rsplit(none, 1) }} {{ 'x</think>y</think>z'.split('</think>')[-1] }} {{ 'l1\\nl2\\r\\nl3'.splitlines() }}"),
    ("m_affix", "{{ s.strip().startswith('Hello') }} {{ 'abc'.endswith('bc') }} {{ 'abc'.startswith(('x', 'a')) }} {{ 'abc'.endswith('c.') }} {{ 'abc'.startswith('b', 1) }}"),
    ("m_case_misc", "{{ 'ab cd'.title() }} {{ 'AB'.lower() }} {{ 'ab'.upper() }} {{ 'aB'.capitalize() }} {{ 'aB'.swapcase() }} {{ 'a-b-c'.replace('-', '+') }} {{ 'a-b-c'.replace('-', '', 1) }}"),
    ("m_find_count", "{{ 'hello'.find('l') }} {{ 'hello'.rfind('l') }} {{ 'hello'.find('z') }} {{ 'hello'.index('e') }} {{ 'hello'.count('l') }} {{ 'héllo'.find('l') }} {{ [1, 2, 2].count(2) }} {{ [1, 2, 3].index(3) }}"),
    ("m_join_format", "{{ ', '.join(['a', 'b']) }} {{ '{} and {}'.format('x', 2) }} {{ '{0}{1}{0}'.format('a', 'b') }} {{ '{name}!'.format(name='N') }} {{ '{{}}'.format() }} {{ 'ab'.center(6, '*') }} {{ 'ab'.ljust(4, '.') }}| {{ '7'.zfill(3) }} {{ 'a=b=c'.partition('=') }} {{ 'a=b=c'.rpartition('=') }}"),
    ("m_is", "{{ '123'.isdigit() }} {{ '12a'.isdigit() }} {{ 'abc'.isalpha() }} {{ 'a1'.isalnum() }} {{ '  '.isspace() }} {{ 'abc'.islower() }} {{ 'ABC'.isupper() }} {{ ''.isdigit() }}"),
    # globals
    ("g_range", "{{ range(3)|list }} {{ range(1, 4)|list }} {{ range(10, 0, -3)|list }} {{ range(0)|list }}"),
    ("g_dict", "{{ dict(a=1, b='x') }} {{ dict(a=1).a }} {{ namespace(d).a }}"),
    ("g_strftime", "{{ strftime_now('%Y-%m-%d %H:%M:%S %a %A %b %B %j %y %p') }} {{ strftime_now('%d %b %Y') }}"),
    # undefined behaviour
    ("undef_render", "[{{ nothing }}] [{{ nothing|default('x') }}] {{ nothing is defined }} [{{ nothing ~ 'a' }}] {{ nothing == nothing }} {{ nothing|length }} [{% for x in nothing %}{{ x }}{% endfor %}] {{ not nothing }} {{ nothing|list }}"),
    ("undef_error_attr", "{{ nothing.attr }}"),
    ("undef_error_add", "{{ nothing + 1 }}"),
    ("undef_item_of_list", "{{ e[0]['role'] }}"),
    ("err_raise", "{{ raise_exception('Custom: ' ~ n) }}"),
    ("err_raise_in_macro", "{% macro m() %}{{ raise_exception('from macro') }}{% endmacro %}x{{ m() }}"),
    ("err_type_concat", "{{ 'a' + 1 }}"),
    ("err_not_iterable", "{% for x in 5 %}{% endfor %}"),
    ("err_none_iter", "{% for x in none %}{% endfor %}"),
    ("err_div_zero", "{{ 1 / 0 }}"),
    ("err_unpack", "{% for a, b in [(1, 2, 3)] %}{% endfor %}"),
    ("err_ns_assign", "{% set x = 1 %}{% set x.y = 2 %}"),
    ("err_tojson_undefined", "{{ nothing|tojson }}"),
    ("err_compare_types", "{{ 1 < 'a' }}"),
    # real-template idioms
    ("idiom_mistral_last_user", "{% set user_messages = messages | selectattr('role', 'equalto', 'user') | list %}{% for m in messages %}{% if m == user_messages[-1] %}LAST:{{ m.content }}{% endif %}{% endfor %}"),
    ("idiom_alternation", "{% for m in messages[1:] %}{% if (m['role'] == 'user') != (loop.index0 % 2 == 0) %}bad{% else %}ok{% endif %}{% endfor %}"),
    ("idiom_offset", "{% set offset = '    ' * 2 %}[{{ offset }}]{{ '-' * 0 }}|"),
    ("idiom_tuple_list", "{% for field, label in [('maximum', 'Max'), ('minimum', 'Min')] %}{% if field in {'maximum': 3} %}{{ label ~ '=' ~ 3 }}{% endif %}{% endfor %}"),
    ("idiom_string_repr", "{{ ['Example', 1.0, True, None, {'a': 'b'}]|string|replace(\"'\", '\"') }}"),
    ("idiom_items_generator", "{% macro t(spec) %}{% if spec.type is defined %}T{% elif spec.type is iterable %}I{% endif %}{% endmacro %}{{ t(d|items) }}{{ t(d.items) }}"),
]

if __name__ == "__main__":
    for name, src in T:
        got = oracle.render(src, C)
        case = {"name": name, "source": src, "context": C}
        case.update(got)
        print(json.dumps(case, ensure_ascii=False))
