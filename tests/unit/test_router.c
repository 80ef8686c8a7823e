/* Unit tests for src/http/router.c: patterns, parameters, catch-alls,
 * precedence and backtracking, 404/405 with Allow, HEAD->GET, extension
 * methods, percent-decoding. */
#include "../../src/http/router.h"
#include "test.h"

static int h_list, h_get, h_del, h_content, h_model, h_static, h_root, h_any, h_head, h_prop;

static http_route rt(void *h, uint64_t body_max) {
  return (http_route){.handler = h, .user = NULL, .body_max = body_max, .flags = 0};
}

static http_router *build(void) {
  http_router *r = http_router_new();
  http_route a;
  a = rt(&h_list, 0);
  CHECK_EQ_INT(http_router_add(r, HTTP_GET, "/v1/files", &a), 0);
  a = rt(&h_list, 1 << 20);
  CHECK_EQ_INT(http_router_add(r, HTTP_POST, "/v1/files", &a), 0);
  a = rt(&h_get, 0);
  CHECK_EQ_INT(http_router_add(r, HTTP_GET, "/v1/files/{id}", &a), 0);
  a = rt(&h_del, 0);
  CHECK_EQ_INT(http_router_add(r, HTTP_DELETE, "/v1/files/{file_id}", &a), 0);
  a = rt(&h_content, 0);
  CHECK_EQ_INT(http_router_add(r, HTTP_GET, "/v1/files/{id}/content", &a), 0);
  a = rt(&h_model, 0);
  CHECK_EQ_INT(http_router_add(r, HTTP_GET, "/v1/models/{model}", &a), 0);
  a = rt(&h_list, 0);
  CHECK_EQ_INT(http_router_add(r, HTTP_GET, "/v1/models/default", &a), 0);
  a = rt(&h_static, 0);
  CHECK_EQ_INT(http_router_add(r, HTTP_GET, "/static/{path...}", &a), 0);
  a = rt(&h_root, 0);
  CHECK_EQ_INT(http_router_add(r, HTTP_GET, "/", &a), 0);
  a = rt(&h_any, 0);
  CHECK_EQ_INT(http_router_add(r, HTTP_METHOD_ANY, "/proxy/{svc}/{rest...}", &a), 0);
  a = rt(&h_head, 0);
  CHECK_EQ_INT(http_router_add(r, HTTP_HEAD, "/v1/models/{model}", &a), 0);
  a = rt(&h_prop, 0);
  CHECK_EQ_INT(http_router_add_custom(r, "PROPFIND", "/v1/files/{id}", &a), 0);
  /* backtracking: a literal branch that dead-ends must fall back */
  a = rt(&h_list, 0);
  CHECK_EQ_INT(http_router_add(r, HTTP_GET, "/a/lit/x", &a), 0);
  a = rt(&h_get, 0);
  CHECK_EQ_INT(http_router_add(r, HTTP_GET, "/a/{p}/y", &a), 0);
  a = rt(&h_static, 0);
  CHECK_EQ_INT(http_router_add(r, HTTP_GET, "/a/{p}/{rest...}", &a), 0);
  return r;
}

static int match(const http_router *r, http_method m, const char *path, http_route_match *o) {
  return http_router_match(r, m, HR_STR(""), hr_str_cstr(path), o);
}

static bool param_is(const http_route_match *o, size_t i, const char *name, const char *value) {
  return i < o->n_params && hr_str_eq_cstr(o->params[i].name, name) &&
         hr_str_eq_cstr(o->params[i].value, value);
}

TEST(literal_routes) {
  http_router *r = build();
  http_route_match o;
  CHECK_EQ_INT(match(r, HTTP_GET, "/v1/files", &o), 200);
  CHECK(o.route->handler == &h_list);
  CHECK_EQ_INT(o.n_params, 0);
  CHECK_EQ_STR(o.pattern, "/v1/files");
  CHECK_EQ_INT(match(r, HTTP_POST, "/v1/files", &o), 200);
  CHECK_EQ_INT(o.route->body_max, 1 << 20);
  CHECK_EQ_INT(match(r, HTTP_GET, "/", &o), 200);
  CHECK(o.route->handler == &h_root);
  http_router_free(r);
}

TEST(params) {
  http_router *r = build();
  http_route_match o;
  CHECK_EQ_INT(match(r, HTTP_GET, "/v1/files/file-abc", &o), 200);
  CHECK(o.route->handler == &h_get);
  CHECK(param_is(&o, 0, "id", "file-abc"));
  CHECK_EQ_INT(match(r, HTTP_DELETE, "/v1/files/file-abc", &o), 200);
  CHECK(o.route->handler == &h_del);
  CHECK(param_is(&o, 0, "file_id", "file-abc")); /* names are per route */
  CHECK_EQ_INT(match(r, HTTP_GET, "/v1/files/f1/content", &o), 200);
  CHECK(o.route->handler == &h_content);
  CHECK(param_is(&o, 0, "id", "f1"));
  CHECK_EQ_INT(match(r, HTTP_GET, "/v1/models/llama%2F3", &o), 200);
  CHECK(param_is(&o, 0, "model", "llama%2F3"));
  /* a parameter does not match an empty segment or cross '/' */
  CHECK_EQ_INT(match(r, HTTP_GET, "/v1/files/", &o), 404);
  CHECK_EQ_INT(match(r, HTTP_GET, "/v1/files//content", &o), 404);
  CHECK_EQ_INT(match(r, HTTP_GET, "/v1/files/a/b", &o), 404);
  CHECK_EQ_INT(match(r, HTTP_GET, "/v1/files/a/content/", &o), 404);
  http_router_free(r);
}

TEST(static_precedence_and_backtracking) {
  http_router *r = build();
  http_route_match o;
  CHECK_EQ_INT(match(r, HTTP_GET, "/v1/models/default", &o), 200);
  CHECK(o.route->handler == &h_list);
  CHECK_EQ_INT(o.n_params, 0);
  CHECK_EQ_INT(match(r, HTTP_GET, "/v1/models/defaults", &o), 200);
  CHECK(o.route->handler == &h_model);
  CHECK_EQ_INT(match(r, HTTP_GET, "/a/lit/x", &o), 200);
  CHECK(o.route->handler == &h_list);
  CHECK_EQ_INT(match(r, HTTP_GET, "/a/lit/y", &o), 200); /* literal dead-ends, param wins */
  CHECK(o.route->handler == &h_get);
  CHECK(param_is(&o, 0, "p", "lit"));
  CHECK_EQ_INT(match(r, HTTP_GET, "/a/lit/z/w", &o), 200); /* then the catch-all */
  CHECK(o.route->handler == &h_static);
  CHECK(param_is(&o, 0, "p", "lit"));
  CHECK(param_is(&o, 1, "rest", "z/w"));
  http_router_free(r);
}

TEST(catch_all) {
  http_router *r = build();
  http_route_match o;
  CHECK_EQ_INT(match(r, HTTP_GET, "/static/css/site.css", &o), 200);
  CHECK(o.route->handler == &h_static);
  CHECK(param_is(&o, 0, "path", "css/site.css"));
  CHECK_EQ_INT(match(r, HTTP_GET, "/static/", &o), 200);
  CHECK(param_is(&o, 0, "path", ""));
  CHECK_EQ_INT(match(r, HTTP_GET, "/static", &o), 404);
  CHECK_EQ_INT(match(r, HTTP_PATCH, "/proxy/svc1/a/b/c", &o), 200);
  CHECK(o.route->handler == &h_any);
  CHECK(param_is(&o, 0, "svc", "svc1"));
  CHECK(param_is(&o, 1, "rest", "a/b/c"));
  CHECK_EQ_INT(http_router_match(r, HTTP_OTHER, HR_STR("MKCOL"), HR_STR("/proxy/s/x"), &o), 200);
  CHECK(o.route->handler == &h_any);
  http_router_free(r);
}

TEST(not_found_and_405) {
  http_router *r = build();
  http_route_match o;
  CHECK_EQ_INT(match(r, HTTP_GET, "/nope", &o), 404);
  CHECK(o.route == NULL);
  CHECK_EQ_STR(o.allow, "");
  CHECK_EQ_INT(match(r, HTTP_GET, "", &o), 404);
  CHECK_EQ_INT(match(r, HTTP_OPTIONS, "*", &o), 404);
  CHECK_EQ_INT(match(r, HTTP_GET, "/v1", &o), 404);
  CHECK_EQ_INT(match(r, HTTP_PUT, "/v1/files", &o), 405);
  CHECK_EQ_STR(o.allow, "GET, HEAD, POST");
  CHECK(o.route == NULL);
  CHECK_EQ_INT(match(r, HTTP_POST, "/v1/files/x", &o), 405);
  CHECK_EQ_STR(o.allow, "GET, HEAD, DELETE, PROPFIND");
  CHECK_EQ_INT(http_router_match(r, HTTP_OTHER, HR_STR("PURGE"), HR_STR("/v1/files"), &o), 405);
  CHECK_EQ_STR(o.allow, "GET, HEAD, POST");
  CHECK_EQ_INT(http_router_match(r, HTTP_OTHER, HR_STR("PROPFIND"), HR_STR("/v1/files/q"), &o), 200);
  CHECK(o.route->handler == &h_prop);
  /* Allow unions every pattern matching the path: /v1/models/default has
   * GET; /v1/models/{model} has GET and HEAD */
  CHECK_EQ_INT(match(r, HTTP_POST, "/v1/models/default", &o), 405);
  CHECK_EQ_STR(o.allow, "GET, HEAD");
  /* a route for POST on a less specific pattern is still found */
  http_route a = rt(&h_del, 0);
  CHECK_EQ_INT(http_router_add(r, HTTP_POST, "/v1/models/{model}", &a), 0);
  CHECK_EQ_INT(match(r, HTTP_POST, "/v1/models/default", &o), 200);
  CHECK(o.route->handler == &h_del);
  http_router_free(r);
}

TEST(head_uses_get) {
  http_router *r = build();
  http_route_match o;
  CHECK_EQ_INT(match(r, HTTP_HEAD, "/v1/files/abc", &o), 200);
  CHECK(o.route->handler == &h_get);
  CHECK_EQ_INT(match(r, HTTP_HEAD, "/v1/models/m", &o), 200); /* own HEAD route wins */
  CHECK(o.route->handler == &h_head);
  CHECK_EQ_INT(match(r, HTTP_HEAD, "/static/x", &o), 200);
  CHECK(o.route->handler == &h_static);
  http_router_free(r);
}

TEST(bad_patterns) {
  http_router *r = http_router_new();
  http_route a = rt(&h_get, 0);
  CHECK_EQ_INT(http_router_add(r, HTTP_GET, "v1/x", &a), HR_EINVAL);
  CHECK_EQ_INT(http_router_add(r, HTTP_GET, "", &a), HR_EINVAL);
  CHECK_EQ_INT(http_router_add(r, HTTP_GET, "/a/{}", &a), HR_EINVAL);
  CHECK_EQ_INT(http_router_add(r, HTTP_GET, "/a/{x", &a), HR_EINVAL);
  CHECK_EQ_INT(http_router_add(r, HTTP_GET, "/a/x}", &a), HR_EINVAL);
  CHECK_EQ_INT(http_router_add(r, HTTP_GET, "/a/b{x}", &a), HR_EINVAL);
  CHECK_EQ_INT(http_router_add(r, HTTP_GET, "/a/{x}b", &a), HR_EINVAL);
  CHECK_EQ_INT(http_router_add(r, HTTP_GET, "/a/{...}", &a), HR_EINVAL);
  CHECK_EQ_INT(http_router_add(r, HTTP_GET, "/a/{r...}/b", &a), HR_EINVAL);
  CHECK_EQ_INT(http_router_add(r, HTTP_GET, "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}", &a), HR_EINVAL);
  CHECK_EQ_INT(http_router_add(r, HTTP_GET, "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}", &a), 0);
  CHECK_EQ_INT(http_router_add(r, HTTP_OTHER, "/x", &a), HR_EINVAL);
  CHECK_EQ_INT(http_router_add_custom(r, "BAD METHOD", "/x", &a), HR_EINVAL);
  CHECK_EQ_INT(http_router_add(r, HTTP_GET, "/dup", &a), 0);
  CHECK_EQ_INT(http_router_add(r, HTTP_GET, "/dup", &a), HR_EINVAL);
  CHECK_EQ_INT(http_router_add_custom(r, "GET", "/dup", &a), HR_EINVAL); /* same as GET */
  CHECK_EQ_INT(http_router_add(r, HTTP_POST, "/dup", &a), 0);
  http_route_match o;
  CHECK_EQ_INT(match(r, HTTP_GET, "/1/2/3/4/5/6/7/8", &o), 200);
  CHECK_EQ_INT(o.n_params, 8);
  CHECK(param_is(&o, 7, "h", "8"));
  http_router_free(r);
  http_router_free(NULL);
}

TEST(pct_decode) {
  char out[64];
  size_t n;
  CHECK_EQ_INT(http_pct_decode(HR_STR("a%2Fb%20c+d"), out, sizeof out, &n), 0);
  CHECK_EQ_INT(n, 7);
  CHECK(memcmp(out, "a/b c+d", 7) == 0);
  CHECK_EQ_INT(http_pct_decode(HR_STR("%e2%82%AC"), out, sizeof out, &n), 0);
  CHECK(n == 3 && memcmp(out, "\xe2\x82\xac", 3) == 0);
  CHECK_EQ_INT(http_pct_decode(HR_STR(""), out, sizeof out, &n), 0);
  CHECK_EQ_INT(n, 0);
  CHECK_EQ_INT(http_pct_decode(HR_STR("a%00b"), out, sizeof out, &n), HR_EINVAL);
  CHECK_EQ_INT(http_pct_decode(HR_STR("a%zzb"), out, sizeof out, &n), HR_EINVAL);
  CHECK_EQ_INT(http_pct_decode(HR_STR("a%2"), out, sizeof out, &n), HR_EINVAL);
  CHECK_EQ_INT(http_pct_decode(HR_STR("a%"), out, sizeof out, &n), HR_EINVAL);
  CHECK_EQ_INT(http_pct_decode(HR_STR("abcd"), out, 3, &n), HR_ERANGE);
  CHECK_EQ_INT(http_pct_decode(HR_STR("ab%41"), out, 3, &n), 0);
  char inplace[] = "x%41y";
  CHECK_EQ_INT(http_pct_decode(hr_str_make(inplace, 5), inplace, 5, &n), 0);
  CHECK(n == 3 && memcmp(inplace, "xAy", 3) == 0);
}

TEST(match_speed) {
  http_router *r = build();
  http_route_match o;
  hr_str p = HR_STR("/v1/files/file-abc123/content");
  uint64_t t0 = hr_now_ns();
  int found = 0;
  for (int i = 0; i < 1000000; i++) found += http_router_match(r, HTTP_GET, HR_STR(""), p, &o) == 200;
  uint64_t dt = hr_now_ns() - t0;
  CHECK_EQ_INT(found, 1000000);
  printf("router: %.1f ns/match (/v1/files/{id}/content)\n", (double)dt / 1e6);
  http_router_free(r);
}

int main(void) {
  RUN(literal_routes);
  RUN(params);
  RUN(static_precedence_and_backtracking);
  RUN(catch_all);
  RUN(not_found_and_405);
  RUN(head_uses_get);
  RUN(bad_patterns);
  RUN(pct_decode);
  RUN(match_speed);
  return test_report("router");
}
